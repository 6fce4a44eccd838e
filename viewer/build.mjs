// Build the CIMTwin viewer into viewer/dist/.
//
//   dist/cesium/   <- node_modules/cesium/Build/Cesium (Cesium.js UMD, Workers, ThirdParty,
//                     Assets, Widgets; no source maps, no ESM/CJS duplicates)
//   dist/          <- src/ (index.html, app.js and its ES modules, style.css, ...)
//   ../api/viewer_dist/ <- a copy of dist/, package data of the Python package (gitignored), so
//                     that an installed wheel serves the viewer without npm
//
// No bundler: Cesium.js is a UMD build that sets the global `Cesium`, and app.js is a plain
// script. The build is idempotent: dist/ is removed first. Run with `npm run build`.

import { cp, mkdir, readdir, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const srcDir = path.join(here, "src");
const distDir = path.join(here, "dist");
const cesiumOut = path.join(distDir, "cesium");
const packagedDir = path.join(here, "..", "api", "viewer_dist");

/** Directory of the installed cesium package (works with hoisted or nested node_modules). */
function cesiumPackageDir() {
  return path.dirname(require.resolve("cesium/package.json"));
}

// Only these entries of Build/Cesium are needed by the UMD page.
const CESIUM_ENTRIES = ["Cesium.js", "Workers", "ThirdParty", "Assets", "Widgets"];

/** Files never copied into dist (source maps, unminified builds, editor leftovers). */
function keep(file) {
  const base = path.basename(file);
  if (base.endsWith(".map")) return false;
  if (base === ".DS_Store") return false;
  if (file.split(path.sep).includes("CesiumUnminified")) return false;
  return true;
}

async function sizeOf(p) {
  const s = await stat(p);
  if (!s.isDirectory()) return { bytes: s.size, files: 1 };
  let bytes = 0;
  let files = 0;
  for (const entry of await readdir(p)) {
    const r = await sizeOf(path.join(p, entry));
    bytes += r.bytes;
    files += r.files;
  }
  return { bytes, files };
}

function human(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

async function main() {
  const cesiumBuild = path.join(cesiumPackageDir(), "Build", "Cesium");
  const cesiumVersion = require("cesium/package.json").version;

  await rm(distDir, { recursive: true, force: true });
  await mkdir(cesiumOut, { recursive: true });

  const rel = (p) => path.relative(here, p) || ".";
  const report = async (p) => {
    const { bytes, files } = await sizeOf(p);
    console.log(`  wrote ${rel(p).padEnd(34)} ${String(files).padStart(4)} file(s) ${human(bytes).padStart(10)}`);
  };

  console.log(`cimtwin-viewer build: Cesium ${cesiumVersion} -> ${rel(distDir)}/`);
  for (const entry of CESIUM_ENTRIES) {
    const from = path.join(cesiumBuild, entry);
    const to = path.join(cesiumOut, entry);
    await cp(from, to, { recursive: true, filter: keep });
    await report(to);
  }

  for (const entry of await readdir(srcDir)) {
    if (!keep(entry)) continue;
    const to = path.join(distDir, entry);
    await cp(path.join(srcDir, entry), to, { recursive: true, filter: keep });
    await report(to);
  }

  const total = await sizeOf(distDir);
  console.log(`done: ${total.files} files, ${human(total.bytes)} in ${rel(distDir)}/`);

  await rm(packagedDir, { recursive: true, force: true });
  await cp(distDir, packagedDir, { recursive: true });
  await report(packagedDir);
}

main().catch((err) => {
  console.error(`build failed: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
