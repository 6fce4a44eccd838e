// A horizontal clipping plane through the tileset: everything above `height` (metres, the
// city's heights) is cut away, so a storey or a whole building can be looked into.
//
// Cesium places a tileset's clipping planes in the frame of tileset.clippingPlanesOriginMatrix;
// the collection's modelMatrix takes our plane, defined in an east-north-up frame at the cut
// point, into that frame. Cesium discards what lies on the side opposite the normal.

export class ClipTool {
  constructor(app) {
    this.app = app;
    this.collection = null;
    this.owner = null;
    this.at = null; // {lon, lat, height}
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

  /** Heights a slider can move the cut through: ground to the top of the tileset. */
  range() {
    const ground = this.app.city?.center?.height || 0;
    const tileset = this.app.tileset;
    let top = ground + 100;
    if (tileset) {
      const carto = Cesium.Cartographic.fromCartesian(tileset.boundingSphere.center);
      if (carto) top = Math.max(ground + 5, carto.height + tileset.boundingSphere.radius * 0.75);
    }
    return { min: Math.floor(ground - 2), max: Math.ceil(top) };
  }
}
