// The incidents layer: a marker per incident at its place (icon by category, colour by
// status, a hazard ring when overdue, a badge when escalated), the list with its filters
// (incidentlist.js), the panel with the history and the steps the user may take
// (incidentpanel.js), the report form (incidentreport.js); changes arrive live.
//
// API: GET /api/incident-codes, GET /api/incidents (the summaries in the caller's scope),
// GET /api/incidents/{id}, POST /api/incidents/{id}/steps, POST /api/incidents; live
// updates through POST /api/events/stream/ticket then GET /api/events/stream?ticket=
// &kinds=incident,alert (resuming with lastEventId after a loss; a `reset` event, or a
// server without that stream, reads the whole list again, the latter every POLL_MS).

import { el, getJson, postJson } from "./api.js";
import { onSignedOut, onTokens } from "./auth.js";
import { loadCodes, nameOf } from "./incidentapi.js";
import { echoCanvas, markerCanvas, markerUrl, SIZE, STATUS_CSS, statusCss, TAIL } from "./incidenticons.js";
import { IncidentList } from "./incidentlist.js";
import { IncidentPanel } from "./incidentpanel.js";
import "./incidentstrings.js";
import { onLanguageChange, t } from "./i18n.js";

const PAGE = 500; // summaries per request while reading the list
const POLL_MS = 5_000; // without the event stream: how often the list is read again
const PULSE_MS = 700; // the overdue markers' echo beats (unless the user asks for less motion)
const REDUCED_MOTION = window.matchMedia?.("(prefers-reduced-motion: reduce)");
const MAX_RETRY_MS = 30_000;
const LAPSE_MS = 60_000;
const MARKER_PX = 34; // the disc's width on screen
const PIN_PX = (MARKER_PX * (SIZE + TAIL)) / SIZE; // the pin's height, tail included
const LIFT_PX = PIN_PX - MARKER_PX / 2; // from the place (the tail's tip) up to the disc's centre

export class IncidentLayer {
  constructor(app, ui) {
    this.app = app;
    this.ui = ui; // {panel, title, body, close, list: {...}}
    this.incidents = new Map(); // id (string) -> summary
    this.entities = new Map(); // id -> Cesium.Entity
    this.echoes = new Map(); // id -> the echo ring's Cesium.Entity (overdue ones)
    this.codes = { categories: new Map(), departments: new Map(), statuses: new Map(), actions: new Map(), maxPhotoMb: 10 };
    this.layer = { visible: true, opacity: 1 };
    this.source = null;
    this.loaded = false;
    this.error = null;
    this.stream = null;
    this.streamState = "closed"; // connecting | open | retrying | polling | closed
    this.lastEventId = null;
    this.retryMs = 1000;
    this.connections = 0;
    this.events = 0; // incident events received
    this.stopped = false;
    this.started = false;
    this.phase = 0;
    this.renderTimers = null;
    this.pollTimer = null;
    this.loadTimer = null;
    this.listeners = [];
    this.list = new IncidentList(this, ui.list);
    this.panel = new IncidentPanel(this, ui);
    onSignedOut(() => this.stop());
    onTokens(() => {
      if (this.started && this.stopped) {
        this.stopped = false;
        this.connect();
      }
    });
    onLanguageChange(() => this.changed());
  }

  /** May the user report incidents (the `report` action)? */
  get canReport() {
    return (this.app.me?.actions || []).includes("report");
  }

  /** Add the markers' data source, read the codes and the incidents, go live. */
  async start(viewer) {
    this.source = new Cesium.CustomDataSource("incidents");
    await viewer.dataSources.add(this.source);
    this.started = true;
    try {
      this.codes = await loadCodes();
    } catch (err) {
      console.warn("cimtwin: no incident codes", err.message);
    }
    try {
      await this.load();
    } catch (err) {
      this.error = err.message;
      this.changed();
      console.warn("cimtwin: incidents", err.message);
    }
    this.connect();
    setInterval(() => this.pulse(), PULSE_MS);
    setInterval(() => this.changed(), LAPSE_MS); // due times pass: rings and list follow
  }

  /** Read every incident in scope again (all pages). */
  async load() {
    const all = [];
    for (let offset = 0; ; offset += PAGE) {
      const body = await getJson(`/api/incidents?limit=${PAGE}&offset=${offset}`);
      const items = Array.isArray(body) ? body : body.incidents ?? body.items ?? [];
      all.push(...items);
      const total = Array.isArray(body) ? items.length : Number(body.total ?? items.length);
      if (items.length < PAGE || all.length >= total) break;
    }
    const seen = new Set();
    for (const summary of all) {
      seen.add(String(summary.id));
      this.put(summary);
    }
    for (const id of [...this.incidents.keys()]) if (!seen.has(id)) this.remove(id);
    this.loaded = true;
    this.error = null;
    this.changed();
    return all.length;
  }

  loadSoon() {
    clearTimeout(this.loadTimer);
    this.loadTimer = setTimeout(() => this.load().catch((err) => console.warn("cimtwin: incidents", err.message)), 300);
  }

  /** Keep a summary (newer versions only) and draw it; true when it was new. */
  put(summary) {
    const id = String(summary.id);
    const known = this.incidents.get(id);
    if (known && Number(known.version) > Number(summary.version)) return false;
    this.incidents.set(id, { ...known, ...summary });
    this.draw(id);
    return !known;
  }

  remove(id) {
    this.incidents.delete(id);
    const entity = this.entities.get(id);
    if (entity) this.source.entities.remove(entity);
    this.entities.delete(id);
    this.drawEcho(id, null, false);
  }

  /** Redraw the markers, list and layer row after a change. */
  changed() {
    for (const id of this.incidents.keys()) this.draw(id);
    this.list.render();
    this.app.layers?.render();
    this.app.viewer?.scene.requestRender();
    for (const listener of this.listeners) listener();
  }

  // ------------------------------------------------------------ codes

  category(code) {
    return this.codes.categories.get(code) || null;
  }

  categoryName(code) {
    return nameOf(this.category(code), code || "—");
  }

  statusName(code) {
    return nameOf(this.codes.statuses.get(code), t(`incident.status.${code}`));
  }

  actionName(code) {
    return nameOf(this.codes.actions.get(code), t(`incident.action.${code}`));
  }

  departmentName(code) {
    return nameOf(this.codes.departments.get(code), code || "—");
  }

  /** Overdue: as the server judged it, or its due time has passed since. */
  overdue(incident) {
    return Boolean(incident.overdue) || (Boolean(incident.dueTime) && Date.parse(incident.dueTime) <= Date.now());
  }

  look(incident) {
    return {
      icon: this.category(incident.category)?.icon || "other",
      status: incident.status,
      overdue: this.overdue(incident),
      escalated: Number(incident.escalationLevel) > 0 || Boolean(incident.escalatedTo),
    };
  }

  /** The marker of an incident as an <img> (list, panel). */
  iconImage(incident) {
    return el("img", { className: "incident-icon", src: markerUrl(this.look(incident)), alt: "", width: 26, height: 26 });
  }

  // ------------------------------------------------------------ markers

  groundHeight() {
    return Number(this.app.city?.center?.height) || 0;
  }

  draw(id) {
    const incident = this.incidents.get(id);
    if (!incident || !this.source) return;
    if (!Number.isFinite(incident.lon) || !Number.isFinite(incident.lat)) return;
    const position = Cesium.Cartesian3.fromDegrees(incident.lon, incident.lat, this.groundHeight());
    let entity = this.entities.get(id);
    if (!entity) {
      entity = this.source.entities.add({
        id: `incident-${id}`,
        position,
        billboard: {
          width: MARKER_PX,
          height: PIN_PX,
          verticalOrigin: Cesium.VerticalOrigin.BOTTOM, // the tail's tip on the place
          // always drawn over the buildings and the ground they are in
          disableDepthTestDistance: Number.POSITIVE_INFINITY,
        },
      });
      entity.incidentId = id;
      this.entities.set(id, entity);
    } else {
      entity.position = position;
    }
    const look = this.look(incident);
    entity.look = look;
    const image = markerCanvas({ ...look, pin: true });
    if (entity.image !== image) {
      entity.image = image;
      entity.billboard.image = image;
      this.renderSoon();
    }
    entity.billboard.color = Cesium.Color.WHITE.withAlpha(this.layer.opacity);
    // higher priority and overdue in front
    entity.billboard.eyeOffset = new Cesium.Cartesian3(0, 0, look.overdue ? -2 : -(5 - Number(incident.priority || 3)) * 0.1);
    entity.show = this.layer.visible && this.list.matches(incident);
    this.drawEcho(id, position, look.overdue && entity.show && !REDUCED_MOTION?.matches);
  }

  drawEcho(id, position, wanted) {
    let echo = this.echoes.get(id);
    if (!wanted) {
      if (echo) this.source.entities.remove(echo);
      this.echoes.delete(id);
      return;
    }
    if (!echo) {
      echo = this.source.entities.add({
        id: `incident-echo-${id}`,
        position,
        billboard: {
          image: echoCanvas(),
          width: MARKER_PX,
          height: MARKER_PX,
          pixelOffset: new Cesium.Cartesian2(0, -LIFT_PX), // round the disc
          disableDepthTestDistance: Number.POSITIVE_INFINITY,
        },
      });
      echo.incidentId = id;
      this.echoes.set(id, echo);
    }
    echo.position = position;
  }

  /**
   * Render again a little later: a billboard's new image reaches the texture atlas
   * asynchronously, and the scene (rendering on request) would keep showing the old one.
   */
  renderSoon() {
    if (this.renderTimers) return;
    this.renderTimers = [60, 250, 700].map((ms, i, all) =>
      setTimeout(() => {
        this.app.viewer?.scene.requestRender();
        if (i === all.length - 1) this.renderTimers = null;
      }, ms));
  }

  /** The overdue markers' echo rings beat: wide and faint, then close and strong. */
  pulse() {
    if (!this.echoes.size || !this.layer.visible || document.hidden) return;
    this.phase = (this.phase + 1) % 2;
    for (const echo of this.echoes.values()) {
      echo.billboard.scale = this.phase ? 1.45 : 1.1;
      echo.billboard.color = Cesium.Color.WHITE.withAlpha((this.phase ? 0.35 : 0.95) * this.layer.opacity);
    }
    this.app.viewer?.scene.requestRender();
  }

  /** The status colour a marker is drawn with now, null when hidden (tests, legend). */
  markerCss(id) {
    const entity = this.entities.get(String(id));
    return entity && entity.show ? statusCss(entity.look.status) : null;
  }

  /** Screen position of an incident's marker, the middle of its disc (see
   * window.cimtwin.screenPositionOf; `place`: where the pin's tip points). */
  screenPosition(id) {
    const incident = this.incidents.get(String(id));
    if (!incident) return null;
    const place = this.app.screenPositionOf(incident.lon, incident.lat, this.groundHeight());
    if (!place) return null;
    return { x: place.x, y: place.y - LIFT_PX, clientX: place.clientX, clientY: place.clientY - LIFT_PX, place };
  }

  setLayer({ visible, opacity }) {
    if (visible !== undefined) this.layer.visible = Boolean(visible);
    if (opacity !== undefined) this.layer.opacity = Math.max(0, Math.min(1, Number(opacity)));
    for (const id of this.incidents.keys()) this.draw(id);
    this.app.viewer?.scene.requestRender();
  }

  /** The statuses' colours, for the layer tree. */
  legend() {
    const items = Object.keys(STATUS_CSS).map((status) =>
      el("li", { dataset: { status } }, el("span", { className: "dot", style: `--level:${STATUS_CSS[status]}` }), this.statusName(status)));
    items.push(el("li", { dataset: { status: "overdue" } },
      el("img", { src: markerUrl({ icon: "other", status: "unknown", overdue: true }), alt: "", width: 16, height: 16 }), t("incident.overdue")));
    items.push(el("li", { dataset: { status: "escalated" } },
      el("img", { src: markerUrl({ icon: "other", status: "unknown", escalated: true }), alt: "", width: 16, height: 16 }), t("incident.escalatedShort")));
    return el("ul", { className: "sensor-legend incident-legend", title: t("incident.legend") }, ...items);
  }

  // ------------------------------------------------------------ picking

  /** Open the incident of a picked marker; false when the pick is not one. */
  pick(picked) {
    const entity = picked && picked.id;
    if (!(entity instanceof Cesium.Entity) || entity.incidentId === undefined) return false;
    this.open(entity.incidentId);
    return true;
  }

  /** A click on the map: the report form may be waiting for a place. */
  mapClick(position) {
    return this.panel.reportClick(position);
  }

  open(id) {
    return this.panel.open(String(id));
  }

  close() {
    this.panel.close();
  }

  // ------------------------------------------------------------ live updates

  /** Open the event stream (incident and alert events) with a fresh ticket. */
  async connect() {
    if (this.stream) this.stream.close();
    this.stream = null;
    clearTimeout(this.pollTimer);
    if (this.stopped) return;
    this.streamState = "connecting";
    let ticket;
    try {
      ticket = await postJson("/api/events/stream/ticket", {});
    } catch (err) {
      if (err.status === 404 || err.status === 405) {
        this.poll(); // a server without the event stream
        return;
      }
      console.warn("cimtwin: no event stream ticket", err.message);
      this.retry();
      return;
    }
    if (this.stopped || this.stream) return;
    const url = new URL(ticket.url || `/api/events/stream?ticket=${encodeURIComponent(ticket.ticket)}`, location.href);
    url.searchParams.set("kinds", "incident,alert");
    if (this.lastEventId) url.searchParams.set("lastEventId", this.lastEventId);
    const stream = new EventSource(url.pathname + url.search);
    this.stream = stream;
    const track = (event) => {
      if (event.lastEventId) this.lastEventId = event.lastEventId;
    };
    stream.addEventListener("ready", () => {
      this.streamState = "open";
      this.retryMs = 1000;
      this.connections += 1;
      if (this.connections > 1 && !this.lastEventId) this.loadSoon();
    });
    stream.addEventListener("incident", (event) => {
      track(event);
      this.onIncident(JSON.parse(event.data));
    });
    stream.addEventListener("alert", (event) => track(event));
    stream.addEventListener("reset", (event) => {
      track(event);
      this.loadSoon();
    });
    stream.addEventListener("dropped", () => this.loadSoon());
    stream.addEventListener("end", () => this.connect());
    stream.onerror = () => {
      if (stream !== this.stream) return;
      stream.close();
      this.retry();
    };
  }

  poll() {
    this.streamState = "polling";
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(async () => {
      if (this.stopped) return;
      const before = new Set(this.incidents.keys());
      try {
        await this.load();
        for (const id of this.incidents.keys()) if (!before.has(id)) this.list.flash(id);
        this.panel.refreshIfChanged();
      } catch (err) {
        console.warn("cimtwin: incidents", err.message);
      }
      this.poll();
    }, POLL_MS);
  }

  stop() {
    this.stopped = true;
    if (this.stream) this.stream.close();
    this.stream = null;
    clearTimeout(this.pollTimer);
    this.streamState = "closed";
  }

  retry() {
    if (this.stopped) return;
    this.streamState = "retrying";
    const wait = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    setTimeout(() => this.connect(), wait);
  }

  onIncident(data) {
    this.events += 1;
    const { change: _change, stepId: _step, ...summary } = data;
    const isNew = this.put(summary);
    if (isNew) this.list.flash(String(summary.id));
    this.changed();
    this.panel.refreshIfChanged(String(summary.id), summary.version);
  }
}
