// The selection drawn as an outline (a silhouette post-process stage) rather than a fill:
// while the tiles are coloured by data the selected features keep their class colour, and no
// legend colour can be taken for the selection.

// Not in the ramp nor the categorical palette of style.js (blues, greens, oranges, reds, pinks,
// a yellow): a pure cyan, drawn as a line.
export const OUTLINE_CSS = "#00f0ff";

export class SelectionOutline {
  constructor() {
    this.scene = null;
    this.edge = null;
    this.stage = null;
    this.features = [];
  }

  /** Add the (disabled) silhouette stage to `scene`. */
  attach(scene) {
    this.scene = scene;
    const edge = Cesium.PostProcessStageLibrary.createEdgeDetectionStage();
    edge.uniforms.color = Cesium.Color.fromCssColorString(OUTLINE_CSS);
    edge.uniforms.length = 0.01;
    edge.selected = [];
    this.edge = edge;
    this.stage = scene.postProcessStages.add(Cesium.PostProcessStageLibrary.createSilhouetteStage([edge]));
    this.stage.enabled = false;
  }

  /** Outline these Cesium3DTileFeatures (none: the stage is off and costs nothing). */
  setFeatures(features) {
    this.features = features;
    if (!this.edge) return;
    this.edge.selected = features;
    this.stage.enabled = features.length > 0;
    this.scene.requestRender();
  }

  get enabled() {
    return Boolean(this.stage && this.stage.enabled);
  }
}
