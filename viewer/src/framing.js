// Camera framing beside the panels: the canvas fills the page, but the top bar, the sidebar
// (left) and the side panels (right: object card, sensor, incident) cover parts of it. An
// object is framed in the part they leave free: centred there, and sized to fit it.
//
// The camera looks at the object's bounding sphere from a heading and pitch, at the distance
// where the sphere fits the free part's narrower half-angle; it is then moved sideways (along
// its own right and up vectors, which keeps the object's depth) so that the object's centre
// projects onto the free part's centre instead of the canvas centre.

// Panels that may cover the canvas, by id.
const PANELS = ["topbar", "sidebar", "info", "sensor-panel", "incident-panel"];
const MARGIN = 1.12; // the sphere fills this much less than the free part
const MIN_RANGE = 20; // metres: never closer than this to an object's centre

/** Whether an element is laid out and visible (not hidden, not display:none). */
function shown(element) {
  if (!element || element.hidden) return false;
  const rect = element.getBoundingClientRect();
  return rect.width > 0 && rect.height > 0;
}

/**
 * The part of the canvas no panel covers, in CSS pixels of the canvas: {left, top, right,
 * bottom, width, height, x, y} (x, y: its centre). A panel wider than 60 % of the canvas is a
 * bar (it cuts the top or the bottom); a narrower one cuts the side it stands on.
 */
export function freeArea(canvas, panels = PANELS.map((id) => document.getElementById(id))) {
  const box = canvas.getBoundingClientRect();
  const area = { left: 0, top: 0, right: canvas.clientWidth, bottom: canvas.clientHeight };
  for (const panel of panels) {
    if (!shown(panel)) continue;
    const r = panel.getBoundingClientRect();
    const [left, right, top, bottom] = [r.left - box.left, r.right - box.left, r.top - box.top, r.bottom - box.top];
    if (r.width > 0.6 * box.width) {
      if (top + bottom < box.height) area.top = Math.max(area.top, bottom);
      else area.bottom = Math.min(area.bottom, top);
    } else if (left + right < box.width) {
      area.left = Math.max(area.left, right);
    } else {
      area.right = Math.min(area.right, left);
    }
  }
  // Panels covering almost everything (a narrow window): fall back to the whole canvas.
  if (area.right - area.left < 0.25 * box.width) [area.left, area.right] = [0, canvas.clientWidth];
  if (area.bottom - area.top < 0.25 * box.height) [area.top, area.bottom] = [0, canvas.clientHeight];
  return {
    ...area,
    width: area.right - area.left,
    height: area.bottom - area.top,
    x: (area.left + area.right) / 2,
    y: (area.top + area.bottom) / 2,
  };
}

/**
 * Where the camera must be to show `sphere` in `area` of the canvas, from `heading` and
 * `pitch` (radians): {destination, orientation: {direction, up}, range}.
 */
export function framingView(scene, sphere, area, { heading, pitch }) {
  const canvas = scene.canvas;
  const frustum = scene.camera.frustum;
  const tanY = Math.tan((frustum.fovy ?? frustum.fov) / 2);
  const tanX = tanY * (frustum.aspectRatio || canvas.clientWidth / canvas.clientHeight);
  const freeTan = Math.min((tanX * area.width) / canvas.clientWidth, (tanY * area.height) / canvas.clientHeight);
  const range = Math.max((MARGIN * sphere.radius) / Math.sin(Math.atan(freeTan)), MIN_RANGE);

  const probe = new Cesium.Camera(scene);
  probe.lookAt(sphere.center, new Cesium.HeadingPitchRange(heading, pitch, range));
  probe.lookAtTransform(Cesium.Matrix4.IDENTITY);
  // The centre must project to the free part's centre: in camera space, at depth `range`,
  // that is (ndcX * tanX * range, ndcY * tanY * range); move the camera the other way.
  const ndcX = (area.x - canvas.clientWidth / 2) / (canvas.clientWidth / 2);
  const ndcY = -(area.y - canvas.clientHeight / 2) / (canvas.clientHeight / 2);
  const right = Cesium.Cartesian3.multiplyByScalar(probe.rightWC, -ndcX * tanX * range, new Cesium.Cartesian3());
  const up = Cesium.Cartesian3.multiplyByScalar(probe.upWC, -ndcY * tanY * range, new Cesium.Cartesian3());
  const destination = Cesium.Cartesian3.add(probe.positionWC, right, new Cesium.Cartesian3());
  Cesium.Cartesian3.add(destination, up, destination);
  return {
    destination,
    orientation: { direction: Cesium.Cartesian3.clone(probe.directionWC), up: Cesium.Cartesian3.clone(probe.upWC) },
    range,
  };
}

/** Fly the viewer's camera to frame `sphere` in the free part of the canvas; resolves on arrival. */
export function frameSphere(viewer, sphere, { pitch = -0.55, heading = viewer.camera.heading, duration = 1.2 } = {}) {
  const area = freeArea(viewer.scene.canvas);
  const view = framingView(viewer.scene, sphere, area, { heading, pitch });
  return new Promise((resolve) => {
    viewer.camera.flyTo({
      destination: view.destination,
      orientation: view.orientation,
      duration,
      complete: () => resolve(view),
      cancel: () => resolve(view),
    });
  });
}
