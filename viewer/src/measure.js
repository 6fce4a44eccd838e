// Measuring in the scene: distance (straight, with its horizontal and vertical parts), height
// difference, and the horizontal area and perimeter of a polygon. Points come from the depth
// buffer (on tiles and terrain), else from the ellipsoid. Drawn as entities.
//
// A tool is armed by its button (lit while armed) and disarmed by Esc, by its button again,
// or by the result of a measure: a click after that picks a building again instead of
// starting another measure unasked.

import { formatArea, formatLength } from "./api.js";
import { t } from "./i18n.js";

const LINE_CSS = "#ffd84d";

/** Straight, horizontal and vertical distance between two Cartesian3 points, in metres. */
export function distanceBetween(a, b) {
  const ca = Cesium.Cartographic.fromCartesian(a);
  const cb = Cesium.Cartographic.fromCartesian(b);
  const vertical = Math.abs(cb.height - ca.height);
  const geodesic = new Cesium.EllipsoidGeodesic(ca, cb);
  const horizontal = geodesic.surfaceDistance || 0;
  return { straight: Math.hypot(horizontal, vertical), horizontal, vertical };
}

/** Horizontal area (m²) and perimeter (m) of a polygon, in a tangent plane at its first point. */
export function polygonArea(points) {
  if (points.length < 3) return { area: 0, perimeter: 0 };
  const toLocal = Cesium.Matrix4.inverseTransformation(
    Cesium.Transforms.eastNorthUpToFixedFrame(points[0]),
    new Cesium.Matrix4(),
  );
  const xy = points.map((p) => Cesium.Matrix4.multiplyByPoint(toLocal, p, new Cesium.Cartesian3()));
  let twice = 0;
  let perimeter = 0;
  for (let i = 0; i < xy.length; i += 1) {
    const p = xy[i];
    const q = xy[(i + 1) % xy.length];
    twice += p.x * q.y - q.x * p.y;
    perimeter += Math.hypot(q.x - p.x, q.y - p.y);
  }
  return { area: Math.abs(twice) / 2, perimeter };
}

export class MeasureTool {
  constructor(app, ui) {
    this.app = app;
    this.ui = ui; // {result, hint, finish, buttons: the [data-measure] buttons}
    this.mode = null; // "distance" | "height" | "area"
    this.points = [];
    this.entities = [];
    this.last = null; // {kind, value, ...}
  }

  get color() {
    return (this._color ||= Cesium.Color.fromCssColorString(LINE_CSS));
  }

  get active() {
    return this.mode !== null;
  }

  /** Wire the tool's buttons: a mode's button arms it (disarms it when armed), "clear" clears. */
  wire() {
    for (const button of this.ui.buttons || []) {
      button.addEventListener("click", () => {
        const mode = button.dataset.measure;
        if (mode === "clear") this.clear();
        else if (this.mode === mode) this.stop();
        else this.start(mode);
      });
    }
    this.ui.finish.addEventListener("click", () => this.finish());
  }

  /** Light the button of the armed mode only. */
  syncButtons() {
    for (const button of this.ui.buttons || []) {
      const lit = button.dataset.measure === this.mode;
      button.classList.toggle("active", lit);
      button.setAttribute("aria-pressed", String(lit));
    }
  }

  start(mode) {
    this.mode = mode;
    this.syncButtons();
    this.points = [];
    this.ui.hint.textContent = t(`tools.hint${mode[0].toUpperCase()}${mode.slice(1)}`);
    this.ui.finish.hidden = mode !== "area";
    this.app.viewer.container.classList.add("measuring");
  }

  stop() {
    this.mode = null;
    this.points = [];
    this.syncButtons();
    this.ui.hint.textContent = "";
    this.ui.finish.hidden = true;
    this.app.viewer?.container.classList.remove("measuring");
  }

  clear() {
    for (const entity of this.entities) this.app.viewer.entities.remove(entity);
    this.entities = [];
    this.last = null;
    this.ui.result.textContent = "";
    this.stop();
    this.app.viewer.scene.requestRender();
  }

  /** Where the user clicked: on tiles or terrain (depth buffer), else on the ellipsoid. */
  positionAt(windowPosition) {
    const scene = this.app.viewer.scene;
    let position;
    if (scene.pickPositionSupported) {
      try {
        position = scene.pickPosition(windowPosition);
      } catch {
        position = undefined;
      }
    }
    if (!Cesium.defined(position)) {
      const ray = scene.camera.getPickRay(windowPosition);
      position = ray && scene.globe.pick(ray, scene);
    }
    if (!Cesium.defined(position)) position = scene.camera.pickEllipsoid(windowPosition);
    return Cesium.defined(position) ? position : null;
  }

  onClick(windowPosition) {
    const position = this.positionAt(windowPosition);
    if (position) this.addPoint(position);
  }

  addPoint(position) {
    this.points.push(position);
    this.draw(this.entities, { position, point: { pixelSize: 7, color: this.color, disableDepthTestDistance: Number.POSITIVE_INFINITY } });
    if ((this.mode === "distance" || this.mode === "height") && this.points.length === 2) {
      this.finish();
    } else if (this.mode === "area" && this.points.length > 1) {
      const [a, b] = this.points.slice(-2);
      this.draw(this.entities, { polyline: { positions: [a, b], width: 2, material: this.color, depthFailMaterial: this.color } });
    }
    this.app.viewer.scene.requestRender();
  }

  finish() {
    const points = this.points;
    const mode = this.mode;
    let text = "";
    if (mode === "distance" && points.length === 2) {
      const d = distanceBetween(points[0], points[1]);
      this.line(points, `${formatLength(d.straight)}`);
      this.last = { kind: "distance", value: d.straight, horizontal: d.horizontal, vertical: d.vertical };
      text = t("tools.distanceResult", { d: formatLength(d.straight), h: formatLength(d.horizontal), v: formatLength(d.vertical) });
    } else if (mode === "height" && points.length === 2) {
      const [low, high] = points.map((p) => Cesium.Cartographic.fromCartesian(p)).sort((a, b) => a.height - b.height);
      const corner = Cesium.Cartesian3.fromRadians(low.longitude, low.latitude, high.height);
      const bottom = Cesium.Cartesian3.fromRadians(low.longitude, low.latitude, low.height);
      const top = Cesium.Cartesian3.fromRadians(high.longitude, high.latitude, high.height);
      const vertical = high.height - low.height;
      this.line([bottom, corner], formatLength(vertical));
      this.line([corner, top], null);
      this.last = { kind: "height", value: vertical };
      text = t("tools.heightResult", { v: formatLength(vertical) });
    } else if (mode === "area" && points.length >= 3) {
      const { area, perimeter } = polygonArea(points);
      this.draw(this.entities, {
        polygon: { hierarchy: points, perPositionHeight: true, material: this.color.withAlpha(0.35), outline: false },
      });
      this.line([...points, points[0]], null);
      const centre = Cesium.BoundingSphere.fromPoints(points).center;
      this.label(centre, formatArea(area));
      this.last = { kind: "area", value: area, perimeter };
      text = t("tools.areaResult", { a: formatArea(area), p: formatLength(perimeter) });
    } else {
      this.stop();
      return null;
    }
    this.ui.result.textContent = text;
    this.stop(); // the next click picks again; the button arms the next measure
    this.app.viewer.scene.requestRender();
    return this.last;
  }

  line(positions, text) {
    this.draw(this.entities, { polyline: { positions, width: 2, material: this.color, depthFailMaterial: this.color.withAlpha(0.5) } });
    if (text) this.label(Cesium.BoundingSphere.fromPoints(positions).center, text);
  }

  label(position, text) {
    this.draw(this.entities, {
      position,
      label: {
        text,
        font: "13px system-ui, sans-serif",
        fillColor: Cesium.Color.WHITE,
        showBackground: true,
        backgroundColor: Cesium.Color.fromCssColorString("rgba(20,23,28,0.85)"),
        disableDepthTestDistance: Number.POSITIVE_INFINITY,
        pixelOffset: new Cesium.Cartesian2(0, -14),
      },
    });
  }

  draw(list, options) {
    list.push(this.app.viewer.entities.add(options));
  }
}
