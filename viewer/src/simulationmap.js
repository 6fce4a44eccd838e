// The simulation form's map interaction: a lon/lat point picked with a click, a polygon drawn
// vertex by vertex (a proposed footprint), and the entities that show them. app.js hands
// every left click to `mapClick(position)` first; it answers true when it took the click.

const POINT_COLOR = "#f59e0b";
const POLYGON_COLOR = "#f97316";

/** Longitude/latitude (degrees) and height of what is under `position` on the canvas. */
export function lonLatAt(scene, position) {
  let cartesian;
  if (scene.pickPositionSupported) {
    try {
      cartesian = scene.pickPosition(position);
    } catch {
      cartesian = undefined;
    }
  }
  if (!Cesium.defined(cartesian)) {
    const ray = scene.camera.getPickRay(position);
    cartesian = (ray && scene.globe.pick(ray, scene)) || scene.camera.pickEllipsoid(position);
  }
  if (!Cesium.defined(cartesian)) return null;
  const c = Cesium.Cartographic.fromCartesian(cartesian);
  return { lon: Cesium.Math.toDegrees(c.longitude), lat: Cesium.Math.toDegrees(c.latitude), height: c.height };
}

export class MapPicker {
  constructor(app) {
    this.app = app;
    this.mode = null; // "point" | "polygon"
    this.resolve = null;
    this.vertices = [];
    this.onVertex = null;
    this.entities = new Map(); // parameter name -> entity
  }

  get drawing() {
    return this.mode === "polygon";
  }

  get viewer() {
    return this.app.viewer;
  }

  /** The next click on the map, as {lon, lat, height} (null when cancelled). */
  pickPoint() {
    this.cancel();
    this.mode = "point";
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  /** Vertices clicked until finishDrawing(): [[lon, lat], ...]; onVertex(vertices) after each. */
  drawPolygon(onVertex) {
    this.cancel();
    this.mode = "polygon";
    this.vertices = [];
    this.onVertex = onVertex;
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  finishDrawing() {
    const done = this.resolve;
    const vertices = this.vertices;
    this.mode = null;
    this.resolve = null;
    if (done) done(vertices);
  }

  cancel() {
    if (!this.resolve) return;
    const done = this.resolve;
    this.resolve = null;
    const mode = this.mode;
    this.mode = null;
    done(mode === "polygon" ? this.vertices : null);
  }

  /** Take a left click at `position` while picking; true when it was taken. */
  mapClick(position) {
    if (!this.mode || !this.viewer) return false;
    const where = lonLatAt(this.viewer.scene, position);
    if (!where) return true;
    if (this.mode === "point") {
      const done = this.resolve;
      this.mode = null;
      this.resolve = null;
      done(where);
    } else {
      this.vertices = [...this.vertices, [where.lon, where.lat]];
      if (this.onVertex) this.onVertex(this.vertices);
    }
    return true;
  }

  /** Show the point of parameter `name` (null: remove it). */
  showPoint(name, point) {
    this.remove(name);
    if (!point || !this.viewer) return;
    this.entities.set(
      name,
      this.viewer.entities.add({
        position: Cesium.Cartesian3.fromDegrees(point[0], point[1]),
        point: {
          pixelSize: 12,
          color: Cesium.Color.fromCssColorString(POINT_COLOR),
          outlineColor: Cesium.Color.WHITE,
          outlineWidth: 2,
          heightReference: Cesium.HeightReference.CLAMP_TO_GROUND,
          disableDepthTestDistance: Number.POSITIVE_INFINITY,
        },
      }),
    );
    this.viewer.scene.requestRender();
  }

  /** Show the polygon of parameter `name` on the ground (fewer than 3 vertices: a line). */
  showPolygon(name, ring) {
    this.remove(name);
    if (!ring || ring.length < 2 || !this.viewer) return;
    const color = Cesium.Color.fromCssColorString(POLYGON_COLOR);
    const positions = Cesium.Cartesian3.fromDegreesArray(ring.flat());
    const entity =
      ring.length < 3
        ? { polyline: { positions, width: 3, material: color, clampToGround: true } }
        : {
            polygon: { hierarchy: positions, material: color.withAlpha(0.35), classificationType: Cesium.ClassificationType.TERRAIN },
            polyline: { positions: [...positions, positions[0]], width: 3, material: color, clampToGround: true },
          };
    this.entities.set(name, this.viewer.entities.add(entity));
    this.viewer.scene.requestRender();
  }

  remove(name) {
    const entity = this.entities.get(name);
    if (entity && this.viewer) this.viewer.entities.remove(entity);
    this.entities.delete(name);
  }

  /** Stop picking and remove every shape. */
  clear() {
    this.cancel();
    for (const name of [...this.entities.keys()]) this.remove(name);
  }
}
