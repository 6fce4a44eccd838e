// CIMTwin viewer: the city's 3D Tiles on its own terrain and imagery, for planners and
// managers: search, layer tree, inspection, isolation of a building or storey, clipping,
// measuring, colouring by data with a legend; Chinese (default) and English.
//
// Works offline: no Cesium ion, no external hosts. Imagery is the NaturalEarthII TMS bundled
// with Cesium and terrain the plain ellipsoid, unless the city streams its own terrain
// (heightmap-1.0, /terrain/) and imagery (XYZ PNG, /imagery/).
//
// Signs in first (session.js, auth.js): every request carries the bearer token, tiles, terrain
// and imagery included; the camera frames the user's jurisdiction, its boundary drawn.
//
// API used (same origin): GET /api/city, GET /api/objects/{id}, GET /api/objects/{id}/extent,
// GET /api/objects?building=ID, GET /api/search?q=, POST /api/objects/values, /tiles/...,
// and the live sensors' routes (sensors.js).
//
// For automated tests: window.cimtwin = {me, session, viewer, tileset, state ("loading" | "ready" |
// "error"), selected, city, error, lastJob, metrics: {firstTileMs, readyMs}, style, layers,
// measure, clip, context (context.js: debug, setDebug(on)), freeArea() (framing.js: the part of
// the canvas no panel covers), screenPositionOf(lon, lat, height), reloadTileset(), refreshCity(),
// select(id, {fly}), clearSelection(), flyToObject(id), isolateBuilding(id),
// isolateStorey(id), showAll(), colorBy(attribute), setLanguage(lang), search(text),
// featureStats(), home(), sensors (sensors.js: sensors, buildings, streamState, open(id),
// chartState, markerCss(id), screenPosition(id)), incidents (incidents.js: incidents, loaded,
// streamState, markerCss(id), screenPosition(id), open(id), list, panel), theme: {lighting
// (lighting.js: state(), setFlat), legend (legend.js: showOnly(index)), outline (outline.js)},
// util: {el, getJson, postJson, t, acceptLanguage, serverText, jobText, jobStatus, reportLabel},
// zh (servertext.js, ifcnames.js: serverText, jobText, reportLabel, psetName, propertyName, useName)},
// card (card.js: data, storeys(), currentStorey(), storeyUp(), storeyDown()), simulation
// (simulation.js: the Simulate tab: selectModel(name), form, run(), openRun(id), compare(a, b),
// sun, result, state()).

import { el, getJson, postJson } from "./api.js";
import { authHeaders, onTokens, refresh } from "./auth.js";
import { ClipTool, storeyCut } from "./clip.js";
import { ViewContext } from "./context.js";
import { frameSphere, freeArea } from "./framing.js";
import { Dashboard } from "./dashboard.js"; // incident statistics
import { acceptLanguage, getLanguage, onLanguageChange, setLanguage, t, translate } from "./i18n.js";
import { Inspector } from "./inspect.js";
import { LayerTree } from "./layers.js";
import { Legend } from "./legend.js";
import { Lighting } from "./lighting.js";
import { SelectionOutline } from "./outline.js";
import { MeasureTool } from "./measure.js";
import { NavControls } from "./nav.js";
import { SearchBox } from "./search.js";
import { jobStatus, jobText, reportLabel, serverText } from "./servertext.js"; // part: zh
import { propertyName, psetName, useName } from "./ifcnames.js"; // part: zh
import { SensorLayer } from "./sensors.js";
import { IncidentLayer } from "./incidents.js";
import { SessionUi } from "./session.js";
import { SimulationPanel } from "./simulation.js";
import { CityStyle, featureId, layerOf, property } from "./style.js";

const $ = (id) => document.getElementById(id);
const ui = {
  cityName: $("city-name"),
  objectCount: $("object-count"),
  status: $("status"),
  message: $("message"),
  container: $("cesiumContainer"),
  info: $("info"),
  infoTitle: $("info-title"),
  infoBody: $("info-body"),
  infoClose: $("info-close"),
  lang: $("lang-toggle"),
  sidebar: $("sidebar"),
  sidebarToggle: $("sidebar-toggle"),
  layerTree: $("layer-tree"),
  colorBy: $("color-by"),
  colorAttr: $("color-attr"),
  colorApply: $("color-apply"),
  colorStatus: $("color-status"),
  legend: $("legend"),
  legendTitle: $("legend-title"),
  legendItems: $("legend-items"),
  measureResult: $("measure-result"),
  measureHint: $("measure-hint"),
  measureFinish: $("measure-finish"),
  clipEnable: $("clip-enable"),
  clipHeight: $("clip-height"),
  clipValue: $("clip-value"),
  isolation: $("isolation"),
  isolationText: $("isolation-text"),
  isolationClear: $("isolation-clear"),
  isolationTool: $("isolation-tool"),
  clipDown: $("clip-down"),
  clipUp: $("clip-up"),
};

const app = {
  viewer: null,
  tileset: null,
  state: "loading",
  selected: null,
  city: null,
  error: null,
  lastJob: null,
  cityTerrain: null,
  flatTerrain: null,
  // ms from navigation start: the first frame with a tile, all tiles loaded, and stages
  metrics: { firstTileMs: null, readyMs: null, marks: {} },
  screenPositionOf,
  reloadTileset,
  refreshCity,
  select: (id, options) => app.inspector.select(id, options),
  clearSelection: () => app.inspector.clear(),
  flyToObject,
  highlightContents,
  isolateBuilding,
  isolateStorey,
  showAll,
  colorBy,
  home,
  setLanguage,
  search: (text) => app.searchBox.run(text),
  featureStats,
  freeArea: () => freeArea(app.viewer.scene.canvas),
  me: null,
  frame: null, // the rectangle of the user's jurisdiction, which the camera frames
  util: { el, getJson, postJson, t, authHeaders, acceptLanguage, serverText, jobText, jobStatus, reportLabel },
  zh: { serverText, jobText, reportLabel, psetName, propertyName, useName }, // part: zh
};
window.cimtwin = app;

app.context = new ViewContext(app, { onDebugChange: () => app.state === "ready" && setReady() });
app.session = new SessionUi(app);
app.style = new CityStyle(() => app.viewer && app.viewer.scene.requestRender());
app.theme = { lighting: new Lighting(), legend: new Legend(app, ui), outline: new SelectionOutline() };
app.style.outline = app.theme.outline;
app.inspector = new Inspector(app, ui);
app.card = app.inspector.card; // the building card (card.js)
app.sensors = new SensorLayer(app, {
  panel: $("sensor-panel"),
  title: $("sensor-title"),
  body: $("sensor-body"),
  close: $("sensor-close"),
});
app.incidents = new IncidentLayer(app, {
  panel: $("incident-panel"),
  title: $("incident-title"),
  body: $("incident-body"),
  close: $("incident-close"),
  list: $("tab-incidents"),
});
app.dashboard = new Dashboard(app); // incident statistics (dashboard.js)
app.simulation = new SimulationPanel(app, $("tab-simulation"), document.querySelector('[data-tab="simulation"]'));
app.layers = new LayerTree(app, ui.layerTree);
app.searchBox = new SearchBox(app, $("search-input"), $("search-results"));
app.measure = new MeasureTool(app, {
  result: ui.measureResult,
  hint: ui.measureHint,
  finish: ui.measureFinish,
  buttons: document.querySelectorAll("[data-measure]"),
});
app.clip = new ClipTool(app, { enable: ui.clipEnable, height: ui.clipHeight, value: ui.clipValue, down: ui.clipDown, up: ui.clipUp });
app.nav = new NavControls(app, { compass: $("compass"), needle: $("compass-needle"), home: $("home-button") });

let tilesLoadedCount = 0;
let statusKey = ["status.loading", null];
const membersCache = new Map(); // building id -> Map(object id -> storey id)

// ---------------------------------------------------------------- status / messages

function mark(name) {
  if (!(name in app.metrics.marks)) app.metrics.marks[name] = Math.round(performance.now());
}

function setStatus(key, vars, state) {
  statusKey = [key, vars];
  ui.status.textContent = t(key, vars);
  ui.status.dataset.state = state || app.state;
}

function showMessage(text, isError) {
  ui.message.textContent = text;
  ui.message.classList.toggle("error", Boolean(isError));
  ui.message.hidden = false;
}

function fail(message, err) {
  app.state = "error";
  app.error = message;
  setStatus("status.error", null, "error");
  showMessage(message, true);
  console.error(`cimtwin: ${message}`, err || "");
}

function setReady() {
  if (app.state === "loading") {
    app.state = "ready";
    if (app.metrics.readyMs === null) app.metrics.readyMs = performance.now();
  }
  setStatus(app.context.statusKey("ready"), { n: tilesLoadedCount }, "ready");
}

// ---------------------------------------------------------------- viewer

// Resources of tiles, terrain and imagery: they carry the session's token, take the new one
// after a refresh, and retry once on 401 after refreshing.
const authorizedResources = new Set();
onTokens((headers) => {
  for (const resource of authorizedResources) Object.assign(resource.headers, headers);
});

function authorized(url) {
  const resource = new Cesium.Resource({
    url,
    headers: { ...authHeaders() },
    retryAttempts: 1,
    retryCallback: async (failed, error) => {
      if (!error || error.statusCode !== 401) return false;
      try {
        await refresh();
      } catch {
        return false;
      }
      Object.assign(failed.headers, authHeaders());
      return true;
    },
  });
  authorizedResources.add(resource);
  return resource;
}

/** Use the city's own terrain (heightmap-1.0) and orthophoto (XYZ) when /api/city has them. */
async function addTerrainAndImagery(viewer, city) {
  if (city.terrain) {
    const folder = city.terrain.replace(/layer\.json$/, "");
    app.cityTerrain = await Cesium.CesiumTerrainProvider.fromUrl(authorized(folder));
    viewer.terrainProvider = app.cityTerrain;
  }
  if (city.imagery) {
    const { url, minimumLevel, maximumLevel, rectangle } = city.imagery;
    viewer.imageryLayers.addImageryProvider(
      new Cesium.UrlTemplateImageryProvider({
        url: authorized(url),
        minimumLevel,
        maximumLevel,
        rectangle: Cesium.Rectangle.fromDegrees(...rectangle),
      }),
    );
  }
}

function createViewer() {
  app.flatTerrain = new Cesium.EllipsoidTerrainProvider();
  const viewer = new Cesium.Viewer(ui.container, {
    baseLayer: false, // the bundled base map is added when it arrives (context.js)
    terrainProvider: app.flatTerrain,
    geocoder: false,
    baseLayerPicker: false,
    timeline: false,
    animation: false,
    homeButton: false,
    sceneModePicker: false,
    navigationHelpButton: false,
    infoBox: false,
    selectionIndicator: false,
    fullscreenButton: false,
    // Render only when something changes: keeps software-rendered (headless) runs cheap.
    requestRenderMode: true,
    maximumRenderTimeChange: Infinity,
  });
  viewer.scene.globe.depthTestAgainstTerrain = false;
  app.theme.lighting.attachViewer(viewer);
  app.theme.outline.attach(viewer.scene);
  app.context.groundFirst(viewer);
  viewer.scene.renderError.addEventListener((_scene, err) => {
    fail(`rendering failed: ${err && err.message ? err.message : err}`, err);
  });
  return viewer;
}

function defaultOffset(tileset) {
  const radius = Math.max(tileset.boundingSphere.radius, 10);
  return new Cesium.HeadingPitchRange(0, -0.5, radius * 2.5);
}

/** Back to the view of the user's jurisdiction, or of the whole city. */
function home() {
  const viewer = app.viewer;
  if (!viewer) return;
  if (app.frame) viewer.camera.flyTo({ destination: app.frame, duration: 1.0 });
  else if (app.tileset) viewer.flyTo(app.tileset, { offset: defaultOffset(app.tileset), duration: 1.0 });
  else if (app.city?.center) lookAtCenter(viewer, app.city.center, 2000);
}

/** Put the camera straight above the city centre, `altitude` metres up. */
function lookAtCenter(viewer, center, altitude) {
  if (!center || !Number.isFinite(center.lon) || !Number.isFinite(center.lat)) return;
  viewer.camera.setView({
    destination: Cesium.Cartesian3.fromDegrees(center.lon, center.lat, (center.height || 0) + altitude),
  });
}

/**
 * Fly to an object, framed by its extent (GET /api/objects/{id}/extent) in the part of the
 * canvas the panels leave free (framing.js).
 */
async function flyToObject(id, { pitch = -0.55, duration = 1.2, extent = null } = {}) {
  extent ||= await getJson(`/api/objects/${encodeURIComponent(id)}/extent`);
  const { lon, lat, height } = extent.center;
  const sphere = new Cesium.BoundingSphere(Cesium.Cartesian3.fromDegrees(lon, lat, height), extent.radius);
  await frameSphere(app.viewer, sphere, { pitch, duration });
  app.viewer.scene.requestRender();
  return extent;
}

/** Load a tileset and wire its events; it counts tiles only while it is app.tileset. */
async function openTileset(url) {
  const tileset = await Cesium.Cesium3DTileset.fromUrl(authorized(url), {
    showCreditsOnScreen: false,
    ...app.theme.lighting.tilesetOptions(),
  });
  const current = () => tileset === app.tileset;
  tileset.tileLoad.addEventListener(() => {
    mark("firstTileLoaded");
    if (current()) tilesLoadedCount += 1;
  });
  tileset.tileUnload.addEventListener(() => {
    if (current()) tilesLoadedCount = Math.max(0, tilesLoadedCount - 1);
  });
  tileset.tileFailed.addEventListener((e) => {
    console.error(`cimtwin: tile failed to load: ${e.url}`, e.message);
    setStatus("status.tileFailed", null, app.state);
  });
  tileset.loadProgress.addEventListener((pending, processing) => {
    if (current() && (pending > 0 || processing > 0)) {
      setStatus(app.context.statusKey("loading"), { n: pending + processing }, app.state === "ready" ? "ready" : "loading");
    }
  });
  tileset.allTilesLoaded.addEventListener(() => {
    if (current()) setReady();
  });
  // Page load to first tile on screen: the first frame drawn after a tile with content was
  // selected for rendering.
  const firstVisible = tileset.tileVisible.addEventListener(() => {
    firstVisible();
    const removePostRender = app.viewer.scene.postRender.addEventListener(() => {
      removePostRender();
      if (app.metrics.firstTileMs === null) app.metrics.firstTileMs = performance.now();
    });
  });
  app.style.attach(tileset);
  app.theme.lighting.attachTileset(tileset);
  return tileset;
}

/** Show the tileset being opened (`opening`, from openTileset) and zoom to it. */
async function loadTileset(viewer, opening) {
  setStatus("status.loading", null, "loading");
  const tileset = await opening;
  mark("tilesetJson");
  viewer.scene.primitives.add(tileset);
  app.tileset = tileset;
  if (app.frame) viewer.camera.setView({ destination: app.frame });
  else await viewer.zoomTo(tileset, defaultOffset(tileset));
  mark("zoomed");
  settle(viewer, tileset);
  return tileset;
}

/**
 * Swap in a fresh copy of the city's tileset (after an import rewrote it), keeping the
 * camera where it is; the first tileset of a city that had none is zoomed to.
 */
async function reloadTileset() {
  const viewer = app.viewer;
  if (!viewer) throw new Error("the 3D viewer is not running");
  const old = app.tileset;
  app.state = "loading";
  app.error = null;
  ui.message.hidden = true;
  setStatus("status.reloading", null, "loading");
  let tileset;
  try {
    tileset = await openTileset(`/tiles/tileset.json?v=${Date.now()}`);
  } catch (err) {
    fail(`Could not reload the 3D tiles: ${err.message || err}`, err);
    throw err;
  }
  app.inspector.clear();
  membersCache.clear();
  tilesLoadedCount = 0;
  app.tileset = tileset;
  viewer.scene.primitives.add(tileset);
  if (old) viewer.scene.primitives.remove(old); // also destroys it
  if (app.clip.enabled || ui.clipEnable.checked) app.clip.sync(false);
  if (!old) await viewer.zoomTo(tileset, defaultOffset(tileset));
  settle(viewer, tileset);
  return tileset;
}

// allTilesLoaded only fires after some tile request was made. If the view needs no content
// at all (e.g. an empty tileset), fall back to `tilesLoaded` — but only after a few frames
// with the camera at rest: right after the zoom the camera has just jumped, and Cesium
// skips tile requests while the camera moves (cullRequestsWhileMoving), so `tilesLoaded`
// reads true before anything was requested.
function settle(viewer, tileset) {
  let frames = 0;
  const removePostRender = viewer.scene.postRender.addEventListener(() => {
    frames += 1;
    if (app.state !== "loading" || tileset !== app.tileset) {
      removePostRender();
    } else if (frames >= 10) {
      removePostRender();
      if (tileset.tilesLoaded) setReady();
    } else {
      viewer.scene.requestRender();
    }
  });
  viewer.scene.requestRender();
}

// ---------------------------------------------------------------- picking

// Synchronous pick, as Cesium documents it. (Scene#pickAsync polls a fence once per rendered
// frame: with requestRenderMode and a software renderer that adds seconds per click.)
function onClick(movement) {
  if (app.measure.active) {
    app.measure.onClick(movement.position);
    return;
  }
  if (app.simulation.mapClick(movement.position)) return;
  let picked;
  try {
    picked = app.viewer.scene.pick(movement.position);
  } catch (err) {
    console.error("cimtwin: pick failed", err);
    return;
  }
  if (app.incidents.mapClick(movement.position)) return;
  if (app.sensors.pick(picked) || app.incidents.pick(picked)) return;
  app.sensors.close();
  if (app.incidents.panel.state !== "report") app.incidents.close();
  if (picked instanceof Cesium.Cesium3DTileFeature) {
    const id = featureId(picked);
    if (id) app.inspector.select(id, { fallback: { name: property(picked, "name"), class: property(picked, "class") } });
    else app.inspector.showAnonymous(property(picked, "name"), property(picked, "class"));
  } else {
    app.inspector.clear();
  }
}

// ---------------------------------------------------------------- isolation

/** Ids of a building's objects, with their storey: Map(id -> storey id or null). */
async function buildingMembers(building) {
  if (membersCache.has(building)) return membersCache.get(building);
  const members = new Map();
  let url = `/api/objects?building=${encodeURIComponent(building)}&limit=10000`;
  while (url) {
    const page = await getJson(url);
    for (const o of page.objects) members.set(o.id, o.storey ?? null);
    url = page.links?.next ? new URL(page.links.next).pathname + new URL(page.links.next).search : null;
  }
  membersCache.set(building, members);
  return members;
}

/** A selected building or storey is drawn by its elements: highlight them all. */
async function highlightContents(obj) {
  const building = obj.class === "IfcBuilding" ? obj.id : obj.class === "IfcBuildingStorey" ? obj.building_id : null;
  if (!building) return;
  const members = await buildingMembers(building);
  const ids = new Set([obj.id]);
  for (const [id, storey] of members) if (obj.class === "IfcBuilding" || storey === obj.id) ids.add(id);
  if (app.selected && app.selected.id === obj.id) app.style.setSelected(ids);
}

async function isolateBuilding(building) {
  const [members, extent] = await Promise.all([buildingMembers(building), getJson(`/api/objects/${encodeURIComponent(building)}/extent`)]);
  app.style.setIsolation({ building, storey: null, members, names: { building: extent.name || building } });
  app.clip.disable();
  app.clip.setSpan(extent);
  app.clip.sync(false);
  showIsolation();
  await flyToObject(building, { extent });
}

/**
 * Show one storey of its building, the others hidden, cut open just under its top (which
 * takes away the ceiling or roof slab it holds) so that one looks inside.
 */
async function isolateStorey(storey) {
  const extent = await getJson(`/api/objects/${encodeURIComponent(storey)}/extent`);
  const building = extent.building;
  if (!building) throw new Error(`${storey} is in no building`);
  const [members, buildingExtent] = await Promise.all([
    buildingMembers(building),
    getJson(`/api/objects/${encodeURIComponent(building)}/extent`),
  ]);
  app.style.setIsolation({
    building,
    storey,
    members,
    names: { building: buildingExtent.name || building, storey: extent.name || storey },
  });
  app.clip.setSpan(buildingExtent, extent.top_height - extent.base_height);
  app.clip.set(extent.center.lon, extent.center.lat, storeyCut(extent));
  app.clip.sync(true);
  showIsolation();
  await flyToObject(storey, { pitch: -0.85, extent });
}

function showAll() {
  app.style.setIsolation(null);
  app.clip.disable();
  app.clip.setSpan(null);
  app.clip.sync(false);
  showIsolation();
  if (app.inspector.object) app.inspector.render(app.inspector.object);
}

function showIsolation() {
  const iso = app.style.isolation;
  let text = t("tools.noIsolation");
  if (iso && iso.storey) text = t("isolation.storey", { building: iso.names.building, storey: iso.names.storey });
  else if (iso) text = t("isolation.building", { name: iso.names.building });
  ui.isolation.hidden = !iso;
  ui.isolationText.textContent = text;
  ui.isolationTool.textContent = iso ? text : t("context.noIsolation");
  ui.isolation.dataset.storey = iso?.storey || "";
  ui.isolation.dataset.building = iso?.building || "";
  if (app.inspector.object) app.inspector.render(app.inspector.object);
}

// ---------------------------------------------------------------- tools

function wireTools() {
  app.measure.wire();
  app.clip.wire();
  ui.isolationClear.addEventListener("click", showAll);
  showIsolation();
}

// ---------------------------------------------------------------- colouring by data

function colorBy(attribute) {
  return app.theme.legend.colorBy(attribute);
}

// ---------------------------------------------------------------- panels, language

function wirePanels() {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[data-tab]")) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        $(`tab-${other.dataset.tab}`).hidden = !selected;
      }
    });
  }
  ui.sidebarToggle.addEventListener("click", () => {
    const collapsed = ui.sidebar.classList.toggle("collapsed");
    ui.sidebarToggle.setAttribute("aria-expanded", String(!collapsed));
  });
  ui.lang.addEventListener("click", () => setLanguage(getLanguage() === "zh-CN" ? "en" : "zh-CN"));
  onLanguageChange(() => {
    setStatus(statusKey[0], statusKey[1], ui.status.dataset.state);
    if (app.city) showCity(app.city);
    showIsolation();
    app.theme.legend.render();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.target instanceof HTMLInputElement) return;
    if (app.measure.active) app.measure.stop();
    else app.inspector.clear();
  });
}

// ---------------------------------------------------------------- test hooks

/**
 * CSS-pixel position in the canvas of a WGS84 point (height in metres above the ellipsoid),
 * or null when it is behind the globe or the camera, or off-screen. The canvas fills the
 * page from its top-left corner, so x/y are also page coordinates (clientX/clientY too).
 */
function screenPositionOf(lon, lat, height) {
  const viewer = app.viewer;
  if (!viewer) return null;
  const scene = viewer.scene;
  const position = Cesium.Cartesian3.fromDegrees(lon, lat, height || 0);
  const occluder = new Cesium.EllipsoidalOccluder(scene.globe.ellipsoid, scene.camera.positionWC);
  if (!occluder.isPointVisible(position)) return null;
  const win = Cesium.SceneTransforms.worldToWindowCoordinates(scene, position);
  if (!win) return null;
  const canvas = scene.canvas;
  if (win.x < 0 || win.y < 0 || win.x > canvas.clientWidth || win.y > canvas.clientHeight) return null;
  const rect = canvas.getBoundingClientRect();
  return { x: win.x, y: win.y, clientX: rect.left + win.x, clientY: rect.top + win.y };
}

/** Loaded features by layer, and how many of them the style shows (ghosts apart). */
function featureStats() {
  const stats = { total: 0, shown: 0, ghosted: 0, byLayer: {}, shownIds: [] };
  const tileset = app.tileset;
  if (!tileset) return stats;
  const seen = new Set();
  const visit = (tile) => {
    const content = tile.content;
    if (content && content.featuresLength) {
      for (let i = 0; i < content.featuresLength; i += 1) {
        const feature = content.getFeature(i);
        const id = featureId(feature);
        if (seen.has(id)) continue;
        seen.add(id);
        const layer = layerOf(id, property(feature, "class"));
        const entry = (stats.byLayer[layer] ||= { total: 0, shown: 0 });
        stats.total += 1;
        entry.total += 1;
        if (feature.show && app.style.isGhost(feature)) stats.ghosted += 1;
        else if (feature.show) {
          stats.shown += 1;
          entry.shown += 1;
          stats.shownIds.push(id);
        }
      }
    }
    for (const child of tile.children) visit(child);
  };
  visit(tileset.root);
  return stats;
}

// ---------------------------------------------------------------- start-up

function showCity(city) {
  app.city = city;
  ui.cityName.textContent = city.name || t("app.unnamed");
  document.title = `${city.name || "City"} · CIMTwin`;
  const count = Number(city.object_count);
  ui.objectCount.textContent = Number.isFinite(count) ? t("app.objects", { n: count.toLocaleString(getLanguage()) }) : "";
  app.layers.render();
}

/** Read /api/city again and update the header (name, object count) and layer counts. */
async function refreshCity() {
  const city = await getJson("/api/city");
  showCity(city);
  return city;
}

async function main() {
  // Sign in (or resume the tab's session); then ask for the city while Cesium builds the
  // viewer; then the terrain's layer.json and the tileset's JSON together.
  translate();
  try {
    await app.session.start();
  } catch (err) {
    fail(t("msg.cityUnavailable", { error: err.message }), err);
    return;
  }
  mark("signedIn");
  const cityRequest = getJson("/api/city");
  cityRequest.catch(() => {}); // handled where awaited
  wirePanels();
  wireTools();
  app.theme.legend.wire();
  if (typeof Cesium === "undefined") {
    fail("Cesium.js did not load (is /cesium/ served?)");
    return;
  }
  try {
    app.viewer = createViewer();
  } catch (err) {
    fail(`cannot start the 3D viewer (WebGL unavailable?): ${err.message || err}`, err);
    return;
  }
  mark("viewer");
  app.nav.attach(app.viewer);
  // Replace the Viewer's own entity picking (a second, synchronous pick per click) with ours.
  const handler = app.viewer.screenSpaceEventHandler;
  handler.setInputAction(onClick, Cesium.ScreenSpaceEventType.LEFT_CLICK);
  handler.setInputAction(() => {
    if (app.measure.mode === "area") app.measure.finish();
  }, Cesium.ScreenSpaceEventType.LEFT_DOUBLE_CLICK);

  let city;
  try {
    city = await cityRequest;
  } catch (err) {
    ui.cityName.textContent = "—";
    fail(t("msg.cityUnavailable", { error: err.message }), err);
    return;
  }
  mark("city");
  showCity(city);
  app.theme.lighting.placeAt(city.center);
  app.sensors.start(app.viewer).catch((err) => console.error("cimtwin: cannot show the sensors", err));
  app.incidents.start(app.viewer).catch((err) => console.error("cimtwin: cannot show the incidents", err));
  try {
    app.frame = await app.session.drawJurisdiction(app.viewer, Number(city.center?.height) || 0);
  } catch (err) {
    console.error("cimtwin: cannot draw the jurisdiction's boundary", err);
  }
  const opening = city.tileset ? openTileset(city.tileset) : null;
  opening?.catch(() => {}); // handled where awaited
  try {
    await addTerrainAndImagery(app.viewer, city);
    mark("terrain");
  } catch (err) {
    fail(`Could not load the terrain or imagery: ${err.message || err}`, err);
    return;
  }
  app.layers.render();

  if (!city.tileset) {
    // Nothing to show but where the city is. The bundled NaturalEarthII imagery only has
    // zoom levels 0-2, so a view from 2000 km is the closest that still shows geography.
    lookAtCenter(app.viewer, city.center, 2000000);
    app.state = "error";
    app.error = "city has no tileset (not tiled yet)";
    setStatus("status.noTiles", null, "error");
    showMessage(t("msg.noTileset", { name: city.name || "—" }), false);
    console.info("cimtwin: /api/city has no tileset");
    return;
  }

  // Start near the city (not the whole globe) while the tileset's root loads.
  if (app.frame) app.viewer.camera.setView({ destination: app.frame });
  else lookAtCenter(app.viewer, city.center, 2000);
  try {
    await loadTileset(app.viewer, opening);
  } catch (err) {
    fail(`Could not load the 3D tiles from ${city.tileset}: ${err.message || err}`, err);
  }
}

main();
