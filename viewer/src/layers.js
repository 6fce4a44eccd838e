// The layer tree: feature layers of the tileset (BIM buildings, GIS buildings, roads, other),
// the globe's terrain and imagery, the live sensors (with their levels' legend), the
// incidents (with their statuses' legend), and the simulation run open in the Simulate tab
// (all its rasters and vector layers at once; "no data" while none is open), each with
// visibility and opacity.
//
// A layer's count is what a planner counts: BIM buildings (IfcBuilding), not every IFC object
// they hold; GIS buildings, roads and parcels as features; the objects behind a count are in
// its tooltip.

import { el } from "./api.js";
import { formatNumber, onLanguageChange, t } from "./i18n.js";
import { FEATURE_LAYERS, layerOfClass } from "./style.js";
import "./contextstrings.js";

// Layers whose row is left out while they have nothing (the others say "no data").
const OPTIONAL_LAYERS = ["parcels", "other"];
// What a feature layer counts: the classes named here, else every object of the layer.
const COUNTED_CLASSES = { bim: new Set(["IfcBuilding"]) };

export class LayerTree {
  constructor(app, container) {
    this.app = app;
    this.container = container;
    this.globe = { terrain: { visible: true, opacity: 1 }, imagery: { visible: true, opacity: 1 } };
    onLanguageChange(() => this.render());
  }

  /** Objects per feature layer, from /api/city's objects_by_class. */
  objectCounts() {
    const counts = Object.fromEntries(FEATURE_LAYERS.map((k) => [k, 0]));
    for (const [cls, n] of Object.entries(this.app.city?.objects_by_class || {})) counts[layerOfClass(cls)] += n;
    return counts;
  }

  /** What each feature layer counts (BIM: its buildings), from /api/city's objects_by_class. */
  counts() {
    const counts = Object.fromEntries(FEATURE_LAYERS.map((k) => [k, 0]));
    for (const [cls, n] of Object.entries(this.app.city?.objects_by_class || {})) {
      const layer = layerOfClass(cls);
      if (!COUNTED_CLASSES[layer] || COUNTED_CLASSES[layer].has(cls)) counts[layer] += n;
    }
    return counts;
  }

  state(key) {
    if (key === "sensors") return this.app.sensors.layer;
    if (key === "incidents") return this.app.incidents.layer;
    if (key === "simulation") return this.app.simulation?.result.mapLayer || null;
    return this.app.style.layers[key] || this.globe[key] || null;
  }

  set(key, options) {
    if (FEATURE_LAYERS.includes(key)) {
      this.app.style.setLayer(key, options);
    } else if (key in this.globe) {
      const layer = this.globe[key];
      if (options.visible !== undefined) layer.visible = Boolean(options.visible);
      if (options.opacity !== undefined) layer.opacity = Math.max(0, Math.min(1, Number(options.opacity)));
      this.applyGlobe();
    } else if (key === "sensors") {
      this.app.sensors.setLayer(options);
    } else if (key === "incidents") {
      this.app.incidents.setLayer(options);
    } else if (key === "simulation" && this.app.simulation?.result.run) {
      this.app.simulation.result.setMapLayer(options);
    } else {
      throw new Error(`layer ${key} has no data`);
    }
    this.sync(key);
  }

  applyGlobe() {
    const viewer = this.app.viewer;
    if (!viewer) return;
    const { terrain, imagery } = this.globe;
    const own = this.app.cityTerrain;
    if (own) {
      const wanted = terrain.visible ? own : this.app.flatTerrain;
      if (viewer.terrainProvider !== wanted) viewer.terrainProvider = wanted;
    }
    const globe = viewer.scene.globe;
    globe.show = terrain.visible || imagery.visible;
    const alpha = terrain.visible ? terrain.opacity : 1;
    globe.translucency.enabled = alpha < 1;
    globe.translucency.frontFaceAlpha = alpha;
    globe.translucency.backFaceAlpha = alpha;
    const layers = viewer.imageryLayers;
    for (let i = 0; i < layers.length; i += 1) {
      const layer = layers.get(i);
      layer.show = imagery.visible;
      layer.alpha = imagery.opacity;
    }
    viewer.scene.requestRender();
  }

  render() {
    const counts = this.counts();
    const objects = this.objectCounts();
    const city = this.app.city || {};
    const rows = [];
    for (const key of FEATURE_LAYERS) {
      if (OPTIONAL_LAYERS.includes(key) && objects[key] === 0) continue;
      const row = this.row(key, formatNumber(counts[key]), null, objects[key] === 0);
      if (objects[key] !== counts[key]) {
        row.title = t("context.layerObjects", { n: formatNumber(counts[key]), objects: formatNumber(objects[key]) });
      }
      rows.push(row);
    }
    rows.push(this.row("terrain", null, city.terrain ? null : t("layer.ellipsoid"), false));
    rows.push(this.row("imagery", null, city.imagery ? null : t("layer.basemap"), false));
    const sensors = this.app.sensors;
    const none = sensors.loaded && sensors.sensors.size === 0;
    const sensorRow = this.row("sensors", sensors.loaded && !none ? formatNumber(sensors.sensors.size) : null,
      none ? t("layer.noData") : null, none);
    sensorRow.append(sensors.legend());
    rows.push(sensorRow);
    const incidents = this.app.incidents;
    const noIncidents = incidents.loaded && incidents.incidents.size === 0;
    const incidentRow = this.row("incidents", incidents.loaded && !noIncidents ? formatNumber(incidents.incidents.size) : null,
      noIncidents ? t("layer.noData") : null, noIncidents);
    incidentRow.append(incidents.legend());
    rows.push(incidentRow);
    rows.push(this.simulationRow());
    this.container.replaceChildren(...rows);
  }

  /** The open run's map layers, named by its model; "no data" (and inert) while none is. */
  simulationRow() {
    const result = this.app.simulation?.result;
    const run = result?.run;
    if (!run) return this.row("simulation", null, t("layer.noData"), true, true);
    const model = this.app.simulation.modelTitle(run.model) || run.model;
    const row = this.row("simulation", formatNumber(result.mapLayerCount), model, false);
    row.dataset.run = run.id;
    return row;
  }

  row(key, count, note, empty, inert = false) {
    const name = t(`layer.${key}`);
    const state = this.state(key);
    const disabled = empty && !(state && FEATURE_LAYERS.includes(key) && count !== "0");
    const box = el("input", {
      type: "checkbox",
      className: "layer-visible",
      checked: Boolean(state?.visible) && !inert,
      disabled: inert,
      title: t("layer.visible", { name }),
      "aria-label": t("layer.visible", { name }),
    });
    box.addEventListener("change", () => this.set(key, { visible: box.checked }));
    const slider = el("input", {
      type: "range",
      className: "layer-opacity",
      min: "0",
      max: "100",
      step: "5",
      value: String(Math.round((state?.opacity ?? 1) * 100)),
      disabled: inert,
      title: t("layer.opacity", { name }),
      "aria-label": t("layer.opacity", { name }),
    });
    slider.addEventListener("input", () => this.set(key, { opacity: Number(slider.value) / 100 }));
    const label = el(
      "label",
      { className: "layer-label" },
      box,
      el("span", { className: "layer-name" }, name),
      count !== null ? el("span", { className: "layer-count" }, count) : null,
      note ? el("span", { className: "layer-note" }, note) : null,
    );
    const li = el("li", { className: "layer", dataset: { layer: key } }, label, slider);
    li.classList.toggle("empty", Boolean(disabled) || inert);
    return li;
  }

  /** Put one row's controls back in line with the state (after a change made by code). */
  sync(key) {
    const row = this.container.querySelector(`[data-layer="${key}"]`);
    const state = this.state(key);
    if (!row || !state) return;
    row.querySelector(".layer-visible").checked = state.visible;
    row.querySelector(".layer-opacity").value = String(Math.round(state.opacity * 100));
  }
}
