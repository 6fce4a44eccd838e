// The sunlight model's view: a date and a true-solar-time slider that move Cesium's sun over
// the city, with shadows drawn, and the proposed footprint as an extruded block that casts
// its own. While on, the clock stands at the chosen instant and the scene's light is a
// SunLight; leaving gives the theme's fixed light, still clock and no shadows back
// (lighting.js).

import { el } from "./api.js";
import { t } from "./i18n.js";
import "./simstrings.js";

const DAY_MINUTES = 24 * 60;
const PROPOSED_COLOR = "#f97316";
const FIRST_MINUTE = 6 * 60;
const LAST_MINUTE = 18 * 60;

/** The equation of time (minutes, true minus mean solar time) on day `dayOfYear` (1..366). */
export function equationOfTime(dayOfYear) {
  const b = ((2 * Math.PI) / 365) * (dayOfYear - 81);
  return 9.87 * Math.sin(2 * b) - 7.53 * Math.cos(b) - 1.5 * Math.sin(b);
}

/** The UTC instant (a Date) when true solar time at longitude `lon` reads `minutes` on `isoDate`. */
export function solarToUtc(isoDate, minutes, lon) {
  const midnight = new Date(`${isoDate}T00:00:00Z`);
  const start = Date.UTC(midnight.getUTCFullYear(), 0, 1);
  const dayOfYear = Math.floor((midnight.getTime() - start) / 86400000) + 1;
  const utcMinutes = minutes - 4 * lon - equationOfTime(dayOfYear);
  return new Date(midnight.getTime() + utcMinutes * 60000);
}

/** The Major Cold day (大寒, about 20 January) of `year`, as YYYY-MM-DD. */
export function majorColdDay(year) {
  return `${year}-01-20`;
}

function hhmm(minutes) {
  const m = Math.round(minutes) % DAY_MINUTES;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

export class SunView {
  /** `onMove(date)`: the sun moved to the UTC instant `date` (the slider or the date). */
  constructor(app, root, onMove = () => {}) {
    this.app = app;
    this.root = root;
    this.onMove = onMove;
    this.active = false;
    this.date = majorColdDay(new Date().getUTCFullYear());
    this.minutes = 12 * 60;
    this.proposed = null; // the extruded entity
    this.formDay = null; // the day the form last named
    this.build();
  }

  build() {
    this.toggle = el("input", { type: "checkbox" });
    this.dateInput = el("input", { type: "date", value: this.date });
    this.slider = el("input", { type: "range", min: String(FIRST_MINUTE), max: String(LAST_MINUTE), step: "1", value: String(this.minutes) });
    this.clockText = el("b", { className: "sim-sun-time" }, hhmm(this.minutes));
    this.toggle.addEventListener("change", () => (this.toggle.checked ? this.enter() : this.leave()));
    this.dateInput.addEventListener("change", () => this.moved(this.dateInput.value, this.minutes));
    this.slider.addEventListener("input", () => this.moved(this.date, Number(this.slider.value)));
    this.title = el("h4", null);
    this.toggleText = el("span", null);
    this.dateText = el("span", null);
    this.timeText = el("span", null);
    this.root.replaceChildren(
      this.title,
      el("label", { className: "check" }, this.toggle, " ", this.toggleText),
      el("label", { className: "field" }, this.dateText, this.dateInput),
      el("label", { className: "field" }, el("span", null, this.timeText, " ", this.clockText), this.slider),
    );
    this.translate();
  }

  translate() {
    this.title.textContent = t("sim.sun");
    this.toggleText.textContent = t("sim.sunShow");
    this.dateText.textContent = t("sim.sunDate");
    this.timeText.textContent = t("sim.sunTime");
  }

  /** Show or hide the controls (the sunlight model is chosen or not); hidden leaves sun mode. */
  setVisible(visible) {
    this.root.hidden = !visible;
    if (visible) return;
    this.leave();
    this.showProposed(null, null);
  }

  /** Light the scene by the sun at the chosen instant, with shadows. */
  enter() {
    const viewer = this.app.viewer;
    if (!viewer) return;
    this.active = true;
    this.toggle.checked = true;
    viewer.scene.light = new Cesium.SunLight();
    viewer.shadows = true;
    viewer.shadowMap.softShadows = false;
    viewer.shadowMap.maximumDistance = 3000;
    for (const tileset of this.tilesets()) tileset.shadows = Cesium.ShadowMode.ENABLED;
    this.setInstant(this.date, this.minutes);
  }

  /** Back to the theme's fixed light and still clock, no shadows. */
  leave() {
    const viewer = this.app.viewer;
    this.toggle.checked = false;
    if (!this.active || !viewer) return;
    this.active = false;
    this.app.theme.lighting.attachViewer(viewer); // fixed light, fixed time, shadows off
    for (const tileset of this.tilesets()) tileset.shadows = Cesium.ShadowMode.DISABLED;
    viewer.scene.requestRender();
  }

  tilesets() {
    const set = [...(this.app.theme.lighting.tilesets || [])].filter((ts) => !ts.isDestroyed());
    if (this.app.tileset && !set.includes(this.app.tileset)) set.push(this.app.tileset);
    return set;
  }

  /** The user moved the sun: show it, and tell the form. */
  moved(isoDate, minutes) {
    this.setInstant(isoDate, minutes);
    this.onMove(this.instant());
  }

  /** The UTC instant (a Date) shown: the chosen solar time on the chosen day. */
  instant() {
    return solarToUtc(this.date, this.minutes, Number(this.app.city?.center?.lon) || 0);
  }

  /** Move the sun to `minutes` of true solar time on `isoDate` at the city's longitude. */
  setInstant(isoDate, minutes) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(isoDate || "")) this.date = isoDate;
    this.minutes = Math.max(0, Math.min(DAY_MINUTES - 1, Number(minutes)));
    this.dateInput.value = this.date;
    this.slider.value = String(this.minutes);
    this.clockText.textContent = hhmm(this.minutes);
    const viewer = this.app.viewer;
    if (!this.active || !viewer) return;
    viewer.clock.currentTime = Cesium.JulianDate.fromDate(this.instant());
    viewer.scene.requestRender();
  }

  /** Follow the form: its date (or the reference day chosen), its proposed footprint and height. */
  follow(values) {
    const year = Number.isInteger(values.year) ? values.year : new Date().getUTCFullYear();
    const date = Object.entries(values).find(([k, v]) => /date|day/.test(k) && /^\d{4}-\d{2}-\d{2}/.test(String(v)));
    let day = majorColdDay(year);
    if (date) day = String(date[1]).slice(0, 10);
    else if (Object.values(values).some((v) => /solstice/i.test(String(v)))) day = `${year}-12-22`;
    // only a change of the form's day moves the sun's date (not one chosen here)
    if (day !== this.formDay) {
      this.formDay = day;
      this.setInstant(day, this.minutes);
    }
    const footprint = Object.entries(values).find(([k]) => /footprint|polygon/.test(k));
    const height = Object.entries(values).find(([k, v]) => /height/.test(k) && !/sill/.test(k) && Number.isFinite(v));
    this.showProposed(footprint ? footprint[1] : null, height ? height[1] : null);
  }

  /** The proposed building: `ring` [[lon, lat], ...] (or a GeoJSON Polygon) raised `height` m. */
  showProposed(ring, height) {
    const viewer = this.app.viewer;
    if (!viewer) return;
    if (this.proposed) viewer.entities.remove(this.proposed);
    this.proposed = null;
    const coords = ring && ring.type === "Polygon" ? ring.coordinates[0] : ring;
    if (!Array.isArray(coords) || coords.length < 3 || !(height > 0)) return;
    this.proposed = viewer.entities.add({
      name: t("sim.proposed"),
      polygon: {
        hierarchy: Cesium.Cartesian3.fromDegreesArray(coords.flatMap((p) => [Number(p[0]), Number(p[1])])),
        height: 0,
        heightReference: Cesium.HeightReference.RELATIVE_TO_GROUND,
        extrudedHeight: height,
        extrudedHeightReference: Cesium.HeightReference.RELATIVE_TO_GROUND,
        material: Cesium.Color.fromCssColorString(PROPOSED_COLOR).withAlpha(0.85),
        shadows: Cesium.ShadowMode.ENABLED,
      },
    });
    viewer.scene.requestRender();
  }

  /** What tests read. */
  state() {
    const viewer = this.app.viewer;
    return {
      active: this.active,
      date: this.date,
      solarTime: hhmm(this.minutes),
      time: viewer ? Cesium.JulianDate.toIso8601(viewer.clock.currentTime, 0) : null,
      lightIsSun: viewer ? viewer.scene.light instanceof Cesium.SunLight : null,
      shadows: viewer ? viewer.shadows : null,
      proposed: Boolean(this.proposed),
    };
  }
}
