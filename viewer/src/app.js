// CIMTwin viewer: loads the city's 3D Tiles from the CIMTwin API and shows object properties.
//
// Works offline: no Cesium ion, no external hosts. Imagery is the NaturalEarthII TMS bundled
// with Cesium, terrain is the plain ellipsoid; a city with a DEM and an orthophoto streams its
// own terrain (heightmap-1.0, /terrain/) and imagery (XYZ PNG, /imagery/) instead.
//
// API used (same origin):
//   GET /api/city          -> {name, crs, center: {lon, lat, height}, tileset: url|null, object_count,
//                              terrain: url|null,
//                              imagery: {url, minimumLevel, maximumLevel, rectangle}|null}
//   GET /api/objects/{id}  -> {id, class, name, parent_id, source, attributes, psets, qtos?,
//                              spatial_path: [{id, class, name}], position: {lon, lat, height}|null}
//
// For automated tests: window.cimtwin = {viewer, tileset, state, selected, city, error,
// lastJob, screenPositionOf(lon, lat, height), reloadTileset(), refreshCity()}; state is
// "loading" | "ready" | "error". `util` ({el, getJson}) is shared with import.js, the
// "Import IFC" dialog, which sets lastJob.
"use strict";

(() => {
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
  };

  const app = {
    viewer: null,
    tileset: null,
    state: "loading",
    selected: null,
    city: null,
    error: null,
    lastJob: null,
    screenPositionOf,
    reloadTileset,
    refreshCity,
    util: { el, getJson },
  };
  window.cimtwin = app;

  // Picked feature currently highlighted, and the colour it had before.
  let highlighted = null;
  let highlightedColor = null;
  // Bumped on every selection change so a slow response cannot overwrite a newer one.
  let selectionToken = 0;
  let tilesLoadedCount = 0;

  // ---------------------------------------------------------------- status / messages

  function setStatus(text, state) {
    ui.status.textContent = text;
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
    setStatus("error", "error");
    showMessage(message, true);
    console.error(`cimtwin: ${message}`, err || "");
  }

  function setReady() {
    if (app.state === "loading") app.state = "ready";
    setStatus(`${tilesLoadedCount} tiles loaded`, "ready");
  }

  // ---------------------------------------------------------------- API

  /** GET a JSON document; throws an Error with a readable message on non-2xx or bad JSON. */
  async function getJson(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (err) {
      throw new Error(`cannot reach the server (${err.message || err})`);
    }
    if (!response.ok) {
      let detail = "";
      try {
        const text = await response.text();
        try {
          const body = JSON.parse(text);
          detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
        } catch {
          detail = text.trim().slice(0, 300);
        }
      } catch {
        /* body unreadable: status line is enough */
      }
      const status = `${response.status}${response.statusText ? " " + response.statusText : ""}`;
      const error = new Error(detail ? `${status}: ${detail}` : status);
      error.status = response.status;
      throw error;
    }
    try {
      return await response.json();
    } catch (err) {
      throw new Error(`invalid JSON from ${url} (${err.message || err})`);
    }
  }

  // ---------------------------------------------------------------- viewer

  /** Use the city's own terrain (heightmap-1.0) and orthophoto (XYZ) when /api/city has them. */
  async function addTerrainAndImagery(viewer, city) {
    if (city.terrain) {
      // fromUrl takes the folder of layer.json
      const folder = city.terrain.replace(/layer\.json$/, "");
      viewer.terrainProvider = await Cesium.CesiumTerrainProvider.fromUrl(folder);
    }
    if (city.imagery) {
      const { url, minimumLevel, maximumLevel, rectangle } = city.imagery;
      viewer.imageryLayers.addImageryProvider(
        new Cesium.UrlTemplateImageryProvider({
          url,
          minimumLevel,
          maximumLevel,
          rectangle: Cesium.Rectangle.fromDegrees(...rectangle),
        }),
      );
    }
  }

  function createViewer() {
    const viewer = new Cesium.Viewer(ui.container, {
      baseLayer: Cesium.ImageryLayer.fromProviderAsync(
        Cesium.TileMapServiceImageryProvider.fromUrl(
          Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII"),
        ),
      ),
      terrainProvider: new Cesium.EllipsoidTerrainProvider(),
      geocoder: false,
      baseLayerPicker: false,
      timeline: false,
      animation: false,
      homeButton: true,
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
    viewer.scene.renderError.addEventListener((_scene, err) => {
      fail(`rendering failed: ${err && err.message ? err.message : err}`, err);
    });
    // Home flies back to the city rather than to the whole globe.
    viewer.homeButton.viewModel.command.beforeExecute.addEventListener((event) => {
      if (!app.tileset) return;
      event.cancel = true;
      viewer.flyTo(app.tileset, { offset: defaultOffset(app.tileset), duration: 1.0 });
    });
    return viewer;
  }

  function defaultOffset(tileset) {
    const radius = Math.max(tileset.boundingSphere.radius, 10);
    return new Cesium.HeadingPitchRange(0, -0.5, radius * 2.5);
  }

  /** Put the camera straight above the city centre, `altitude` metres up. */
  function lookAtCenter(viewer, center, altitude) {
    if (!center || !Number.isFinite(center.lon) || !Number.isFinite(center.lat)) return;
    viewer.camera.setView({
      destination: Cesium.Cartesian3.fromDegrees(center.lon, center.lat, (center.height || 0) + altitude),
    });
  }

  /** Load a tileset and wire its events; it counts tiles only while it is app.tileset. */
  async function openTileset(url) {
    const tileset = await Cesium.Cesium3DTileset.fromUrl(url);
    const current = () => tileset === app.tileset;
    tileset.tileLoad.addEventListener(() => {
      if (current()) tilesLoadedCount += 1;
    });
    tileset.tileUnload.addEventListener(() => {
      if (current()) tilesLoadedCount = Math.max(0, tilesLoadedCount - 1);
    });
    tileset.tileFailed.addEventListener((e) => {
      console.error(`cimtwin: tile failed to load: ${e.url}`, e.message);
      setStatus("some tiles failed to load", app.state);
    });
    tileset.loadProgress.addEventListener((pending, processing) => {
      if (current() && (pending > 0 || processing > 0)) {
        setStatus(`loading tiles… (${pending + processing} pending)`, app.state === "ready" ? "ready" : "loading");
      }
    });
    tileset.allTilesLoaded.addEventListener(() => {
      if (current()) setReady();
    });
    return tileset;
  }

  async function loadTileset(viewer, url) {
    setStatus("loading tiles…", "loading");
    const tileset = await openTileset(url);
    viewer.scene.primitives.add(tileset);
    app.tileset = tileset;
    await viewer.zoomTo(tileset, defaultOffset(tileset));
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
    setStatus("reloading tiles…", "loading");
    let tileset;
    try {
      tileset = await openTileset(`/tiles/tileset.json?v=${Date.now()}`);
    } catch (err) {
      fail(`Could not reload the 3D tiles: ${err.message || err}`, err);
      throw err;
    }
    clearSelection();
    tilesLoadedCount = 0;
    app.tileset = tileset;
    viewer.scene.primitives.add(tileset);
    if (old) viewer.scene.primitives.remove(old); // also destroys it
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

  // ---------------------------------------------------------------- picking / selection

  function featureId(feature) {
    for (const name of ["id", "GlobalId", "globalId"]) {
      const value = feature.getProperty(name);
      if (value !== undefined && value !== null && value !== "") return String(value);
    }
    return null;
  }

  function restoreHighlight() {
    if (!highlighted) return;
    try {
      highlighted.color = highlightedColor || Cesium.Color.WHITE;
    } catch {
      /* the tile holding it may have been unloaded; nothing to restore */
    }
    highlighted = null;
    highlightedColor = null;
  }

  function highlight(feature) {
    restoreHighlight();
    highlighted = feature;
    highlightedColor = Cesium.Color.clone(feature.color);
    feature.color = Cesium.Color.YELLOW;
  }

  function clearSelection() {
    selectionToken += 1;
    restoreHighlight();
    app.selected = null;
    ui.info.hidden = true;
    delete ui.info.dataset.objectId;
    delete ui.info.dataset.state;
    ui.infoBody.replaceChildren();
    if (app.viewer) app.viewer.scene.requestRender();
  }

  async function selectFeature(feature) {
    const id = featureId(feature);
    highlight(feature);
    app.viewer.scene.requestRender();
    const token = ++selectionToken;
    app.selected = null;

    const featureName = feature.getProperty("name");
    const featureClass = feature.getProperty("class");
    ui.info.hidden = false;
    ui.infoTitle.textContent = featureName || featureClass || id || "Object";

    if (!id) {
      delete ui.info.dataset.objectId;
      ui.info.dataset.state = "error";
      ui.infoBody.replaceChildren(el("p", { className: "error" }, "This feature has no \"id\" property."));
      return;
    }
    ui.info.dataset.objectId = id;
    ui.info.dataset.state = "loading";
    ui.infoBody.replaceChildren(el("p", { className: "loading" }, `Loading ${id}…`));

    let object;
    try {
      object = await getJson(`/api/objects/${encodeURIComponent(id)}`);
    } catch (err) {
      if (token !== selectionToken) return;
      ui.info.dataset.state = "error";
      const what = err.status === 404 ? "Object not found" : "Could not load object";
      ui.infoBody.replaceChildren(
        el("p", { className: "error" }, `${what}: ${err.message}`),
        renderFields([
          ["id", id],
          ["class", featureClass],
          ["name", featureName],
        ]),
      );
      return;
    }
    if (token !== selectionToken) return;
    app.selected = object;
    ui.info.dataset.state = "loaded";
    renderObject(object);
  }

  // Synchronous pick, as Cesium documents it. (Scene#pickAsync avoids Chrome's "GPU stall due
  // to ReadPixels" notice on real GPUs, but polls a fence once per rendered frame: with
  // requestRenderMode and a software renderer that adds seconds per click, and it gives up
  // after 10 frames.)
  function onClick(movement) {
    let picked;
    try {
      picked = app.viewer.scene.pick(movement.position);
    } catch (err) {
      console.error("cimtwin: pick failed", err);
      return;
    }
    if (picked instanceof Cesium.Cesium3DTileFeature) {
      selectFeature(picked);
    } else {
      clearSelection();
    }
  }

  // ---------------------------------------------------------------- panel rendering

  /** Tiny DOM helper: el("td", {className: "x"}, "text", childNode, ...). Text is never HTML. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) Object.assign(node, props);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function formatValue(value) {
    if (value === null || value === undefined || value === "") return null;
    if (typeof value === "boolean") return value ? "true" : "false";
    if (Array.isArray(value) && value.every((v) => v === null || typeof v !== "object")) {
      return value.map((v) => (v === null ? "—" : String(v))).join(", ");
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function renderFields(pairs) {
    const dl = el("dl");
    for (const [label, value] of pairs) {
      const text = formatValue(value);
      dl.append(el("dt", null, label), el("dd", null, text === null ? "—" : text));
    }
    return dl;
  }

  function renderPath(path) {
    const p = el("p", { className: "path", id: "info-path" });
    path.forEach((step, i) => {
      if (i > 0) p.append(el("span", { className: "sep" }, " > "));
      const label = step.name || step.class || step.id || "?";
      p.append(el("span", { className: "step", title: `${step.class || ""} ${step.id || ""}`.trim() }, label));
    });
    return p;
  }

  function renderTable(title, props, open) {
    const entries = Object.entries(props || {});
    const table = el("table");
    const tbody = el("tbody");
    for (const [key, value] of entries) {
      const text = formatValue(value);
      tbody.append(
        el("tr", null, el("th", { scope: "row" }, key), el("td", text === null ? { className: "empty" } : null, text ?? "—")),
      );
    }
    table.append(tbody);
    const details = el("details", null, el("summary", null, title, el("span", { className: "count" }, `(${entries.length})`)), table);
    details.open = Boolean(open);
    details.dataset.pset = title;
    return details;
  }

  function renderObject(obj) {
    ui.infoTitle.textContent = obj.name || obj.class || obj.id;
    const parts = [
      renderFields([
        ["id", obj.id],
        ["class", obj.class],
        ["name", obj.name],
        ["parent", obj.parent_id],
        ["source", obj.source],
      ]),
    ];
    if (Array.isArray(obj.spatial_path) && obj.spatial_path.length) parts.push(renderPath(obj.spatial_path));
    if (obj.position && Number.isFinite(obj.position.lon) && Number.isFinite(obj.position.lat)) {
      const { lon, lat, height } = obj.position;
      parts.push(
        renderFields([["position", `${lon.toFixed(6)}, ${lat.toFixed(6)}, ${Number(height || 0).toFixed(1)} m`]]),
      );
    }
    const attributes = obj.attributes || {};
    if (Object.keys(attributes).length) parts.push(renderTable("Attributes", attributes, true));
    // Property sets, then quantity sets (the API may send those apart as `qtos`).
    const sets = [];
    for (const group of [obj.psets, obj.qtos]) {
      if (!group || typeof group !== "object") continue;
      for (const name of Object.keys(group).sort((a, b) => a.localeCompare(b))) sets.push([name, group[name]]);
    }
    sets.forEach(([name, props], i) => {
      const table = props && typeof props === "object" && !Array.isArray(props) ? props : { value: props };
      parts.push(renderTable(name, table, i === 0 && !Object.keys(attributes).length));
    });
    if (!sets.length) parts.push(el("p", { className: "loading" }, "No property sets."));
    ui.infoBody.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------- test hook

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
    // x/y: relative to the canvas; clientX/clientY: relative to the page viewport (for clicks).
    return { x: win.x, y: win.y, clientX: rect.left + win.x, clientY: rect.top + win.y };
  }

  // ---------------------------------------------------------------- start-up

  function showCity(city) {
    app.city = city;
    ui.cityName.textContent = city.name || "(unnamed city)";
    document.title = `${city.name || "City"} · CIMTwin`;
    const count = Number(city.object_count);
    ui.objectCount.textContent = Number.isFinite(count) ? `${count.toLocaleString("en-US")} objects` : "";
  }

  /** Read /api/city again and update the header (name, object count). */
  async function refreshCity() {
    const city = await getJson("/api/city");
    showCity(city);
    return city;
  }

  async function main() {
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
    // Replace the Viewer's own entity picking (a second, synchronous pick per click) with ours.
    const handler = app.viewer.screenSpaceEventHandler;
    handler.setInputAction(onClick, Cesium.ScreenSpaceEventType.LEFT_CLICK);
    handler.removeInputAction(Cesium.ScreenSpaceEventType.LEFT_DOUBLE_CLICK);
    ui.infoClose.addEventListener("click", clearSelection);
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") clearSelection();
    });

    let city;
    try {
      city = await getJson("/api/city");
    } catch (err) {
      ui.cityName.textContent = "city unavailable";
      fail(`Could not load the city: ${err.message}`, err);
      return;
    }
    showCity(city);
    try {
      await addTerrainAndImagery(app.viewer, city);
    } catch (err) {
      fail(`Could not load the terrain or imagery: ${err.message || err}`, err);
      return;
    }

    if (!city.tileset) {
      // Nothing to show but where the city is. The bundled NaturalEarthII imagery only has
      // zoom levels 0-2, so a view from 2000 km is the closest that still shows geography.
      lookAtCenter(app.viewer, city.center, 2000000);
      app.state = "error";
      app.error = "city has no tileset (not tiled yet)";
      setStatus("no tiles", "error");
      showMessage(
        `“${city.name || "This city"}” has not been tiled yet: no 3D Tiles to show. ` +
          "Import IFC files with “Import IFC” above, or build the tileset on the server.",
        false,
      );
      console.info("cimtwin: /api/city has no tileset");
      return;
    }

    // Start near the city (not the whole globe) while the tileset's root loads.
    lookAtCenter(app.viewer, city.center, 2000);
    try {
      await loadTileset(app.viewer, city.tileset);
    } catch (err) {
      fail(`Could not load the 3D tiles from ${city.tileset}: ${err.message || err}`, err);
    }
  }

  main();
})();
