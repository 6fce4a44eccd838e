// A horizontal clipping plane through the tileset: everything above `height` (metres, the
// city's heights) is cut away, so a storey or a whole building can be looked into.
//
// Cesium places a tileset's clipping planes in the frame of tileset.clippingPlanesOriginMatrix;
// the collection's modelMatrix takes our plane, defined in an east-north-up frame at the cut
// point, into that frame. Cesium discards what lies on the side opposite the normal.
//
// The cut starts where it shows something: through the isolated storey (just under its top,
// which takes its ceiling away), else at the mid-height of the building isolated or selected,
// else at a plan cut (PLAN_CUT above the ground) through every building. The slider then
// spans that building's height (a storey is a few steps of it), and the step buttons move
// the cut one storey down or up.

import { getJson } from "./api.js";

const PLAN_CUT = 1.2; // metres above a floor: where a floor plan cuts
const STOREY = 3.0; // metres: a storey when the building says nothing better
const CITY_SPAN = 60; // metres above the ground the slider reaches without a building
const BUILDING_CLASSES = new Set(["IfcBuilding", "building", "Building", "BuildingPart"]);

/** The cut that opens a storey: just under its top, never under its floor's plan cut. */
export function storeyCut(extent) {
  return Math.max(extent.base_height + 0.5, extent.top_height - 0.3);
}

export class ClipTool {
  /** `ui`: {enable, height, value, down, up} (checkbox, range input, its value, step buttons). */
  constructor(app, ui = null) {
    this.app = app;
    this.ui = ui;
    this.collection = null;
    this.owner = null;
    this.at = null; // {lon, lat, height}
    this.span = null; // {min, max, storey}: the building the cut goes through, else null
  }

  get enabled() {
    return Boolean(this.collection && this.collection.enabled && this.owner === this.app.tileset);
  }

  /** Cut at `height` metres above the ellipsoid, through the vertical at lon/lat. */
  set(lon, lat, height) {
    const tileset = this.app.tileset;
    if (!tileset) return;
    if (this.owner !== tileset || !this.collection || this.collection.isDestroyed()) {
      this.collection = new Cesium.ClippingPlaneCollection({
        planes: [new Cesium.ClippingPlane(new Cesium.Cartesian3(0, 0, -1), 0)],
        edgeWidth: 1.5,
        edgeColor: Cesium.Color.fromCssColorString("#ffd84d"),
      });
      tileset.clippingPlanes = this.collection;
      this.owner = tileset;
    }
    this.at = { lon, lat, height };
    const enu = Cesium.Transforms.eastNorthUpToFixedFrame(Cesium.Cartesian3.fromDegrees(lon, lat, height));
    const origin = tileset.clippingPlanesOriginMatrix || Cesium.Matrix4.IDENTITY;
    const toOrigin = Cesium.Matrix4.inverseTransformation(origin, new Cesium.Matrix4());
    this.collection.modelMatrix = Cesium.Matrix4.multiply(toOrigin, enu, new Cesium.Matrix4());
    this.collection.enabled = true;
    this.app.viewer.scene.requestRender();
  }

  setHeight(height) {
    const at = this.at || this.defaultPoint();
    if (at) this.set(at.lon, at.lat, height);
  }

  disable() {
    if (this.collection && !this.collection.isDestroyed()) this.collection.enabled = false;
    if (this.app.viewer) this.app.viewer.scene.requestRender();
  }

  defaultPoint() {
    const c = this.app.city?.center;
    return c ? { lon: c.lon, lat: c.lat, height: c.height || 0 } : null;
  }

  /** The slider spans this building (an /extent answer), a storey `storey` metres high. */
  setSpan(extent, storey = null) {
    this.span = extent
      ? { min: extent.base_height - 1, max: extent.top_height + 1, storey: storey || STOREY }
      : null;
  }

  /** Heights the slider can move the cut through: the building's, else the ground's few storeys. */
  range() {
    if (this.span) return { min: Math.floor(this.span.min), max: Math.ceil(this.span.max) };
    const ground = this.app.city?.center?.height || 0;
    let top = ground + CITY_SPAN;
    const tileset = this.app.tileset;
    if (tileset) {
      const carto = Cesium.Cartographic.fromCartesian(tileset.boundingSphere.center);
      if (carto) top = Math.min(top, Math.max(ground + 5, carto.height + tileset.boundingSphere.radius * 0.75));
    }
    return { min: Math.floor(ground - 2), max: Math.ceil(top) };
  }

  /** One storey's height for the step buttons. */
  get storeyHeight() {
    return this.span?.storey || STOREY;
  }

  /**
   * Where a cut starts when the user turns it on: {lon, lat, height, extent} through the
   * isolated storey, else the isolated or selected building's mid-height, else a plan cut
   * over the city's ground.
   */
  async startingCut() {
    const iso = this.app.style.isolation;
    const selected = this.app.selected;
    const extentOf = (id) => getJson(`/api/objects/${encodeURIComponent(id)}/extent`);
    if (iso?.storey) {
      const [storey, building] = await Promise.all([extentOf(iso.storey), extentOf(iso.building)]);
      this.setSpan(building, storey.top_height - storey.base_height);
      return { ...storey.center, height: storeyCut(storey) };
    }
    let building = iso?.building || null;
    if (!building && selected) {
      building = BUILDING_CLASSES.has(selected.class) ? selected.id : selected.building_id || null;
    }
    if (building) {
      const extent = await extentOf(building);
      this.setSpan(extent);
      return { ...extent.center, height: (extent.base_height + extent.top_height) / 2 };
    }
    this.setSpan(null);
    const point = this.defaultPoint();
    return point ? { ...point, height: point.height + PLAN_CUT } : null;
  }

  /** Turn the cut on where it shows something (see startingCut), or off. */
  async toggle(on) {
    if (!on) {
      this.disable();
      this.sync(false);
      return;
    }
    const cut = await this.startingCut();
    if (cut) this.set(cut.lon, cut.lat, cut.height);
    this.sync(true);
  }

  /** Move the cut `storeys` storeys up (negative: down), within the slider's range. */
  step(storeys) {
    if (!this.at) return;
    const { min, max } = this.range();
    this.setHeight(Math.min(max, Math.max(min, this.at.height + storeys * this.storeyHeight)));
    this.sync(true);
  }

  /** Put the controls in line with the cut. */
  sync(enabled = this.enabled) {
    const ui = this.ui;
    if (!ui) return;
    const { min, max } = this.range();
    ui.height.min = String(min);
    ui.height.max = String(max);
    ui.enable.checked = enabled;
    ui.height.disabled = !enabled;
    if (ui.down) ui.down.disabled = !enabled;
    if (ui.up) ui.up.disabled = !enabled;
    if (enabled && this.at) ui.height.value = String(this.at.height);
    ui.value.textContent = enabled && this.at ? `${this.at.height.toFixed(1)} m` : "";
  }

  /** Wire the controls: the checkbox, the slider and the step buttons. */
  wire() {
    const ui = this.ui;
    if (!ui) return;
    ui.enable.addEventListener("change", () => {
      this.toggle(ui.enable.checked).catch((err) => console.error("cimtwin: cannot start the cut", err));
    });
    ui.height.addEventListener("input", () => {
      this.setHeight(Number(ui.height.value));
      this.sync(true);
    });
    ui.down?.addEventListener("click", () => this.step(-1));
    ui.up?.addEventListener("click", () => this.step(1));
  }
}
