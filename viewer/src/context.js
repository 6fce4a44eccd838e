// What surrounds the city while it loads and while one looks into it: the ground and sky
// drawn before any imagery arrives (no blocks floating on black), the status a planner reads
// ("ready", not a tile counter: that is for the debug view), and the debug view itself.
//
// The debug view is on with `?debug` in the page's address (or `cimtwin.context.setDebug`).

import "./contextstrings.js";

// The globe before imagery: a muted ground, not Cesium's blue; under a daylight sky.
const GROUND_CSS = "#8c8f84";
const SKY_CSS = "#b9cde0";

export class ViewContext {
  /** `onDebugChange`: called after the debug view is turned on or off (to redo the status). */
  constructor(app, { onDebugChange } = {}) {
    this.app = app;
    this.onDebugChange = onDebugChange || (() => {});
    const asked = new URLSearchParams(location.search).get("debug");
    this.debug = asked !== null && asked !== "0" && asked !== "false";
    document.body.classList.toggle("debug", this.debug);
  }

  setDebug(on) {
    this.debug = Boolean(on);
    document.body.classList.toggle("debug", this.debug);
    this.onDebugChange(this.debug);
  }

  /** The status keys to show: a tile count in the debug view only. */
  statusKey(kind) {
    if (kind === "ready") return this.debug ? "status.ready" : "context.ready";
    return this.debug ? "status.tilesLoading" : "context.loading";
  }

  /**
   * Draw the ground from the first frame: the globe in a ground colour until imagery covers
   * it, drawn before any imagery has arrived, and a sky-coloured background (not black)
   * wherever nothing is drawn.
   */
  groundFirst(viewer) {
    const scene = viewer.scene;
    scene.globe.baseColor = Cesium.Color.fromCssColorString(GROUND_CSS);
    scene.backgroundColor = Cesium.Color.fromCssColorString(SKY_CSS);
    scene.requestRender();
    // A base layer that is not ready keeps Cesium from drawing the globe at all (only the
    // stars show under the blocks): add the bundled base map once it has arrived, under
    // whatever imagery the city added meanwhile, with the layer tree's visibility.
    this.baseMap = Cesium.TileMapServiceImageryProvider.fromUrl(Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII"))
      .then((provider) => {
        if (viewer.isDestroyed()) return null;
        const layer = viewer.imageryLayers.addImageryProvider(provider, 0);
        this.app.layers?.applyGlobe();
        return layer;
      })
      .catch((err) => {
        console.error("cimtwin: the bundled base map did not load", err);
        return null;
      });
  }
}
