// CIMTwin viewer: guided placement of an IFC upload, before anything is imported.
//
// The chosen file goes to POST /api/imports/preview, which answers its georeference (null:
// the model needs a place), unit, bounds and a GLB of the model in its own frame. A click on
// the map picks the place: GET /api/terrain/height gives the point in the city CRS and the
// terrain height there (the default height), POST /api/imports/placement checks it (warnings:
// below the terrain, far from the city, outside the terrain) and gives grid north. The GLB is
// drawn there, turned by the rotation, with a model matrix: east-north-up at the origin, turned
// by (rotation - grid north), which is what the import does to the stored model. The upload
// then carries origin "E,N,H" and rotation.
//
// For automated tests (window.cimtwin.placement): state {file, preview, placement, picking,
// modelReady, acknowledged}, placeAt(lon, lat), setRotation(deg), setHeight(m), modelCenter().

import { authHeaders } from "./auth.js";
import { el, getJson, postJson } from "./api.js";
import { onLanguageChange, t } from "./i18n.js";
import "./placementstrings.js";

const CHECK_DELAY_MS = 250;

export class Placement {
  /**
   * @param {object} app window.cimtwin
   * @param {object} ui the dialog and the placement panel's elements
   */
  constructor(app, ui) {
    this.app = app;
    this.ui = ui;
    this.state = { file: null, preview: null, placement: null, picking: false, modelReady: false, acknowledged: false };
    this.model = null;
    this.modelUrl = null;
    this.loading = 0; // the latest preview request
    this.request = 0; // the latest placement check
    this.timer = null;
    this.handler = null;
    ui.pick.addEventListener("click", () => this.pick());
    ui.rotation.addEventListener("input", () => this.setRotation(Number(ui.rotation.value), ui.rotation));
    ui.rotationRange.addEventListener("input", () => this.setRotation(Number(ui.rotationRange.value), ui.rotationRange));
    ui.height.addEventListener("input", () => this.setHeight(Number(ui.height.value), true));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.state.picking) this.stopPicking(true);
    });
    onLanguageChange(() => this.render());
  }

  // ---------------------------------------------------------------- the file's preview

  /** Preview `file` (null: forget the preview). */
  async load(file) {
    this.clear();
    this.state.file = file || null;
    if (!file) return this.render();
    const request = ++this.loading;
    this.setNote(t("place.reading"));
    this.ui.panel.hidden = false;
    const form = new FormData();
    form.append("file", file, file.name);
    let preview;
    try {
      // the server would refuse it too; no request (and no failed request logged) for that
      const head = await file.slice(0, 256).text();
      if (!/^[\ufeff\s]*ISO-10303-21;/.test(head)) throw new Error(t("place.notStep", { file: file.name }));
      const response = await fetch("/api/imports/preview", {
        method: "POST",
        body: form,
        headers: { Accept: "application/json", ...authHeaders() },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(typeof body.detail === "string" ? body.detail : `${response.status}`);
      preview = body;
    } catch (err) {
      if (request === this.loading) this.setNote(t("place.readFailed", { error: err.message || err }), true);
      return;
    }
    if (request !== this.loading) return;
    const glb = Uint8Array.from(atob(preview.glb || ""), (c) => c.charCodeAt(0));
    delete preview.glb;
    this.state.preview = preview;
    this.modelUrl = glb.length ? URL.createObjectURL(new Blob([glb], { type: "model/gltf-binary" })) : null;
    this.render();
    if (this.state.placement) await this.showModel();
  }

  /** Whether the upload lacks the place the model needs. */
  needsPlace() {
    const preview = this.state.preview;
    return Boolean(preview && !preview.georeference && !this.state.placement);
  }

  /** Whether the placement has warnings the user has not seen twice (one upload refused). */
  needsAcknowledgement() {
    const warnings = this.state.placement?.warnings || [];
    if (!warnings.length || this.state.acknowledged) return false;
    this.state.acknowledged = true;
    this.ui.warnings.classList.add("flagged");
    return true;
  }

  /** The origin field's "E,N,H" and the rotation of the current placement (null: none). */
  upload() {
    const placed = this.state.placement;
    if (!placed) return null;
    const [x, y, h] = placed.origin;
    return { origin: `${x.toFixed(3)},${y.toFixed(3)},${h.toFixed(3)}`, rotation: placed.rotation_deg };
  }

  // ---------------------------------------------------------------- picking the place

  /** Close the dialog and wait for a click on the map. */
  pick() {
    const viewer = this.app.viewer;
    if (!viewer || this.state.picking) return;
    this.state.picking = true;
    this.ui.dialog.close();
    this.ui.banner.hidden = false;
    this.handler = new Cesium.ScreenSpaceEventHandler(viewer.scene.canvas);
    this.handler.setInputAction((click) => {
      const where = this.groundAt(click.position);
      this.stopPicking(false);
      if (where) this.placeAt(where.lon, where.lat);
    }, Cesium.ScreenSpaceEventType.LEFT_CLICK);
  }

  stopPicking(cancelled) {
    this.state.picking = false;
    this.ui.banner.hidden = true;
    if (this.handler) this.handler.destroy();
    this.handler = null;
    if (cancelled) this.reopen();
  }

  /** Longitude/latitude of the ground under a screen position (terrain, else ellipsoid). */
  groundAt(position) {
    const viewer = this.app.viewer;
    const ray = viewer.camera.getPickRay(position);
    const point = (ray && viewer.scene.globe.pick(ray, viewer.scene)) || viewer.camera.pickEllipsoid(position);
    if (!point) return null;
    const carto = Cesium.Cartographic.fromCartesian(point);
    return { lon: Cesium.Math.toDegrees(carto.longitude), lat: Cesium.Math.toDegrees(carto.latitude) };
  }

  /** Put the model's origin at lon/lat, at the terrain's height there. */
  async placeAt(lon, lat) {
    this.reopen();
    let ground;
    try {
      ground = await getJson(`/api/terrain/height?lon=${lon}&lat=${lat}`);
    } catch (err) {
      this.setNote(t("place.checkFailed", { error: err.message || err }), true);
      return;
    }
    const rotation = this.state.placement ? this.state.placement.rotation_deg : Number(this.ui.rotation.value) || 0;
    await this.check([ground.x, ground.y], rotation);
  }

  setRotation(degrees, from) {
    if (!Number.isFinite(degrees) || !this.state.placement) return;
    for (const input of [this.ui.rotation, this.ui.rotationRange]) if (input !== from) input.value = String(degrees);
    this.state.placement = { ...this.state.placement, rotation_deg: ((degrees % 360) + 360) % 360 };
    this.state.acknowledged = false;
    this.showModel();
    this.recheck();
  }

  setHeight(metres, typed = false) {
    if (!Number.isFinite(metres) || !this.state.placement) return;
    if (!typed) this.ui.height.value = String(metres);
    const [x, y] = this.state.placement.origin;
    this.state.placement = { ...this.state.placement, origin: [x, y, metres] };
    this.state.acknowledged = false;
    this.showModel();
    this.recheck();
  }

  recheck() {
    clearTimeout(this.timer);
    const placed = this.state.placement;
    this.timer = setTimeout(() => this.check(placed.origin, placed.rotation_deg), CHECK_DELAY_MS);
  }

  /** Check the origin (E, N[, H]) with the server and show the result. */
  async check(origin, rotation) {
    const request = ++this.request;
    const bottom = this.state.preview?.base ?? 0;
    let placement;
    try {
      placement = await postJson("/api/imports/placement", { origin, rotation, bottom });
    } catch (err) {
      if (request === this.request) this.setNote(t("place.checkFailed", { error: err.message || err }), true);
      return;
    }
    if (request !== this.request) return;
    const moved = JSON.stringify(placement.origin) !== JSON.stringify(this.state.placement?.origin);
    this.state.placement = placement;
    if (moved) this.state.acknowledged = false;
    if (this.ui.onPlaced) this.ui.onPlaced(placement);
    this.ui.height.value = placement.origin[2].toFixed(2);
    this.ui.rotation.value = this.ui.rotationRange.value = String(Math.round(placement.rotation_deg * 10) / 10);
    this.render();
    await this.showModel();
  }

  // ---------------------------------------------------------------- the preview model

  modelMatrix() {
    const placed = this.state.placement;
    const [lon, lat, height] = [placed.lon, placed.lat, placed.origin[2]];
    const enu = Cesium.Transforms.eastNorthUpToFixedFrame(Cesium.Cartesian3.fromDegrees(lon, lat, height));
    const angle = Cesium.Math.toRadians(placed.rotation_deg - (placed.grid_north_deg || 0));
    const turn = Cesium.Matrix4.fromRotationTranslation(Cesium.Matrix3.fromRotationZ(angle));
    return Cesium.Matrix4.multiply(enu, turn, new Cesium.Matrix4());
  }

  async showModel() {
    const viewer = this.app.viewer;
    if (!viewer || !this.modelUrl || !this.state.placement) return;
    if (this.model) {
      this.model.modelMatrix = this.modelMatrix();
      viewer.scene.requestRender();
      return;
    }
    const url = this.modelUrl;
    const model = await Cesium.Model.fromGltfAsync({
      url,
      modelMatrix: this.modelMatrix(),
      upAxis: Cesium.Axis.Z,
      forwardAxis: Cesium.Axis.X,
      color: Cesium.Color.fromCssColorString("#ffb300"),
      colorBlendMode: Cesium.ColorBlendMode.MIX,
      colorBlendAmount: 0.35,
    });
    if (url !== this.modelUrl || this.model) return model.destroy();
    this.model = model;
    model.modelMatrix = this.modelMatrix();
    viewer.scene.primitives.add(model);
    model.readyEvent.addEventListener(() => {
      this.state.modelReady = true;
      viewer.scene.requestRender();
    });
    viewer.scene.requestRender();
  }

  /** The preview model's bounding sphere centre as lon/lat/height (null: not drawn). */
  modelCenter() {
    if (!this.model || !this.state.modelReady) return null;
    const carto = Cesium.Cartographic.fromCartesian(this.model.boundingSphere.center);
    return { lon: Cesium.Math.toDegrees(carto.longitude), lat: Cesium.Math.toDegrees(carto.latitude), height: carto.height, radius: this.model.boundingSphere.radius };
  }

  /** Forget the preview and its model. */
  clear() {
    this.request += 1;
    this.loading += 1;
    clearTimeout(this.timer);
    if (this.state.picking) this.stopPicking(false);
    if (this.model && this.app.viewer) this.app.viewer.scene.primitives.remove(this.model);
    if (this.modelUrl) URL.revokeObjectURL(this.modelUrl);
    this.model = this.modelUrl = null;
    this.state = { file: null, preview: null, placement: null, picking: false, modelReady: false, acknowledged: false };
    this.ui.warnings.classList.remove("flagged");
    if (this.app.viewer) this.app.viewer.scene.requestRender();
    this.render();
  }

  /** Fly to where a report's model lies: the placement, else its georeference's origin. */
  async flyTo(report) {
    const viewer = this.app.viewer;
    if (!viewer) return;
    let where = this.state.placement;
    const geo = report?.georeference;
    if (geo && geo.origin && (!where || geo.method !== "user origin")) {
      if (geo.crs === "EPSG:4979") where = { lon: geo.origin[0], lat: geo.origin[1], origin: geo.origin };
      else {
        try {
          where = await postJson("/api/imports/placement", { origin: geo.origin, crs: geo.crs });
        } catch {
          return;
        }
      }
    }
    if (!where) return;
    const bounds = this.state.preview?.bounds;
    const radius = bounds ? Math.max(10, Math.hypot(...bounds[1].map((v, i) => v - bounds[0][i])) / 2) : 30;
    const centre = Cesium.Cartesian3.fromDegrees(where.lon, where.lat, where.origin[2] + radius / 3);
    await new Promise((resolve) => {
      viewer.camera.flyToBoundingSphere(new Cesium.BoundingSphere(centre, radius), {
        offset: new Cesium.HeadingPitchRange(viewer.camera.heading, -0.6, radius * 3.2),
        duration: 1.2,
        complete: resolve,
        cancel: resolve,
      });
    });
    viewer.scene.requestRender();
  }

  // ---------------------------------------------------------------- the panel

  reopen() {
    const dialog = this.ui.dialog;
    dialog.classList.add("docked");
    if (!dialog.open) dialog.show();
  }

  setNote(text, isError = false) {
    this.ui.note.textContent = text;
    this.ui.note.classList.toggle("error", isError);
  }

  render() {
    const { ui, state } = this;
    const preview = state.preview;
    ui.panel.hidden = !state.file;
    if (!preview) return;
    const geo = preview.georeference;
    this.setNote(geo ? t("place.found", { method: methodName(geo.method), crs: geo.crs }) : t("place.needed"));
    ui.panel.dataset.needs = geo ? "no" : "yes";
    const placed = state.placement;
    ui.pick.textContent = placed ? t("place.pickAgain") : t("place.pick");
    ui.adjust.hidden = !placed;
    ui.shown.hidden = !placed;
    ui.where.replaceChildren();
    ui.warnings.replaceChildren();
    ui.warnings.hidden = true;
    if (!placed) return;
    const [x, y, h] = placed.origin;
    ui.where.append(
      el("dt", null, t("place.origin")),
      el("dd", { className: "origin" }, `E ${x.toFixed(2)} · N ${y.toFixed(2)} · H ${h.toFixed(2)} (${placed.crs})`),
      el("dt", null, t("place.lonlat")),
      el("dd", null, `${placed.lon.toFixed(6)}, ${placed.lat.toFixed(6)} · ${
        placed.terrain_height === null ? t("place.noTerrain") : t("place.terrainHeight", { height: placed.terrain_height.toFixed(2) })}`),
    );
    for (const warning of placed.warnings) {
      ui.warnings.append(el("li", { dataset: { code: warning.code } }, t(`place.warn.${warning.code}`, warning.params)));
    }
    ui.warnings.hidden = !placed.warnings.length;
    ui.origin.value = this.upload().origin;
  }
}

/** A georeference method's name in the current language (the method itself if unknown). */
export function methodName(method) {
  const key = `method.${method}`;
  const name = t(key);
  return name === key ? method : name;
}

/** A unit name (MILLIMETRE) in the current language. */
export function unitName(unit) {
  const key = `unit.${unit}`;
  const name = t(key);
  return name === key ? unit : name;
}
