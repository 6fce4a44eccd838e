// What each feature of the tileset looks like: one Cesium3DTileStyle with JavaScript show and
// color functions, so that layer visibility and opacity, building and storey isolation,
// colouring by data and the selection highlight all work on the tiles as served (no
// re-tiling). A change only marks the style dirty: Cesium re-evaluates the loaded features.
//
// Per feature the tiles carry (EXT_structural_metadata): id, class, name, and when the tiler
// writes them building, storey, height, use, year. Missing properties fall back to what the
// API says (values per id, members of a building).

import { postJson } from "./api.js";
import { t } from "./i18n.js";

export const FEATURE_LAYERS = ["bim", "gis", "roads", "parcels", "other"];
const ROAD_CLASSES = new Set(["road", "Road", "street", "railway", "Railway", "TransportationSquare"]);
const BUILDING_CLASSES = new Set(["building", "Building", "BuildingPart"]);
const PARCEL_CLASSES = new Set(["parcel", "Parcel"]);

// Sequential ramp (low -> high) and categorical palette.
const RAMP = ["#2b83ba", "#64abb0", "#9dd3a7", "#c7e9ad", "#fee08b", "#fdae61", "#f46d43", "#d7191c"];
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f"];
const OTHER = "#bab0ac";
const NO_VALUE = "#5d6570";
const SELECTED = "#ffd84d";

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
    this.isolation = null; // {building, storey, members: Map(id -> storey id)}
    this.coloring = null; // {attribute, kind, values: Map, classes: [{color, label, test}]}
    this.selected = new Set(); // ids drawn highlighted: an object, or a building's elements
    this.sensorColors = null; // Map(building or object id -> Cesium.Color): worst sensor level
    this.style = null; // made with the first tileset (Cesium may have failed to load)
    this.highlight = null;
  }

  attach(tileset) {
    if (!this.style) {
      const style = new Cesium.Cesium3DTileStyle();
      style.show = { evaluate: (feature) => this.shows(feature) };
      style.color = { evaluateColor: (feature, result) => this.colorOf(feature, result) };
      this.style = style;
      this.highlight = Cesium.Color.fromCssColorString(SELECTED);
    }
    this.tileset = tileset;
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
    // Data colours replace the material colour (mostly); otherwise they tint it.
    this.tileset.colorBlendMode = this.coloring ? Cesium.Cesium3DTileColorBlendMode.MIX : Cesium.Cesium3DTileColorBlendMode.HIGHLIGHT;
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
    // the selection first, then the live state of the building's sensors, then data
    let color = id !== null && this.selected.has(id) ? this.highlight : this.sensorColorOf(feature, id);
    if (!color) color = this.coloring ? this.coloring.colorFor(feature, id) : Cesium.Color.WHITE;
    result = Cesium.Color.clone(color, result);
    result.alpha = layer.opacity;
    return result;
  }

  /**
   * Colour features by `attribute`: values from POST /api/objects/values (objects in a
   * building take the building's value), else the feature's own tile property.
   */
  async colorBy(attribute) {
    if (!attribute) {
      this.coloring = null;
      this.refresh();
      return null;
    }
    const answer = await postJson("/api/objects/values", { attribute, per_building: true });
    this.coloring = new Coloring(attribute, answer);
    this.refresh();
    return this.coloring;
  }
}

/** Classes of colour for one attribute, and the legend that explains them. */
export class Coloring {
  constructor(attribute, answer) {
    this.attribute = attribute;
    this.kind = answer.kind;
    this.count = answer.owners ?? answer.count; // buildings and objects holding a value
    this.values = new Map(Object.entries(answer.values || {}));
    this.noValue = Cesium.Color.fromCssColorString(NO_VALUE);
    this.entries = []; // {css, color, label, matches(value)}
    if (answer.kind === "number") this.numberClasses(answer.range);
    else if (answer.kind === "category") this.categoryClasses(answer.categories);
  }

  /** Classes of round width ("10 – 20", "2000 – 2004") over the range, at most RAMP.length. */
  numberClasses([low, high]) {
    const integer = [...this.values.values()].every((v) => Number.isInteger(v));
    if (low === high) {
      this.entries.push(entry(RAMP[4], format(low, integer), (v) => v === low));
      return;
    }
    let step = niceStep((high - low) / RAMP.length);
    if (integer) step = Math.max(1, Math.round(step));
    let first = Math.floor(low / step) * step;
    let count = Math.floor((high - first) / step) + 1;
    while (count > RAMP.length) {
      step = niceStep(step * 1.01);
      first = Math.floor(low / step) * step;
      count = Math.floor((high - first) / step) + 1;
    }
    for (let i = 0; i < count; i += 1) {
      const from = first + i * step;
      const to = from + step;
      const css = RAMP[count === 1 ? 4 : Math.round((i * (RAMP.length - 1)) / (count - 1))];
      const label = integer && step > 1 ? `${from} – ${to - 1}` : integer ? `${from}` : `${format(from)} – ${format(to)}`;
      this.entries.push(entry(css, label, (v) => v >= from && v < to));
    }
  }

  categoryClasses(categories) {
    const shown = categories.slice(0, PALETTE.length);
    shown.forEach(([value, count], i) => {
      this.entries.push(entry(PALETTE[i], `${value} (${count})`, (v) => v === value));
    });
    if (categories.length > shown.length) {
      const rest = categories.slice(shown.length).reduce((sum, [, n]) => sum + n, 0);
      this.entries.push(entry(OTHER, `${t("style.other")} (${rest})`, () => true));
    }
  }

  valueOf(feature, id) {
    if (id !== null && this.values.has(id)) return this.values.get(id);
    const own = property(feature, this.attribute);
    if (own === null || (this.attribute === "year" && own === 0)) return null;
    return this.kind === "category" ? String(own) : own;
  }

  colorFor(feature, id) {
    const value = this.valueOf(feature, id);
    if (value === null || value === undefined) return this.noValue;
    for (const e of this.entries) if (e.matches(value)) return e.color;
    return this.noValue;
  }
}

function entry(css, label, matches) {
  return { css, color: Cesium.Color.fromCssColorString(css), label, matches };
}

function format(value, integer) {
  if (integer) return String(Math.round(value));
  return String(Number(value.toFixed(Math.abs(value) >= 100 ? 0 : 1)));
}

/** The smallest of 1, 2, 2.5, 5 x 10^k at least `raw`. */
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

export const NO_VALUE_CSS = NO_VALUE;
