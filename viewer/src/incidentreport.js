// The 'report incident' form (for users with the `report` action): the place clicked on the
// map or the selected city object, the category, a title, a description and photos, sent as
// POST /api/incidents (multipart); the new incident opens in the panel.

import { el } from "./api.js";
import { postForm } from "./incidentapi.js";
import { PhotoInput } from "./incidentphotos.js";
import { t } from "./i18n.js";

export class ReportForm {
  constructor(layer, panel) {
    this.layer = layer;
    this.panel = panel;
    this.place = null; // {lon, lat, cityObject, name}
    this.picking = false;
    this.marker = null; // the picked point on the map
    this.ui = null;
  }

  get app() {
    return this.layer.app;
  }

  stop() {
    this.picking = false;
    this.place = null;
    if (this.marker) this.layer.source?.entities.remove(this.marker);
    this.marker = null;
    this.app.viewer?.scene.requestRender();
  }

  render() {
    this.stop();
    const category = el("select", { name: "category", id: "report-category" });
    for (const [code] of this.layer.codes.categories) category.append(el("option", { value: code }, this.layer.categoryName(code)));
    const title = el("input", { name: "title", id: "report-title", required: true, autocomplete: "off" });
    const description = el("textarea", { name: "description", id: "report-description", rows: 3 });
    const photos = new PhotoInput(this.layer.codes.maxPhotoMb);
    const placeText = el("span", { id: "report-place", className: "report-place" }, "—");
    const pick = el("button", { type: "button", className: "btn small", id: "report-pick" }, t("incident.report.pick"));
    const useObject = el("button", { type: "button", className: "btn small", id: "report-object" },
      t("incident.report.useObject"));
    const message = el("p", { className: "incident-message", id: "report-message", role: "alert", hidden: true });
    const submit = el("button", { type: "submit", className: "btn primary small", id: "report-submit" }, t("incident.submit"));
    const form = el("form", { className: "incident-form report-form", id: "incident-report-form", noValidate: true },
      el("div", { className: "field" }, el("span", null, t("incident.report.place")), placeText, el("div", { className: "row" }, pick, useObject)),
      el("label", { className: "field" }, el("span", null, t("incident.field.category")), category),
      el("label", { className: "field" }, el("span", null, t("incident.report.title.field")), title),
      el("label", { className: "field" }, el("span", null, t("incident.report.description")), description),
      photos.node, message, el("div", { className: "row" }, submit));
    this.ui = { placeText, message, pick };
    pick.addEventListener("click", () => {
      this.picking = true;
      pick.classList.add("active");
      placeText.textContent = t("incident.report.picking");
    });
    useObject.addEventListener("click", () => {
      const object = this.app.selected;
      if (!object?.position) {
        placeText.textContent = t("incident.report.noPlace");
        return;
      }
      this.setPlace({ lon: object.position.lon, lat: object.position.lat, cityObject: object.id, name: object.name || object.id });
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const say = (text) => {
        message.hidden = false;
        message.dataset.kind = "error";
        message.textContent = text;
      };
      if (!this.place) return say(t("incident.report.noPlace"));
      if (!title.value.trim()) return say(t("incident.report.needTitle"));
      const problems = PhotoInput.problems(photos.files, this.layer.codes.maxPhotoMb);
      if (problems.length) return say(problems.join(" "));
      const body = new FormData();
      body.append("category", category.value);
      body.append("title", title.value.trim());
      body.append("description", description.value.trim());
      body.append("lon", String(this.place.lon));
      body.append("lat", String(this.place.lat));
      if (this.place.cityObject) body.append("city_object", this.place.cityObject);
      for (const photo of photos.files) body.append("photos", photo, photo.name);
      submit.disabled = true;
      let created;
      try {
        created = await postForm("/api/incidents", body);
      } catch (err) {
        submit.disabled = false;
        return say(t("incident.refused", { status: err.status ?? "—", reason: err.reason || err.message }));
      }
      this.stop();
      this.layer.put(created);
      this.layer.list.flash(String(created.id));
      this.layer.changed();
      await this.panel.open(String(created.id), { kind: "info", text: t("incident.report.sent", { id: created.id }) });
    });
    return form;
  }

  setPlace(place) {
    this.place = place;
    this.picking = false;
    this.ui?.pick.classList.remove("active");
    if (this.ui) {
      const where = `${place.lon.toFixed(6)}, ${place.lat.toFixed(6)}`;
      this.ui.placeText.textContent = place.name ? `${place.name} (${where})` : where;
    }
    const position = Cesium.Cartesian3.fromDegrees(place.lon, place.lat, this.layer.groundHeight());
    if (!this.marker) {
      this.marker = this.layer.source.entities.add({
        id: "incident-report-place",
        position,
        point: { pixelSize: 14, color: Cesium.Color.fromCssColorString("#ffd84d"), outlineColor: Cesium.Color.BLACK, outlineWidth: 2, disableDepthTestDistance: Number.POSITIVE_INFINITY },
      });
    } else {
      this.marker.position = position;
    }
    this.app.viewer?.scene.requestRender();
  }

  /** A map click while picking: the place under it (on the buildings or the ground). */
  mapClick(position) {
    if (!this.picking) return false;
    const scene = this.app.viewer.scene;
    let cartesian = null;
    if (scene.pickPositionSupported) {
      try {
        cartesian = scene.pickPosition(position);
      } catch {
        cartesian = null;
      }
    }
    if (!cartesian) {
      const ray = scene.camera.getPickRay(position);
      cartesian = (ray && scene.globe.pick(ray, scene)) || scene.camera.pickEllipsoid(position);
    }
    if (!cartesian) return true;
    const carto = Cesium.Cartographic.fromCartesian(cartesian);
    this.setPlace({ lon: Cesium.Math.toDegrees(carto.longitude), lat: Cesium.Math.toDegrees(carto.latitude), cityObject: null, name: null });
    return true;
  }
}
