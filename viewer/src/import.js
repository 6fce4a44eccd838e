// CIMTwin viewer: the "Import IFC" dialog.
//
// A chosen file is previewed and, without georeference, placed on the map first
// (placement.js). Uploads IFC files to POST /api/imports with XMLHttpRequest (for the upload
// progress), polls GET /api/jobs/{id} every 500 ms, shows the import reports (the origin
// used, the findings, translated), and when the job rewrote the tiles reloads the tileset and
// the header counts (window.cimtwin.reloadTileset/refreshCity), then flies to the model.
//
// For automated tests: window.cimtwin.lastJob is the last job JSON; #import-dialog has
// data-state "idle" | "uploading" | "warned" | "queued" | "running" | "succeeded" | "failed" |
// "error"; window.cimtwin.placement is the Placement (placement.js).

// app.js first: it sets window.cimtwin, after a top-level await of its imports (ifcnames.js)
import "./app.js";
import { onLanguageChange, t, translate } from "./i18n.js";
import { methodName, Placement, unitName } from "./placement.js";

(() => {
  const app = window.cimtwin;
  if (!app) return;
  const { el, getJson, authHeaders } = app.util;
  const $ = (id) => document.getElementById(id);
  const ui = {
    open: $("import-open"),
    dialog: $("import-dialog"),
    form: $("import-form"),
    close: $("import-close"),
    files: $("import-files"),
    origin: $("import-origin"),
    hint: $("import-hint"),
    upload: $("import-upload"),
    status: $("import-status"),
    progress: $("import-progress"),
    bar: $("import-bar"),
    file: $("import-file"),
    result: $("import-result"),
  };
  const placement = new Placement(app, {
    dialog: ui.dialog,
    origin: ui.origin,
    panel: $("place-panel"),
    note: $("place-note"),
    pick: $("place-pick"),
    adjust: $("place-adjust"),
    rotation: $("place-rotation"),
    rotationRange: $("place-rotation-range"),
    height: $("place-height"),
    where: $("place-where"),
    warnings: $("place-warnings"),
    shown: $("place-shown"),
    banner: $("place-banner"),
    onPlaced: () => {
      // a refusal for want of a place no longer holds
      if (!busy && ["error", "warned"].includes(ui.dialog.dataset.state)) {
        setState("idle", "");
        ui.result.replaceChildren();
      }
    },
  });
  app.placement = placement;
  // app.js translated the page before this module added its strings
  for (const root of [ui.dialog, $("place-banner").parentElement]) translate(root);
  const POLL_MS = 500;
  const OPEN_LABEL = ui.open.textContent;
  let limits = null; // GET /api/imports: {max_upload_bytes, kernels, default_kernel}
  let busy = false;

  // ---------------------------------------------------------------- state and progress

  function setState(state, text) {
    ui.dialog.dataset.state = state;
    ui.status.textContent = text || "";
    ui.status.dataset.state = state;
  }

  function setBar(percent, file) {
    ui.progress.hidden = false;
    ui.bar.value = Math.max(0, Math.min(100, percent));
    ui.file.textContent = file || "";
  }

  function setBusy(value) {
    busy = value;
    ui.upload.disabled = value;
    ui.files.disabled = value;
    ui.origin.disabled = value;
    if (!value) ui.open.textContent = app.util.t ? app.util.t("import.open") : OPEN_LABEL;
  }

  function showError(text) {
    setBusy(false);
    setState("error", "error");
    ui.progress.hidden = true;
    ui.result.replaceChildren(el("p", { className: "error" }, text));
  }

  function megabytes(bytes) {
    return `${(bytes / 2 ** 20).toLocaleString("en-US", { maximumFractionDigits: 1 })} MB`;
  }

  /** The `detail` of an error body (FastAPI: a string, or a list of {loc, msg}). */
  function detailOf(text) {
    try {
      const body = JSON.parse(text);
      const detail = body.detail ?? body;
      if (typeof detail === "string") return detail;
      if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).slice(-1)[0] || ""} ${d.msg || ""}`.trim()).join("; ");
      return JSON.stringify(detail);
    } catch {
      return String(text || "").trim().slice(0, 300);
    }
  }

  // ---------------------------------------------------------------- upload and polling

  async function openDialog() {
    ui.dialog.classList.remove("docked");
    if (!ui.dialog.open) ui.dialog.showModal();
    renderHint();
    if (limits) return;
    try {
      limits = await getJson("/api/imports");
      renderHint();
    } catch {
      /* the server checks the limit anyway */
    }
  }

  /** The hint under the origin: the city's CRS and the upload limit, in the current language. */
  function renderHint() {
    const crs = app.city && app.city.crs ? app.city.crs : "…";
    const limit = limits ? ` ≤ ${megabytes(limits.max_upload_bytes)}` : "";
    ui.hint.textContent = t("import.hintText", { crs }) + limit;
  }

  function start(event) {
    event.preventDefault();
    if (busy) return;
    const files = [...ui.files.files];
    if (!files.length) return showError(t("import.chooseFiles"));
    const wrong = files.filter((f) => !/\.ifc$/i.test(f.name));
    if (wrong.length) return showError(t("import.onlyIfc", { files: wrong.map((f) => f.name).join(", ") }));
    const total = files.reduce((sum, f) => sum + f.size, 0);
    if (limits && total > limits.max_upload_bytes) {
      return showError(t("import.tooLarge", { size: megabytes(total), limit: megabytes(limits.max_upload_bytes) }));
    }
    if (placement.needsPlace()) return showError(t("place.needed"));
    if (placement.needsAcknowledgement()) return setState("warned", t("place.confirmWarnings"));
    const data = new FormData();
    for (const file of files) data.append("files", file, file.name);
    const placed = placement.upload();
    const origin = placed ? placed.origin : ui.origin.value.trim();
    if (origin) data.append("origin", origin);
    if (placed && placed.rotation) data.append("rotation", String(placed.rotation));

    app.lastJob = null;
    setBusy(true);
    ui.result.replaceChildren();
    setState("uploading", "uploading 0 %");
    setBar(0, files.map((f) => f.name).join(", "));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/imports");
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((100 * e.loaded) / e.total);
      setState("uploading", t("import.uploadingStatus", { percent }));
      ui.open.textContent = t("import.uploadingButton", { percent });
      setBar(percent, ui.file.textContent);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status !== 202) return showError(t("import.refused", { status: xhr.status, detail: detailOf(xhr.responseText) }));
      let job;
      try {
        job = JSON.parse(xhr.responseText);
      } catch {
        return showError(t("import.notJson"));
      }
      poll(job.url || `/api/jobs/${job.id}`);
    });
    xhr.addEventListener("error", () =>
      showError(t("import.lost")),
    );
    xhr.send(data);
  }

  async function poll(url) {
    let failures = 0;
    for (;;) {
      let job;
      try {
        job = await getJson(url);
        failures = 0;
      } catch (err) {
        failures += 1;
        if (err.status === 404 || failures >= 10) return showError(t("import.lostTrack", { error: err.message }));
        await sleep(POLL_MS);
        continue;
      }
      app.lastJob = job;
      showJob(job);
      if (job.status === "succeeded" || job.status === "failed") return finish(job);
      await sleep(POLL_MS);
    }
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function showJob(job) {
    const percent = Number(job.progress) || 0;
    const text = job.status === "queued" ? t("import.queued") : `${job.message || job.status} · ${percent} %`;
    setState(job.status, text);
    setBar(percent, job.file ? t("import.file", { file: job.file }) : "");
    ui.open.textContent = job.status === "queued" ? t("import.queuedButton") : t("import.importing", { percent });
  }

  async function finish(job) {
    setBusy(false);
    ui.progress.hidden = job.status === "failed";
    setState(job.status, job.status === "succeeded" ? job.message || t("import.done") : t("import.failed"));
    ui.result.replaceChildren(...renderJob(job));
    if (job.status !== "succeeded") return;
    try {
      if (job.result && job.result.tiling) await app.reloadTileset();
      await app.refreshCity();
    } catch (err) {
      ui.result.append(el("p", { className: "error" }, t("import.noRefresh", { error: err.message || err })));
    }
    const reports = (job.result && job.result.reports) || [];
    if (reports.length) {
      setState(job.status, t("place.flying"));
      await placement.flyTo(reports[0]);
      setState(job.status, job.message || t("import.done"));
    }
    placement.clear();
  }

  // ---------------------------------------------------------------- results

  function renderJob(job) {
    const parts = [];
    if (job.error) {
      parts.push(el("p", { className: "error" }, job.error));
      if (/--origin|no georeference/.test(job.error)) {
        parts.push(el("p", { className: "hint" }, t("import.fillOrigin")));
      }
    }
    const result = job.result || {};
    for (const report of result.reports || []) parts.push(renderReport(report));
    const tiling = result.tiling;
    if (tiling) {
      parts.push(
        el("p", { className: "tiling" },
          t("import.tiles", {
            tiles: tiling.tiles,
            features: tiling.features,
            triangles: Number(tiling.triangles).toLocaleString("en-US"),
            seconds: Number(tiling.seconds).toFixed(1),
          })),
      );
    }
    return parts;
  }

  function renderReport(report) {
    const geo = report.georeference || {};
    const counts = Object.entries(report.objects_by_class || {});
    const objects = counts.reduce((sum, [, n]) => sum + n, 0);
    const section = el(
      "section",
      { className: "report" },
      el("h3", null, report.source, el("span", { className: "count" }, ` ${report.schema || ""} · ${t("report.objects", { n: objects })}`)),
      fields([
        [t("report.elementsWithMesh"), report.elements_with_mesh],
        [t("report.triangles"), Number(report.triangles || 0).toLocaleString("en-US")],
        [t("report.method"), [geo.method && methodName(geo.method), geo.crs].filter(Boolean).join(" · ")],
        [t("report.originUsed"), originText(geo), "origin-used"],
        [t("report.rotation"), geo.rotation_deg ? `${Number(geo.rotation_deg).toFixed(1)}°` : null],
        [t("report.replaced"), report.replaced_objects || null],
        [t("report.seconds"), report.seconds],
      ]),
      findings(report),
      classTable(counts),
    );
    section.dataset.source = report.source;
    const warnings = report.warnings || [];
    if (warnings.length) section.append(el("ul", { className: "warnings" }, ...warnings.map((w) => el("li", null, w))));
    section.append(withoutMesh(report.without_mesh || []));
    const tessellated = report.tessellated_by_cimtwin || [];
    if (tessellated.length) section.append(el("p", { className: "hint" }, t("import.tessellated", { n: tessellated.length })));
    return section;
  }

  function fields(pairs) {
    const dl = el("dl");
    for (const [label, value, className] of pairs) {
      if (value === null || value === undefined || value === "") continue;
      dl.append(el("dt", null, label), el("dd", className ? { className } : null, String(value)));
    }
    return dl;
  }

  /** Where the georeference put the model origin: E/N/H and its CRS, or lon/lat/height. */
  function originText(geo) {
    const origin = geo.origin;
    if (!Array.isArray(origin) || origin.length < 3) return null;
    if (geo.crs === "EPSG:4979") return `${origin[0].toFixed(6)}, ${origin[1].toFixed(6)} · H ${origin[2].toFixed(2)}`;
    const [x, y, h] = origin.map((v) => Number(v).toFixed(3));
    return `E ${x} · N ${y} · H ${h} (${geo.crs})`;
  }

  /** The model check's findings, each in the current language (its English message if unknown). */
  function findings(report) {
    const items = report.findings || [];
    if (!items.length) return null;
    const geo = report.georeference || {};
    const list = el("ul", { className: "findings" });
    for (const finding of items) {
      const unit = /length unit (.+) \(([-\d.e+]+) m\)/.exec(finding.message || "");
      const vars = {
        n: finding.id_count ?? (finding.ids || []).length,
        message: finding.message,
        method: methodName(geo.method || ""),
        crs: geo.crs || "",
        unit: unit ? unitName(unit[1]) : "",
        metres: unit ? unit[2] : "",
      };
      const key = `finding.${finding.code}`;
      const text = t(key, vars) === key ? finding.message : t(key, vars);
      list.append(
        el("li", { className: `finding-${finding.level}`, dataset: { code: finding.code } },
          el("b", null, t(`finding.level.${finding.level}`)), ` ${text}`),
      );
    }
    return el("div", { className: "findings-box" }, el("h4", null, t("report.findings")), list);
  }

  /** Objects by class, two class/count pairs a row. */
  function classTable(counts) {
    const tbody = el("tbody");
    for (let i = 0; i < counts.length; i += 2) {
      const row = el("tr");
      for (const [cls, n] of counts.slice(i, i + 2)) row.append(el("th", { scope: "row" }, cls), el("td", null, String(n)));
      tbody.append(row);
    }
    return el("table", { className: "classes" }, tbody);
  }

  /** Products without a mesh, grouped by class and reason, ids in the tooltip. */
  function withoutMesh(items) {
    const groups = new Map();
    for (const item of items) {
      const key = `${item.class}\u0000${item.reason}`;
      if (!groups.has(key)) groups.set(key, { cls: item.class, reason: item.reason, ids: [] });
      groups.get(key).ids.push(item.id);
    }
    const list = el("ul", { className: "missing" });
    for (const group of groups.values()) {
      const title = group.ids.slice(0, 50).join("\n") + (group.ids.length > 50 ? "\n…" : "");
      list.append(el("li", { title }, el("b", null, `${group.cls} ×${group.ids.length}`), `: ${group.reason}`));
    }
    const summary = el("summary", null, t("import.withoutMesh", { n: items.length }));
    const details = el("details", { className: "without-mesh" }, summary, items.length ? list : el("p", { className: "hint" }, t("import.none")));
    return details;
  }

  // ---------------------------------------------------------------- wiring

  ui.open.addEventListener("click", openDialog);
  ui.close.addEventListener("click", () => ui.dialog.close());
  ui.dialog.addEventListener("close", () => {
    if (!placement.state.picking && !busy) placement.clear();
  });
  ui.files.addEventListener("change", () => {
    const files = [...ui.files.files];
    placement.load(files.length === 1 && /\.ifc$/i.test(files[0].name) ? files[0] : null);
  });
  onLanguageChange(() => {
    renderHint();
    const job = app.lastJob;
    if (!busy && job && (job.status === "succeeded" || job.status === "failed")) {
      ui.result.replaceChildren(...renderJob(job));
    }
  });
  ui.form.addEventListener("submit", start);
  ui.dialog.addEventListener("keydown", (e) => e.stopPropagation()); // keep Escape off the page
})();
