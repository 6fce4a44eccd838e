// Navigation controls: a compass that follows the camera's heading (click: face north) and a
// home button (back to the whole city).

export class NavControls {
  constructor(app, { compass, needle, home }) {
    this.app = app;
    this.needle = needle;
    this.heading = null;
    compass.addEventListener("click", () => this.faceNorth());
    home.addEventListener("click", () => app.home());
  }

  attach(viewer) {
    viewer.scene.postRender.addEventListener(() => this.update());
    this.update();
  }

  update() {
    const camera = this.app.viewer.camera;
    const degrees = Cesium.Math.toDegrees(camera.heading);
    if (this.heading !== null && Math.abs(degrees - this.heading) < 0.1) return;
    this.heading = degrees;
    this.needle.style.transform = `rotate(${-degrees}deg)`;
  }

  /** Turn to face north, keeping the point at the centre of the view where it is. */
  faceNorth() {
    const viewer = this.app.viewer;
    const scene = viewer.scene;
    const camera = viewer.camera;
    const canvas = scene.canvas;
    const centre = new Cesium.Cartesian2(canvas.clientWidth / 2, canvas.clientHeight / 2);
    const ray = camera.getPickRay(centre);
    const target = ray && (scene.globe.pick(ray, scene) || camera.pickEllipsoid(centre));
    if (!target) {
      camera.flyTo({
        destination: camera.positionWC.clone(),
        orientation: { heading: 0, pitch: camera.pitch, roll: 0 },
        duration: 0.6,
      });
      return;
    }
    const range = Cesium.Cartesian3.distance(camera.positionWC, target);
    const sphere = new Cesium.BoundingSphere(target, 1);
    camera.flyToBoundingSphere(sphere, {
      offset: new Cesium.HeadingPitchRange(0, camera.pitch, range),
      duration: 0.6,
    });
  }
}
