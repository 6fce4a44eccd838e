// What each feature of the tileset looks like: one Cesium3DTileStyle with JavaScript show and
// color functions, so that layer visibility and opacity, building and storey isolation,
// colouring by data and the selection highlight all work on the tiles as served (no
// re-tiling). A change only marks the style dirty: Cesium re-evaluates the loaded features.
//
// While isolating, what is not isolated is ghosted (translucent, neutral) unless the isolation
// says `ghost: false`. While nothing is coloured the selection is tinted cyan, a colour no
// class of a legend has; while coloured it keeps its class colour and is outlined in that
// cyan (outline.js). The outline is a post-process stage: cheap on a GPU, but ten times the
// frame time under software rendering, so it runs only while it is needed.
//
// Per feature the tiles carry (EXT_structural_metadata): id, class, name, and when the tiler
// writes them building, storey, height, use, year. Missing properties fall back to what the
// API says (values per id, members of a building).

import { postJson } from "./api.js";
import { t } from "./i18n.js";
import { OUTLINE_CSS } from "./outline.js";

export const FEATURE_LAYERS = ["bim", "gis", "roads", "parcels", "other"];
const ROAD_CLASSES = new Set(["road", "Road", "street", "railway", "Railway", "TransportationSquare"]);
const BUILDING_CLASSES = new Set(["building", "Building", "BuildingPart"]);
const PARCEL_CLASSES = new Set(["parcel", "Parcel"]);

// Sequential ramp (low -> high) and categorical palette.
const RAMP = ["#2b83ba", "#64abb0", "#9dd3a7", "#c7e9ad", "#fee08b", "#fdae61", "#f46d43", "#d7191c"];
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f"];
const OTHER = "#bab0ac";
const NO_VALUE = "#5d6570";
const SELECTED = OUTLINE_CSS;
const GHOST = "#c9ced6";
const GHOST_ALPHA = 0.18;
// Classes of numbers: at most this many, and never more than the distinct values.
export const MAX_NUMBER_CLASSES = 7;

/** Which layer of the layer tree a feature belongs to, from its id and class. */
export function layerOf(id, cls) {
  cls = cls || "";
  if (ROAD_CLASSES.has(cls)) return "roads";
  if (PARCEL_CLASSES.has(cls)) return "parcels";
  const gis = typeof id === "string" && id.includes(":"); // GIS and CityJSON ids: <layer>:<id>
  if (!gis && cls.startsWith("Ifc")) return "bim";
  if (BUILDING_CLASSES.has(cls)) return "gis";
  return cls.startsWith("Ifc") ? "bim" : "other";
}

/** Which layer objects of a class fall in (for the counts of the layer tree). */
export function layerOfClass(cls) {
  return layerOf(cls.startsWith("Ifc") ? "x" : "x:y", cls);
}

export function property(feature, name) {
  const value = feature.getProperty(name);
  return value === undefined || value === null || value === "" ? null : value;
}

export function featureId(feature) {
  for (const name of ["id", "GlobalId", "globalId"]) {
    const value = property(feature, name);
    if (value !== null) return String(value);
  }
  return null;
}

export class CityStyle {
  constructor(requestRender) {
    this.requestRender = requestRender;
    this.tileset = null;
    this.layers = Object.fromEntries(FEATURE_LAYERS.map((k) => [k, { visible: true, opacity: 1 }]));
    this.isolation = null; // {building, storey, members: Map(id -> storey id), ghost = true}
    this.coloring = null; // {attribute, kind, values: Map, classes: [{color, label, test}]}
    this.selected = new Set(); // ids drawn highlighted: an object, or a building's elements
    this.sensorColors = null; // Map(building or object id -> Cesium.Color): worst sensor level
    this.style = null; // made with the first tileset (Cesium may have failed to load)
    this.highlight = null;
    this.ghost = null;
    this.onlyClass = null; // index of the legend class shown alone, -1 "no value", or null
    this.outline = null; // a SelectionOutline (outline.js), when the scene has one
    this.outlinePending = false;
  }

  attach(tileset) {
    if (!this.style) {
      const style = new Cesium.Cesium3DTileStyle();
      style.show = { evaluate: (feature) => this.shows(feature) };
      style.color = { evaluateColor: (feature, result) => this.colorOf(feature, result) };
      this.style = style;
      this.highlight = Cesium.Color.fromCssColorString(SELECTED);
      this.ghost = Cesium.Color.fromCssColorString(GHOST);
    }
    this.tileset = tileset;
    tileset.tileLoad.addEventListener(() => {
      if (this.selected.size && tileset === this.tileset) this.scheduleOutline();
    });
    this.scheduleOutline();
    tileset.style = this.style;
    this.applyBlend();
  }

  refresh() {
    if (this.tileset && !this.tileset.isDestroyed()) this.tileset.makeStyleDirty();
    this.applyBlend();
    this.requestRender();
  }

  applyBlend() {
    if (!this.tileset) return;
    // Data colours replace the material colour (the legend's colour is drawn); otherwise they
    // tint it.
    this.tileset.colorBlendMode = this.coloring ? Cesium.Cesium3DTileColorBlendMode.REPLACE : Cesium.Cesium3DTileColorBlendMode.HIGHLIGHT;
    this.tileset.colorBlendAmount = 0.85;
  }

  setLayer(key, { visible, opacity }) {
    const layer = this.layers[key];
    if (!layer) throw new Error(`unknown layer ${key}`);
    if (visible !== undefined) layer.visible = Boolean(visible);
    if (opacity !== undefined) layer.opacity = Math.max(0, Math.min(1, Number(opacity)));
    this.refresh();
  }

  setIsolation(isolation) {
    this.isolation = isolation;
    this.refresh();
  }

  /** Highlight one id, a Set of ids (a building or storey and its elements), or nothing. */
  setSelected(ids) {
    this.selected = ids instanceof Set ? ids : new Set(ids ? [ids] : []);
    this.updateOutline();
    this.refresh();
  }

  /** Outline the loaded features of the selection (again once more tiles have loaded). */
  scheduleOutline() {
    if (this.outlinePending) return;
    this.outlinePending = true;
    setTimeout(() => {
      this.outlinePending = false;
      this.updateOutline();
    }, 0);
  }

  updateOutline() {
    if (!this.outline) return;
    const wanted = this.coloring && this.selected.size;
    this.outline.setFeatures(wanted ? this.loadedFeatures((id) => this.selected.has(id)) : []);
  }

  /** The loaded features of the tileset whose id passes `wanted`. */
  loadedFeatures(wanted) {
    const found = [];
    const tileset = this.tileset;
    if (!tileset || tileset.isDestroyed()) return found;
    const visit = (tile) => {
      const content = tile.content;
      for (let i = 0; content && i < content.featuresLength; i += 1) {
        const feature = content.getFeature(i);
        const id = featureId(feature);
        if (id !== null && wanted(id)) found.push(feature);
      }
      for (const child of tile.children) visit(child);
    };
    visit(tileset.root);
    return found;
  }

  /** Show only the features of one class of the legend (its index, -1: no value), or all (null). */
  setOnlyClass(index) {
    this.onlyClass = this.coloring && index !== null && index !== undefined ? Number(index) : null;
    this.refresh();
  }

  /** Colour buildings (and the elements in them) by their sensors: Map(id -> CSS) or null. */
  setSensorColors(colors) {
    this.sensorColors = colors ? new Map([...colors].map(([id, css]) => [id, Cesium.Color.fromCssColorString(css)])) : null;
    this.refresh();
  }

  sensorColorOf(feature, id) {
    if (!this.sensorColors) return null;
    return this.sensorColors.get(id) ?? this.sensorColors.get(property(feature, "building")) ?? null;
  }

  shows(feature) {
    const id = featureId(feature);
    const layer = this.layers[layerOf(id, property(feature, "class"))];
    if (!layer.visible || layer.opacity <= 0) return false;
    if (this.coloring && this.onlyClass !== null && this.coloring.classOf(feature, id) !== this.onlyClass) return false;
    return this.isolates(feature, id) || this.isolation.ghost !== false;
  }

  /** Whether the feature is drawn ghosted: outside the isolation, which ghosts the rest. */
  isGhost(feature) {
    const iso = this.isolation;
    return Boolean(iso && iso.ghost !== false && !this.isolates(feature, featureId(feature)));
  }

  /** Whether the feature is part of what is isolated (true when nothing is). */
  isolates(feature, id) {
    const iso = this.isolation;
    if (!iso) return true;
    if (id === iso.building) return !iso.storey;
    const member = iso.members.has(id);
    const building = property(feature, "building") ?? (member ? iso.building : null);
    if (building !== iso.building) return false;
    if (!iso.storey) return true;
    const storey = property(feature, "storey") ?? (member ? iso.members.get(id) : null);
    return storey === iso.storey;
  }

  colorOf(feature, result) {
    const id = featureId(feature);
    const layer = this.layers[layerOf(id, property(feature, "class"))];
    if (this.isolation && this.isolation.ghost !== false && !this.isolates(feature, id)) {
      result = Cesium.Color.clone(this.ghost, result);
      result.alpha = Math.min(layer.opacity, GHOST_ALPHA);
      return result;
    }
    // the live state of the building's sensors, then data; the selection (outlined) is
    // tinted only while nothing is coloured
    let color = this.sensorColorOf(feature, id);
    if (!color && this.coloring) color = this.coloring.colorFor(feature, id);
    if (!color) color = id !== null && this.selected.has(id) ? this.highlight : Cesium.Color.WHITE;
    result = Cesium.Color.clone(color, result);
    result.alpha = layer.opacity;
    return result;
  }

  /**
   * Colour features by `attribute`: values from POST /api/objects/values (objects in a
   * building take the building's value), else the feature's own tile property.
   */
  async colorBy(attribute) {
    this.onlyClass = null;
    if (!attribute) {
      this.coloring = null;
      this.updateOutline();
      this.refresh();
      return null;
    }
    const answer = await postJson("/api/objects/values", { attribute, per_building: true });
    this.coloring = new Coloring(attribute, answer);
    this.updateOutline();
    this.refresh();
    return this.coloring;
  }
}

/** Classes of colour for one attribute, and the legend that explains them. */
export class Coloring {
  constructor(attribute, answer) {
    this.attribute = attribute;
    this.kind = answer.kind;
    this.unit = answer.unit || null; // of numbers, e.g. "m"
    this.count = answer.owners ?? answer.count; // buildings and objects holding a value
    this.values = new Map(Object.entries(answer.values || {}));
    this.noValue = Cesium.Color.fromCssColorString(NO_VALUE);
    this.entries = []; // {index, css, color, label, matches(value)}
    if (answer.kind === "number") this.numberClasses();
    else if (answer.kind === "category") this.categoryClasses(answer.categories);
  }

  /**
   * One class per distinct value when there are few (never more classes than values); else
   * MAX_NUMBER_CLASSES classes holding as many distinct values each (quantiles of the
   * distinct values, so that one building of many elements does not weigh more than
   * another), their breaks rounded where that keeps them apart.
   */
  numberClasses() {
    const distinct = [...new Set([...this.values.values()].filter((v) => Number.isFinite(v)))].sort((a, b) => a - b);
    if (!distinct.length) return;
    const integer = distinct.every((v) => Number.isInteger(v));
    const colours = (n) => Array.from({ length: n }, (_, i) => RAMP[n === 1 ? 4 : Math.round((i * (RAMP.length - 1)) / (n - 1))]);
    if (distinct.length <= MAX_NUMBER_CLASSES) {
      const css = colours(distinct.length);
      distinct.forEach((value, i) => this.add(css[i], this.withUnit(format(value, integer)), (v) => v === value));
      return;
    }
    const breaks = quantileBreaks(distinct, MAX_NUMBER_CLASSES, integer);
    const bounds = [distinct[0], ...breaks, Infinity];
    const css = colours(bounds.length - 1);
    for (let i = 0; i + 1 < bounds.length; i += 1) {
      const from = bounds[i];
      const to = bounds[i + 1];
      const last = i + 2 === bounds.length;
      const top = last ? distinct[distinct.length - 1] : to;
      const upper = integer && !last ? to - 1 : top; // the highest value the class can hold
      const label = upper === from ? format(from, integer) : `${format(from, integer)} – ${format(upper, integer)}`;
      this.add(css[i], this.withUnit(label), (v) => v >= from && v < to);
    }
  }

  categoryClasses(categories) {
    const shown = categories.slice(0, PALETTE.length);
    shown.forEach(([value, count], i) => {
      this.add(PALETTE[i], `${value} (${count})`, (v) => v === value);
    });
    if (categories.length > shown.length) {
      const rest = categories.slice(shown.length).reduce((sum, [, n]) => sum + n, 0);
      this.add(OTHER, `${t("style.other")} (${rest})`, () => true);
    }
  }

  add(css, label, matches) {
    this.entries.push({ index: this.entries.length, css, color: Cesium.Color.fromCssColorString(css), label, matches });
  }

  withUnit(label) {
    return this.unit ? `${label} ${this.unit}` : label;
  }

  valueOf(feature, id) {
    if (id !== null && this.values.has(id)) return this.values.get(id);
    const own = property(feature, this.attribute);
    if (own === null || (this.attribute === "year" && own === 0)) return null;
    return this.kind === "category" ? String(own) : own;
  }

  /** Index of the feature's class in the legend, -1 when it has no value (or none fits). */
  classOf(feature, id) {
    const value = this.valueOf(feature, id);
    if (value === null || value === undefined) return -1;
    for (const e of this.entries) if (e.matches(value)) return e.index;
    return -1;
  }

  colorFor(feature, id) {
    const index = this.classOf(feature, id);
    return index < 0 ? this.noValue : this.entries[index].color;
  }
}

/**
 * Lower bounds of classes 2..k over sorted distinct `values`: each class gets about as many
 * distinct values; each break is rounded to the coarsest round number that leaves the
 * classes' contents unchanged.
 */
export function quantileBreaks(values, k, integer) {
  const n = values.length;
  const breaks = [];
  for (let i = 1; i < k; i += 1) {
    const at = Math.round((i * n) / k);
    if (at <= 0 || at >= n) continue;
    const [below, above] = [values[at - 1], values[at]];
    breaks.push(roundBetween(below, above, integer));
  }
  return [...new Set(breaks)].sort((a, b) => a - b);
}

/** The roundest number r with below < r <= above (an integer when `integer`). */
function roundBetween(below, above, integer) {
  for (let power = 10 ** Math.ceil(Math.log10(Math.max(Math.abs(above), 1e-9))); power >= 1e-6; power /= 10) {
    for (const m of [1, 0.5, 0.25, 0.2]) {
      const step = power * m;
      if (integer && !Number.isInteger(step)) continue;
      const r = Math.floor(above / step) * step;
      if (r > below) return Number(r.toPrecision(12));
    }
  }
  return above;
}

function format(value, integer) {
  if (integer) return String(Math.round(value));
  return String(Number(value.toFixed(Math.abs(value) >= 1000 ? 0 : 2)));
}

export const NO_VALUE_CSS = NO_VALUE;
