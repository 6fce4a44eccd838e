// Live sensors: a marker per datastream at its place, coloured by its latest level; the
// buildings coloured by the worst level of their sensors (through the tiles' per-feature
// style); a panel with a sensor's latest value and a zoomable chart of its series; updates
// without reloading through server-sent events.
//
// API: GET /api/sensors/state (sensors and the worst level per building), GET
// /api/datastreams/{id}/series?start=&end= (the server picks raw values or a resolution that
// keeps the answer small), GET /api/objects/{id}/state (the sensors in an object), POST
// /api/sensors/stream/ticket then GET /api/sensors/stream?ticket= (EventSource sends no
// Authorization header: a one-use ticket opens the stream; a new one after each loss, with
// &lastEventId= the id of the last event received, so that the server sends what happened
// meanwhile first, or a "reset" event when it no longer knows: then the state is read again).

import { el, formatValue, getJson, postJson } from "./api.js";
import { onSignedOut, onTokens } from "./auth.js";
import { getLanguage, onLanguageChange, t } from "./i18n.js";
import { SeriesChart } from "./sensorchart.js";

export const LEVELS = ["unknown", "normal", "stale", "warning", "alarm"]; // worst last
export const LEVEL_CSS = {
  normal: "#2fb351",
  warning: "#f5a623",
  alarm: "#e5322d",
  stale: "#8b939c",
  unknown: "#ffffff",
};
const OUTLINE_CSS = "#15191e";
// The whole state is read again this often: levels turn stale without any event.
const RELOAD_MS = 60_000;
const MAX_RETRY_MS = 30_000;

function worst(levels) {
  return levels.reduce((a, b) => (LEVELS.indexOf(b) > LEVELS.indexOf(a) ? b : a), "unknown");
}

export class SensorLayer {
  constructor(app, ui) {
    this.app = app;
    this.ui = ui; // {panel, title, body, close}
    this.sensors = new Map(); // datastream id -> state (as /api/sensors/state gives it)
    this.buildings = new Map(); // building id -> worst level
    this.layer = { visible: true, opacity: 1 };
    this.entities = new Map(); // datastream id -> Cesium.Entity
    this.source = null; // Cesium.CustomDataSource
    this.stream = null; // EventSource
    this.streamState = "closed"; // connecting | open | retrying | closed
    this.started = false;
    this.stopped = false; // the session ended: no stream until the next sign-in
    this.retryMs = 1000;
    this.connections = 0; // streams opened so far
    this.lastEventId = ""; // id of the last event received: where a new stream resumes
    this.loaded = false;
    this.openId = null; // datastream shown in the panel
    this.chart = null;
    this.chartState = null; // {datastream, start, end, resolution, rows, requests}
    this.requestToken = 0;
    this.reloadTimer = null;
    this.events = 0;
    ui.close.addEventListener("click", () => this.close());
    // The stream's ticket stood for the session: it ends with it, and opens again with the
    // next sign-in (a refresh alone leaves an open stream as it is).
    onSignedOut(() => this.stop());
    onTokens(() => {
      if (this.started && this.stopped) {
        this.stopped = false;
        this.connect();
      }
    });
    onLanguageChange(() => {
      if (this.openId !== null) this.renderPanel();
    });
  }

  /** Add the markers' data source to the viewer, read the state, open the stream. */
  async start(viewer) {
    this.source = new Cesium.CustomDataSource("sensors");
    await viewer.dataSources.add(this.source);
    await this.load();
    this.started = true;
    this.connect();
    setInterval(() => {
      if (this.streamState === "open") this.load().catch(() => {});
    }, RELOAD_MS);
  }

  /** Read every sensor's state and the buildings' levels again. */
  async load() {
    const body = await getJson("/api/sensors/state");
    this.sensors = new Map(body.sensors.map((s) => [s.datastream_id, s]));
    this.buildings = new Map(Object.entries(body.buildings || {}));
    for (const [id, entity] of this.entities) {
      if (!this.sensors.has(id)) {
        this.source.entities.remove(entity);
        this.entities.delete(id);
      }
    }
    for (const sensor of this.sensors.values()) this.draw(sensor);
    this.applyStyle();
    this.loaded = true;
    this.app.layers.render();
    if (this.openId !== null && this.sensors.has(this.openId)) this.renderPanel();
    return body;
  }

  reloadSoon() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.load().catch((err) => console.warn("cimtwin: sensors", err.message)), 300);
  }

  // ------------------------------------------------------------ markers

  color(level) {
    const base = Cesium.Color.fromCssColorString(LEVEL_CSS[level] || LEVEL_CSS.unknown);
    return base.withAlpha((level === "unknown" ? 0.15 : 1) * this.layer.opacity);
  }

  draw(sensor) {
    if (!Number.isFinite(sensor.lon) || !Number.isFinite(sensor.lat)) return;
    const level = sensor.level;
    const height = Number.isFinite(sensor.height) ? sensor.height : 0;
    const position = Cesium.Cartesian3.fromDegrees(sensor.lon, sensor.lat, height);
    const outline = Cesium.Color.fromCssColorString(level === "unknown" ? "#ffffff" : OUTLINE_CSS).withAlpha(this.layer.opacity);
    let entity = this.entities.get(sensor.datastream_id);
    if (!entity) {
      entity = this.source.entities.add({
        id: `sensor-${sensor.datastream_id}`,
        position,
        point: {
          pixelSize: 15,
          outlineWidth: 2.5,
          // always drawn over the buildings the sensors sit in
          disableDepthTestDistance: Number.POSITIVE_INFINITY,
          heightReference: Number.isFinite(sensor.height) ? Cesium.HeightReference.NONE : Cesium.HeightReference.CLAMP_TO_GROUND,
        },
      });
      entity.sensorId = sensor.datastream_id;
      this.entities.set(sensor.datastream_id, entity);
    } else {
      entity.position = position;
    }
    entity.point.color = this.color(level);
    entity.point.outlineColor = outline;
    entity.show = this.layer.visible;
    entity.level = level;
  }

  /** The CSS colour a marker is drawn with now (for tests and the legend). */
  markerCss(id) {
    const entity = this.entities.get(Number(id));
    return entity ? LEVEL_CSS[entity.level] : null;
  }

  /** Screen position of a sensor's marker (see window.cimtwin.screenPositionOf). */
  screenPosition(id) {
    const sensor = this.sensors.get(Number(id));
    if (!sensor) return null;
    return this.app.screenPositionOf(sensor.lon, sensor.lat, Number.isFinite(sensor.height) ? sensor.height : 0);
  }

  /** Buildings take their worst level's colour through the tiles' style. */
  applyStyle() {
    const colors = new Map();
    if (this.layer.visible) {
      for (const [id, level] of this.buildings) colors.set(id, LEVEL_CSS[level]);
    }
    this.app.style.setSensorColors(colors.size ? colors : null);
    this.app.viewer?.scene.requestRender();
  }

  setLayer({ visible, opacity }) {
    if (visible !== undefined) this.layer.visible = Boolean(visible);
    if (opacity !== undefined) this.layer.opacity = Math.max(0, Math.min(1, Number(opacity)));
    for (const sensor of this.sensors.values()) this.draw(sensor);
    this.applyStyle();
  }

  // ------------------------------------------------------------ live updates

  /** Open the event stream with a fresh ticket; after a loss, wait and open it again. */
  async connect() {
    if (this.stream) this.stream.close();
    this.stream = null;
    if (this.stopped) return;
    this.streamState = "connecting";
    let ticket;
    try {
      ticket = await postJson("/api/sensors/stream/ticket", {});
    } catch (err) {
      console.warn("cimtwin: no sensor stream ticket", err.message);
      this.retry();
      return;
    }
    if (this.stopped || this.stream) return; // signed out, or another connect won meanwhile
    const resumed = Boolean(this.lastEventId);
    const after = resumed ? `&lastEventId=${encodeURIComponent(this.lastEventId)}` : "";
    const stream = new EventSource(ticket.url + after);
    this.stream = stream;
    const on = (name, handle) =>
      stream.addEventListener(name, (event) => {
        if (event.lastEventId) this.lastEventId = event.lastEventId;
        handle(event);
      });
    on("ready", () => {
      this.streamState = "open";
      this.retryMs = 1000;
      this.connections += 1;
      // what happened while it was down comes first when resumed; else read the state again
      if (this.connections > 1 && !resumed) this.reloadSoon();
    });
    on("reset", () => this.reloadSoon()); // the server no longer knows what was missed
    on("observation", (event) => this.onObservation(JSON.parse(event.data)));
    on("entity", () => this.reloadSoon());
    on("dropped", () => this.reloadSoon());
    stream.addEventListener("end", () => this.connect());
    stream.onerror = () => {
      if (stream !== this.stream) return;
      stream.close();
      this.retry();
    };
  }

  stop() {
    this.stopped = true;
    this.lastEventId = ""; // the next session may see other places: it reads the state anew
    if (this.stream) this.stream.close();
    this.stream = null;
    this.streamState = "closed";
  }

  retry() {
    if (this.stopped) return;
    this.streamState = "retrying";
    const wait = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    setTimeout(() => this.connect(), wait);
  }

  onObservation(data) {
    this.events += 1;
    const id = Number(data["Datastream@iot.id"]);
    const sensor = this.sensors.get(id);
    if (!sensor || !data.level) {
      this.reloadSoon(); // a new datastream, or a level only the server can judge
      return;
    }
    const time = String(data.phenomenonTime || "").split("/")[0] || sensor.time;
    if (sensor.time && Date.parse(time) < Date.parse(sensor.time)) return; // an older value
    Object.assign(sensor, { result: data.result, time, level: data.level });
    this.draw(sensor);
    if (sensor.building) {
      const levels = [...this.sensors.values()].filter((s) => s.building === sensor.building).map((s) => s.level);
      this.buildings.set(sensor.building, worst(levels));
      this.applyStyle();
    }
    this.app.viewer?.scene.requestRender();
    if (id === this.openId) {
      this.renderPanel();
      if (!this.chart?.zoomed) this.loadSeries(null, null, true);
    }
  }

  // ------------------------------------------------------------ picking and the panel

  /** Open the sensor of a picked marker; false when the pick is not a marker. */
  pick(picked) {
    const entity = picked && picked.id;
    if (!(entity instanceof Cesium.Entity) || entity.sensorId === undefined) return false;
    this.open(entity.sensorId);
    return true;
  }

  open(id) {
    id = Number(id);
    if (!this.sensors.has(id)) return false;
    this.app.inspector.clear();
    this.openId = id;
    this.chart = new SeriesChart((start, end) => this.loadSeries(start, end, start === null));
    this.chartState = { datastream: id, start: null, end: null, resolution: null, rows: 0, requests: 0, state: "loading" };
    this.ui.panel.hidden = false;
    this.ui.panel.dataset.datastream = String(id);
    this.ui.panel.dataset.chart = "loading";
    this.renderPanel();
    this.loadSeries(null, null, true);
    return true;
  }

  close() {
    this.openId = null;
    this.chart = null;
    this.chartState = null;
    this.ui.panel.hidden = true;
    delete this.ui.panel.dataset.datastream;
  }

  renderPanel() {
    const sensor = this.sensors.get(this.openId);
    if (!sensor) return;
    const { title, body } = this.ui;
    title.textContent = sensor.name;
    const value = formatValue(sensor.result);
    const badge = el("span", { className: `level level-${sensor.level}`, dataset: { level: sensor.level } }, t(`sensor.level.${sensor.level}`));
    const latest = el("p", { className: "sensor-latest" },
      el("b", { className: "sensor-value" }, value === null ? "—" : value),
      sensor.unit ? el("span", { className: "sensor-unit" }, ` ${sensor.unit}`) : null, " ", badge);
    const rows = [
      [t("sensor.time"), sensor.time ? new Date(sensor.time).toLocaleString(getLanguage()) : "—"],
      [t("sensor.property"), sensor.observed_property],
      [t("sensor.thing"), sensor.thing_name],
    ];
    const list = el("dl");
    for (const [label, text] of rows) list.append(el("dt", null, label), el("dd", null, text ?? "—"));
    if (sensor.city_object) {
      const link = el("button", { type: "button", className: "link", title: sensor.city_object, dataset: { action: "select-object" } },
        sensor.object_name || sensor.city_object);
      link.addEventListener("click", () => this.app.select(sensor.city_object, { fly: true }));
      list.append(el("dt", null, t("sensor.object")), el("dd", null, link));
    }
    const status = el("p", { className: "hint chart-status", id: "sensor-chart-status" }, this.chartText());
    body.replaceChildren(latest, list, el("h3", null, t("sensor.chart")), el("div", { id: "sensor-chart", className: "sensor-chart" }, this.chart.svg), status,
      el("p", { className: "hint" }, t("sensor.chartHint")));
    this.ui.panel.dataset.level = sensor.level;
  }

  chartText() {
    const state = this.chartState;
    if (!state || state.state === "loading") return t("sensor.loading");
    if (state.state === "error") return t("sensor.failed", { error: state.error });
    if (!state.rows) return t("sensor.noData");
    return state.resolution ? t("sensor.resolution", { r: state.resolution, n: state.rows }) : t("sensor.raw", { n: state.rows });
  }

  /** Fetch the open sensor's series in [start, end] (ms; null: all of it) and draw it. */
  async loadSeries(start, end, whole) {
    const id = this.openId;
    if (id === null) return;
    const token = ++this.requestToken;
    const query = start === null ? "" : `?start=${new Date(start).toISOString()}&end=${new Date(end).toISOString()}`;
    this.chartState.requests += 1;
    let series;
    try {
      series = await getJson(`/api/datastreams/${id}/series${query}`);
    } catch (err) {
      if (token !== this.requestToken || id !== this.openId) return;
      Object.assign(this.chartState, { state: "error", error: err.message });
      this.updateStatus();
      return;
    }
    if (token !== this.requestToken || id !== this.openId) return;
    this.chart.show(series, whole);
    Object.assign(this.chartState, {
      state: "loaded",
      start: series.start,
      end: series.end,
      resolution: series.resolution,
      rows: series.resolution ? series.buckets.length : series.points.length,
    });
    this.ui.panel.dataset.chart = "loaded";
    this.updateStatus();
  }

  updateStatus() {
    const status = document.getElementById("sensor-chart-status");
    if (status) status.textContent = this.chartText();
  }

  // ------------------------------------------------------------ an object's sensors

  /** A section listing the sensors in an object and its children (null: none). */
  async sectionFor(objectId) {
    const body = await getJson(`/api/objects/${encodeURIComponent(objectId)}/state`);
    if (!body.sensors.length) return null;
    const list = el("ul", { className: "sensor-list" });
    for (const sensor of body.sensors) {
      const value = formatValue(sensor.result);
      const item = el("button", { type: "button", className: "sensor-item", dataset: { datastream: String(sensor.datastream_id) } },
        el("span", { className: `dot level-${sensor.level}`, title: t(`sensor.level.${sensor.level}`) }),
        el("span", { className: "sensor-name" }, sensor.name),
        el("span", { className: "sensor-reading" }, value === null ? "—" : `${value}${sensor.unit ? " " + sensor.unit : ""}`));
      item.addEventListener("click", () => this.open(sensor.datastream_id));
      list.append(el("li", null, item));
    }
    const details = el("details", { className: "sensors", dataset: { level: body.level } },
      el("summary", null, t("sensor.inObject"), el("span", { className: "count" }, `(${body.sensors.length})`)), list);
    details.open = true;
    return details;
  }

  /** The legend of the levels, for the layer tree. */
  legend() {
    return el("ul", { className: "sensor-legend" },
      ...["normal", "warning", "alarm", "stale", "unknown"].map((level) =>
        el("li", null, el("span", { className: `dot level-${level}` }), t(`sensor.level.${level}`))));
  }
}
