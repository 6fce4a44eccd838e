// One run's result over the 3D city: rasters draped on the ground as single-tile imagery
// (GET .../rasters/{name}: bounds, stops and the PNG), vector layers as GeoJSON clamped to the
// ground, per-object values coloured through the theme (POST /api/objects/values with the key
// simulation:<run>:<name>, legend.js), the summary figures with their units, the charts.
// Each layer can be hidden; rasters and vectors can be downloaded (GeoTIFF, CSV).

import { el } from "./api.js";
import { authHeaders } from "./auth.js";
import { formatNumber, getLanguage, t } from "./i18n.js";
import { simulationChart } from "./simulationchart.js";
import "./simstrings.js";

const RASTER_ALPHA = 0.75;
const VECTOR_COLORS = ["#e11d48", "#f59e0b", "#a855f7", "#10b981"];
const VECTOR_FILL_ALPHA = 0.15;
const PASS_COLOR = "#22c55e";
const FAIL_COLOR = "#ef4444";

// Units read off the end of a summary key (flooded_area_m2 -> m²).
const SUFFIX_UNITS = [
  ["_m2", "m²"], ["_km2", "km²"], ["_m3", "m³"], ["_mm", "mm"], ["_m", "m"], ["_km", "km"],
  ["_hours", "h"], ["_h", "h"], ["_minutes", "min"], ["_min", "min"], ["_s", "s"],
  ["_pct", "%"], ["_percent", "%"], ["_deg", "°"], ["_ugm3", "µg/m³"],
]; // fmt: skip

/** {label, unit} of a summary key: translated when known, else the key without its unit. */
export function summaryLabel(key) {
  const found = SUFFIX_UNITS.find(([suffix]) => key.endsWith(suffix));
  const unit = found ? found[1] : "";
  const known = t(`sum.${key}`);
  if (known !== `sum.${key}`) return { label: known, unit };
  const bare = found ? key.slice(0, -found[0].length) : key;
  return { label: bare.replace(/_/g, " "), unit };
}

/** A summary value as text: numbers grouped and rounded, the rest as it is. */
export function summaryText(value, unit) {
  if (typeof value === "number") {
    const digits = Number.isInteger(value) ? 0 : Math.abs(value) >= 100 ? 1 : 2;
    return unit ? `${formatNumber(value, digits)} ${unit}` : formatNumber(value, digits);
  }
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.length ? value.map((v) => summaryText(v, "")).join(", ") : "—";
  if (typeof value === "object") {
    const name = (key) => (t(`sum.${key}`) === `sum.${key}` ? valueName(key) : t(`sum.${key}`));
    return Object.entries(value).map(([key, v]) => `${name(key)}: ${summaryText(v, "")}`).join(" · ") || "—";
  }
  return valueName(String(value));
}

/** A class or option name translated when known (kriging, height...), else as it is. */
export function valueName(text) {
  const key = `val.${text}`;
  return t(key) === key ? text : t(key);
}

/** A chart's title, axis and series names: translated when known, else the server's. */
export function chartLabels(chart) {
  const known = (key, fallback) => (t(key) === key ? fallback : t(key));
  return {
    title: known(`chart.${chart.name}`, chart.title || chart.name),
    x: known(`chart.${chart.name}.x`, chart.x_label),
    y: known(`chart.${chart.name}.y`, chart.y_label),
    series: (name) => {
      const { label, unit } = summaryLabel(name);
      return unit ? `${label} (${unit})` : label;
    },
  };
}

/** A run.json list of layers ([{name, title, unit}] or names) as objects. */
export function layerEntries(list) {
  if (!list) return [];
  if (!Array.isArray(list)) return Object.entries(list).map(([name, v]) => ({ name, ...(typeof v === "object" ? v : { title: v }) }));
  return list.map((e) => (typeof e === "string" ? { name: e, title: e } : e));
}

/** The values key of the theme colouring for values `name` of run `runId`. */
export function valuesKey(runId, name) {
  return `simulation:${runId}:${name}`;
}

export function runBase(runId) {
  return `/api/simulations/runs/${encodeURIComponent(runId)}`;
}

/** Fetch `url` with the session and save it as `filename`. */
export async function download(url, filename) {
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  const blob = await response.blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

export class ResultView {
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.run = null;
    this.imagery = []; // {name, layer, info}
    this.sources = []; // {name, source}
    this.coloring = null; // values key
    this.generation = 0; // a newer show() wins over a slower older one
    // the layer tree's simulation row: every map layer of the shown run at once
    this.mapLayer = { visible: true, opacity: 1 };
    this.valuesCache = new Map(); // "<run>/<name>" -> GET .../values/{name}
    this.selection = el("section", { className: "sim-selection" });
    this.selection.hidden = true;
    // the inspector's panel says when an object is selected (or no longer is)
    const info = document.getElementById("info");
    if (info) {
      new MutationObserver(() => this.showSelection().catch(() => {})).observe(info, {
        attributes: true,
        attributeFilter: ["data-state", "data-object-id", "hidden"],
      });
    }
  }

  /** The values `name` of the shown run, read once. */
  async valuesOf(name) {
    const key = `${this.run.id}/${name}`;
    if (!this.valuesCache.has(key)) {
      const reading = this.app.util.getJson(`${runBase(this.run.id)}/values/${encodeURIComponent(name)}`);
      this.valuesCache.set(key, reading);
      reading.catch(() => this.valuesCache.delete(key));
    }
    return this.valuesCache.get(key);
  }

  /**
   * The selected object's result (its own, else its building's): the value of the values
   * coloured (else the first) and its details, under the summary.
   */
  async showSelection() {
    const box = this.selection;
    const object = this.app.selected;
    const entries = this.run ? layerEntries(this.run.values) : [];
    if (!object || !entries.length) {
      box.hidden = true;
      delete box.dataset.object;
      return;
    }
    const prefix = valuesKey(this.run.id, "");
    const coloured = this.coloring && this.coloring.startsWith(prefix) ? this.coloring.slice(prefix.length) : null;
    const entry = entries.find((e) => e.name === coloured) || entries[0];
    const answer = await this.valuesOf(entry.name);
    if (this.app.selected !== object) return;
    const owner = [object.id, object.building_id, object.building].find((id) => id && id in answer.values);
    box.hidden = false;
    box.dataset.object = object.id;
    const dl = el("dl", { className: "sim-summary" });
    const unit = answer.unit || entry.unit || "";
    dl.append(el("dt", null, answer.title || entry.title || entry.name), el("dd", null, owner ? summaryText(answer.values[owner], unit) : t("style.noValue")));
    for (const [key, value] of Object.entries((owner && answer.details?.[owner]) || {})) {
      const { label, unit: keyUnit } = summaryLabel(key);
      dl.append(el("dt", null, label), el("dd", null, summaryText(value, keyUnit)));
    }
    box.replaceChildren(el("h4", null, t("sim.selected", { name: object.name || object.id })), dl);
  }

  get viewer() {
    return this.app.viewer;
  }

  /** Show `run` (its run.json): layers on the map, colouring, summary, charts. */
  async show(run) {
    this.clear();
    const generation = this.generation;
    this.run = run;
    this.mapLayer.visible = true; // a run opened is a run to see (the opacity is kept)
    this.render();
    const rasters = layerEntries(run.rasters);
    const vectors = layerEntries(run.vectors);
    const values = layerEntries(run.values);
    const jobs = [
      ...rasters.map((r) => this.addRaster(run.id, r, generation)),
      ...vectors.map((v) => this.addVector(run.id, v, generation)),
    ];
    if (values.length) jobs.push(this.colour(values[0].name));
    const settled = await Promise.allSettled(jobs);
    const failed = settled.filter((s) => s.status === "rejected");
    for (const f of failed) console.warn("cimtwin: a result layer could not be shown", f.reason);
    if (generation === this.generation) {
      this.applyMapLayer();
      this.render();
      this.app.layers?.render();
    }
    if (failed.length) throw failed[0].reason;
  }

  /** The layer tree's row: show or hide every map layer of the shown run, fade them. */
  setMapLayer({ visible, opacity }) {
    if (visible !== undefined) this.mapLayer.visible = Boolean(visible);
    if (opacity !== undefined) this.mapLayer.opacity = Math.max(0, Math.min(1, Number(opacity)));
    this.applyMapLayer();
    this.render();
  }

  /** Each layer shown when both its own box and the row's are ticked, at the row's opacity. */
  applyMapLayer() {
    const { visible, opacity } = this.mapLayer;
    for (const item of this.imagery) {
      item.layer.show = visible && item.shown;
      item.layer.alpha = RASTER_ALPHA * opacity;
    }
    for (const item of this.sources) {
      item.source.show = visible && item.shown;
      fadeSource(item.source, opacity);
    }
    this.viewer?.scene.requestRender();
  }

  /** How many map layers the shown run has (rasters and vector layers). */
  get mapLayerCount() {
    return this.imagery.length + this.sources.length;
  }

  async addRaster(runId, entry, generation) {
    const info = await this.app.util.getJson(`${runBase(runId)}/rasters/${encodeURIComponent(entry.name)}`);
    if (generation !== this.generation || !this.viewer) return;
    const resource = new Cesium.Resource({ url: info.png, headers: { ...authHeaders() } });
    const provider = await Cesium.SingleTileImageryProvider.fromUrl(resource, { rectangle: Cesium.Rectangle.fromDegrees(...info.bounds) });
    if (generation !== this.generation) return;
    const layer = this.viewer.imageryLayers.addImageryProvider(provider);
    layer.alpha = RASTER_ALPHA;
    this.imagery.push({ name: entry.name, layer, info: { ...entry, ...info }, shown: true });
    this.viewer.scene.requestRender();
  }

  async addVector(runId, entry, generation) {
    const geojson = await this.app.util.getJson(`${runBase(runId)}/vectors/${encodeURIComponent(entry.name)}`);
    if (generation !== this.generation || !this.viewer) return;
    const color = Cesium.Color.fromCssColorString(VECTOR_COLORS[this.sources.length % VECTOR_COLORS.length]);
    const source = await Cesium.GeoJsonDataSource.load(geojson, {
      clampToGround: true,
      stroke: color,
      strokeWidth: 2,
      fill: color.withAlpha(VECTOR_FILL_ALPHA), // the rasters under it stay readable
      markerColor: color,
    });
    if (generation !== this.generation) return;
    pointsAsDots(source, color);
    source.name = `simulation:${entry.name}`;
    await this.viewer.dataSources.add(source);
    this.sources.push({ name: entry.name, source, entry, count: geojson.features?.length ?? 0, shown: true });
    this.viewer.scene.requestRender();
  }

  /** Colour the buildings by values `name` of the shown run (null: stop colouring). */
  async colour(name) {
    const key = name ? valuesKey(this.run.id, name) : null;
    this.coloring = key;
    const legend = this.app.theme.legend;
    await legend.colorBy(key);
    const coloring = this.app.style.coloring;
    if (key && coloring && coloring.attribute === key) {
      const entry = layerEntries(this.run.values).find((v) => v.name === name) || {};
      coloring.title = entry.title || name;
      if (!coloring.unit && entry.unit) coloring.unit = entry.unit;
      legend.render();
    }
    this.renderColouring();
    this.showSelection().catch(() => {});
  }

  /** Take everything of the shown run off the map. */
  clear() {
    this.generation += 1;
    const viewer = this.viewer;
    for (const { layer } of this.imagery) viewer?.imageryLayers.remove(layer, true);
    for (const { source } of this.sources) viewer?.dataSources.remove(source, true);
    this.imagery = [];
    this.sources = [];
    const current = this.app.style.coloring?.attribute || "";
    if (current.startsWith("simulation:")) this.app.theme.legend.colorBy(null).catch(() => {});
    this.coloring = null;
    this.run = null;
    this.selection.hidden = true;
    this.root.replaceChildren();
    viewer?.scene.requestRender();
    this.app.layers?.render();
  }

  render() {
    const run = this.run;
    if (!run) {
      this.root.replaceChildren();
      return;
    }
    const parts = [this.header(run), this.summary(run.summary || {}), this.selection];
    const layers = this.layerList();
    if (layers) parts.push(layers);
    const values = layerEntries(run.values);
    if (values.length) parts.push((this.colourSelect = this.colouring(values)));
    const charts = run.charts || [];
    if (charts.length) {
      parts.push(
        el("h4", null, t("sim.charts")),
        ...charts.map((chart) => {
          const labels = chartLabels(chart);
          return el("figure", { className: "sim-figure" }, el("figcaption", null, labels.title), simulationChart(chart, labels));
        }),
      );
    }
    this.root.replaceChildren(...parts);
    this.root.dataset.run = run.id;
  }

  header(run) {
    const model = this.app.simulation?.modelTitle(run.model) || run.model;
    const when = run.finished || run.started;
    const head = el("div", { className: "sim-run-head" }, el("b", null, model), " ", el("code", null, run.id));
    if (when) head.append(el("small", null, ` ${new Date(when).toLocaleString(getLanguage())}`));
    if (run.trigger) head.append(el("small", { className: "sim-trigger" }, ` · ${t("sim.trigger")}`));
    return head;
  }

  summary(summary) {
    const dl = el("dl", { className: "sim-summary" });
    for (const [key, value] of Object.entries(summary)) {
      const { label, unit } = summaryLabel(key);
      const dt = el("dt", null, label);
      const dd = el("dd", null, summaryText(value, unit));
      dd.dataset.key = key;
      dl.append(dt, dd);
    }
    return el("section", { className: "sim-summary-box" }, el("h4", null, t("sim.summary")), dl);
  }

  layerList() {
    if (!this.imagery.length && !this.sources.length) return null;
    const list = el("ul", { className: "sim-layers" });
    for (const item of this.imagery) {
      const box = el("input", { type: "checkbox", checked: item.shown });
      box.addEventListener("change", () => {
        item.shown = box.checked;
        this.applyMapLayer();
      });
      const tif = el("button", { type: "button", className: "btn small" }, t("sim.download"));
      tif.addEventListener("click", () => download(`${runBase(this.run.id)}/rasters/${encodeURIComponent(item.name)}.tif`, `${item.name}.tif`));
      const row = el("li", { className: "sim-layer" }, el("label", { className: "check" }, box, " ", item.info.title || item.name), rampOf(item.info), tif);
      row.dataset.raster = item.name;
      list.append(row);
    }
    for (const item of this.sources) {
      const box = el("input", { type: "checkbox", checked: item.shown });
      box.addEventListener("change", () => {
        item.shown = box.checked;
        this.applyMapLayer();
      });
      const csv = el("button", { type: "button", className: "btn small" }, t("sim.export"));
      csv.addEventListener("click", () => download(`${runBase(this.run.id)}/vectors/${encodeURIComponent(item.name)}.csv`, `${item.name}.csv`));
      const label = `${item.entry.title || item.name} (${item.count})`;
      const row = el("li", { className: "sim-layer" }, el("label", { className: "check" }, box, " ", label), csv);
      row.dataset.vector = item.name;
      list.append(row);
    }
    return el("section", null, el("h4", null, t("sim.layers")), list);
  }

  colouring(values) {
    const select = el("select", { className: "sim-colour" });
    select.append(el("option", { value: "" }, t("sim.noColour")));
    for (const v of values) select.append(el("option", { value: v.name }, v.unit ? `${v.title || v.name}（${v.unit}）` : v.title || v.name));
    select.addEventListener("change", () => this.colour(select.value || null).catch((err) => console.error("cimtwin: colouring failed", err)));
    this.renderColouring(select);
    return el("label", { className: "field" }, el("span", null, t("sim.colour")), select);
  }

  renderColouring(select = this.colourSelect) {
    if (!select) return;
    const prefix = this.run ? valuesKey(this.run.id, "") : "";
    select.value = this.coloring && this.coloring.startsWith(prefix) ? this.coloring.slice(prefix.length) : "";
  }

  /** What tests read. */
  state() {
    return {
      run: this.run?.id ?? null,
      rasters: this.imagery.map((i) => ({ name: i.name, show: i.layer.show, min: i.info.min, max: i.info.max })),
      vectors: this.sources.map((s) => ({ name: s.name, show: s.source.show, features: s.count })),
      mapLayer: { ...this.mapLayer, alpha: this.imagery.map((i) => i.layer.alpha) },
      coloring: this.coloring,
      charts: [...this.root.querySelectorAll("svg.sim-chart")].map((svg) => ({
        name: svg.dataset.chart,
        marks: svg.querySelectorAll(".point, .bar").length,
      })),
    };
  }
}

/**
 * Points drawn as dots (thousands of pins would hide the city), green where a feature's
 * `pass` is true, red where false, else `color`.
 */
/**
 * Every polygon, line and dot of `source` at `opacity` times the alpha it was drawn with
 * (kept on first use, so that fading is never compounded).
 */
function fadeSource(source, opacity) {
  const now = Cesium.JulianDate.now();
  for (const entity of source.entities.values) {
    for (const [graphics, key] of [[entity.polygon, "material"], [entity.polyline, "material"], [entity.point, "color"]]) {
      if (!graphics || !graphics[key]) continue;
      if (!graphics.cimtwinColor) {
        const value = graphics[key].getValue(now);
        graphics.cimtwinColor = value instanceof Cesium.Color ? value : value?.color;
      }
      const base = graphics.cimtwinColor;
      if (!base) continue;
      const faded = base.withAlpha(base.alpha * opacity);
      graphics[key] = key === "material" ? new Cesium.ColorMaterialProperty(faded) : faded;
    }
  }
}

function pointsAsDots(source, color) {
  const pass = Cesium.Color.fromCssColorString(PASS_COLOR);
  const fail = Cesium.Color.fromCssColorString(FAIL_COLOR);
  for (const entity of source.entities.values) {
    if (!entity.billboard) continue;
    const verdict = entity.properties?.pass?.getValue();
    entity.billboard = undefined;
    entity.point = new Cesium.PointGraphics({
      pixelSize: 6,
      color: verdict === true ? pass : verdict === false ? fail : color,
      outlineColor: Cesium.Color.BLACK,
      outlineWidth: 1,
      heightReference: Cesium.HeightReference.CLAMP_TO_GROUND,
      disableDepthTestDistance: Number.POSITIVE_INFINITY,
    });
  }
}

/** A raster's colour ramp (its stops) with min and max and unit. */
function rampOf(info) {
  const stops = info.stops || [];
  if (stops.length < 2) return null;
  const low = stops[0][0];
  const high = stops[stops.length - 1][0];
  const span = high - low || 1;
  const gradient = stops.map(([v, c]) => `${c} ${(((v - low) / span) * 100).toFixed(1)}%`).join(", ");
  const unit = info.unit ? ` ${info.unit}` : "";
  const fmt = (v) => (Number.isFinite(v) ? formatNumber(v, Math.abs(v) < 10 ? 2 : 0) : "—");
  return el(
    "span",
    { className: "sim-ramp" },
    el("small", null, fmt(info.min ?? low)),
    el("span", { className: "sim-ramp-bar", style: `background: linear-gradient(to right, ${gradient})` }),
    el("small", null, `${fmt(info.max ?? high)}${unit}`),
  );
}
