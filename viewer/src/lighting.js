// How the city is lit: one fixed light, never the wall clock of the viewer's machine.
//
// Cesium lights a scene by default with the sun at the clock's time, which is the machine's
// time: the same city looks different at 9:00 and at 21:00, and models take a dynamic
// environment map made from the sky at that moment. Here the clock stands still at a fixed
// instant, the light is a DirectionalLight from a fixed azimuth and elevation above the city
// centre, and every tileset (the first and each one a reload brings) is made with the same
// options: no dynamic environment map, the same image-based lighting.
//
// While the tiles are coloured by data the look is flat: an unlit custom shader draws each
// feature in its legend colour, shaded only a little (facing the light 100 %, away from it
// FLAT_SHADE_MIN) so that the shape of a block stays readable and its colour recognisable,
// and without the haze (fog) that tints distant buildings with the sky's colour.

// Where the light comes from, seen from the city centre: south-south-east, 50 degrees up.
export const LIGHT_AZIMUTH_DEG = 155;
export const LIGHT_ELEVATION_DEG = 50;
// The instant the clock stands at (noon in China at an equinox); it only matters to what
// still reads the clock (sky colour, imagery of day and night).
export const FIXED_TIME_ISO = "2024-03-20T04:00:00Z";
// Brightness (of the legend colour) of a face turned away from the light, while colouring.
export const FLAT_SHADE_MIN = 0.85;

const FLAT_SHADER = `
void fragmentMain(FragmentInput fsInput, inout czm_modelMaterial material) {
  // The style colour is the legend's sRGB colour; the unlit stage converts what it gets from
  // linear to sRGB, so the shaded colour is handed over in linear: the swatch's colour comes out.
  vec3 normal = normalize(fsInput.attributes.normalEC);
  float facing = clamp(dot(normal, czm_lightDirectionEC), 0.0, 1.0);
  float shade = mix(${FLAT_SHADE_MIN.toFixed(3)}, 1.0, facing);
  material.diffuse = czm_srgbToLinear(material.diffuse * shade);
}
`;

/** The direction a fixed light travels (Earth-fixed frame) over the point `center`. */
export function fixedLightDirection(center, azimuthDeg = LIGHT_AZIMUTH_DEG, elevationDeg = LIGHT_ELEVATION_DEG) {
  const lon = Number.isFinite(center?.lon) ? center.lon : 0;
  const lat = Number.isFinite(center?.lat) ? center.lat : 0;
  const origin = Cesium.Cartesian3.fromDegrees(lon, lat, 0);
  const frame = Cesium.Transforms.eastNorthUpToFixedFrame(origin);
  const az = Cesium.Math.toRadians(azimuthDeg);
  const el = Cesium.Math.toRadians(elevationDeg);
  // towards the light in east-north-up, then reversed: the way the light goes
  const towardsLight = new Cesium.Cartesian3(Math.sin(az) * Math.cos(el), Math.cos(az) * Math.cos(el), Math.sin(el));
  const rotation = Cesium.Matrix4.getMatrix3(frame, new Cesium.Matrix3());
  const world = Cesium.Matrix3.multiplyByVector(rotation, towardsLight, new Cesium.Cartesian3());
  return Cesium.Cartesian3.normalize(Cesium.Cartesian3.negate(world, world), world);
}

export class Lighting {
  constructor() {
    this.viewer = null;
    this.center = null;
    this.flat = false;
    this.tilesets = new Set();
    this.flatShader = null;
  }

  /** Stop the clock at FIXED_TIME_ISO and light the scene with a fixed light. */
  attachViewer(viewer) {
    this.viewer = viewer;
    const clock = viewer.clock;
    clock.shouldAnimate = false;
    clock.currentTime = Cesium.JulianDate.fromIso8601(FIXED_TIME_ISO);
    clock.startTime = clock.currentTime.clone();
    clock.stopTime = clock.currentTime.clone();
    clock.clockRange = Cesium.ClockRange.CLAMPED;
    viewer.scene.globe.enableLighting = false;
    viewer.shadows = false;
    this.placeLight();
  }

  /** Aim the light for the city at `center` ({lon, lat}): the same light over the whole city. */
  placeAt(center) {
    this.center = center && Number.isFinite(center.lon) && Number.isFinite(center.lat) ? { lon: center.lon, lat: center.lat } : null;
    this.placeLight();
  }

  placeLight() {
    if (!this.viewer) return;
    this.viewer.scene.light = new Cesium.DirectionalLight({ direction: fixedLightDirection(this.center), intensity: 2.0 });
    this.viewer.scene.requestRender();
  }

  /** Options every tileset is opened with (no environment map read from the sky of the moment). */
  tilesetOptions() {
    return { environmentMapOptions: { enabled: false } };
  }

  /** Light a tileset as the others: shadows off, the flat look while colouring. */
  attachTileset(tileset) {
    for (const old of this.tilesets) if (old.isDestroyed()) this.tilesets.delete(old);
    this.tilesets.add(tileset);
    tileset.shadows = Cesium.ShadowMode.DISABLED;
    this.applyTo(tileset);
  }

  /** Draw the tiles flat (legend colours) or with the fixed light's shading. */
  setFlat(flat) {
    this.flat = Boolean(flat);
    // Haze (fog) on the buildings would tint the legend's colours with the sky's.
    if (this.viewer) this.viewer.scene.fog.renderable = !this.flat;
    for (const tileset of this.tilesets) if (!tileset.isDestroyed()) this.applyTo(tileset);
    this.viewer?.scene.requestRender();
  }

  applyTo(tileset) {
    if (this.flat && !this.flatShader) {
      this.flatShader = new Cesium.CustomShader({
        lightingModel: Cesium.LightingModel.UNLIT,
        fragmentShaderText: FLAT_SHADER,
      });
    }
    tileset.customShader = this.flat ? this.flatShader : undefined;
  }

  /** What tests read: the light's direction and the clock's time. */
  state() {
    const scene = this.viewer?.scene;
    const direction = scene?.light?.direction;
    return {
      flat: this.flat,
      lightIsSun: scene ? scene.light instanceof Cesium.SunLight : null,
      direction: direction ? [direction.x, direction.y, direction.z] : null,
      time: this.viewer ? Cesium.JulianDate.toIso8601(this.viewer.clock.currentTime, 0) : null,
      shouldAnimate: this.viewer ? this.viewer.clock.shouldAnimate : null,
    };
  }
}
