// Inspecting one object: the side panel with its building card (planning figures, storey
// list, source attributes: card.js), its spatial path (city > site > building > storey >
// space), its property sets under their names in the interface language, and the actions on
// it (fly to, isolate its building or storey). GET /api/objects/{id} and its /card give
// everything shown; the platform's internal fields (step_id...) never are.

import { el, formatValue, getJson } from "./api.js";
import { BuildingCard } from "./card.js";
import { className, onLanguageChange, t } from "./i18n.js";
import { propertyName, psetName } from "./ifcnames.js";

/** Fields of the platform, not of the source (as cim/planning.py's INTERNAL_FIELDS). */
const INTERNAL_FIELDS = new Set(["step_id", "height_source", "psets", "qtos", "osm_tags", "fid"]);

export class Inspector {
  constructor(app, ui) {
    this.app = app;
    this.ui = ui; // {info, infoTitle, infoBody, infoClose}
    this.token = 0;
    this.object = null;
    this.sensorSection = null; // {id, node}: the sensors in the object shown
    this.card = new BuildingCard(app);
    this.cardError = null; // why the card of the object shown could not be had

    ui.infoClose.addEventListener("click", () => this.clear());
    onLanguageChange(() => {
      if (this.object) this.render(this.object);
    });
  }

  clear() {
    this.token += 1;
    this.object = null;
    this.card.clear();
    this.app.selected = null;
    this.app.style.setSelected(null);
    const { info, infoBody } = this.ui;
    info.hidden = true;
    delete info.dataset.objectId;
    delete info.dataset.state;
    infoBody.replaceChildren();
  }

  /** Select the object `id`: highlight it, fill the panel; with fly, move the camera to it. */
  async select(id, { fly = false, fallback = null } = {}) {
    const token = ++this.token;
    const { info, infoTitle, infoBody } = this.ui;
    this.app.sensors.close();
    this.sensorSection = null;
    this.app.selected = null;
    this.object = null;
    this.card.clear();
    this.cardError = null;
    this.app.style.setSelected(id);
    info.hidden = false;
    info.dataset.objectId = id;
    info.dataset.state = "loading";
    infoTitle.textContent = fallback?.name || id;
    infoBody.replaceChildren(el("p", { className: "loading" }, t("info.loading", { id })));
    if (fly) this.app.flyToObject(id).catch((err) => console.warn(`cimtwin: cannot fly to ${id}`, err.message));
    let object;
    const card = this.card.load(id).catch((err) => {
      this.cardError = err;
      return null;
    });
    try {
      object = await getJson(`/api/objects/${encodeURIComponent(id)}`);
      await card;
    } catch (err) {
      if (token !== this.token) return null;
      info.dataset.state = "error";
      const what = err.status === 404 ? t("info.notFound") : t("info.failed");
      infoBody.replaceChildren(
        el("p", { className: "error" }, `${what}: ${err.message}`),
        fields([
          [t("field.id"), id],
          [t("field.class"), fallback?.class],
          [t("field.name"), fallback?.name],
        ]),
      );
      return null;
    }
    if (token !== this.token) return null;
    this.object = object;
    this.app.selected = object;
    info.dataset.state = "loaded";
    this.render(object);
    this.app.sensors
      .sectionFor(id)
      .then((node) => {
        if (!node || token !== this.token) return;
        this.sensorSection = { id, node };
        infoBody.append(node);
      })
      .catch((err) => console.warn(`cimtwin: sensors of ${id}`, err.message));
    this.app.highlightContents(object).catch((err) => console.warn("cimtwin: highlight", err.message));
    return object;
  }

  /** A feature without an id can still be shown, with what its tile says. */
  showAnonymous(name, cls) {
    this.token += 1;
    this.app.style.setSelected(null);
    const { info, infoTitle, infoBody } = this.ui;
    info.hidden = false;
    delete info.dataset.objectId;
    info.dataset.state = "error";
    infoTitle.textContent = name || cls || "?";
    infoBody.replaceChildren(el("p", { className: "error" }, t("info.noId")));
  }

  render(obj) {
    const { infoTitle, infoBody } = this.ui;
    const card = this.card.data?.id === obj.id ? this.card.data : null;
    const name = (card && this.card.displayName(card)) || obj.name;
    infoTitle.textContent = name || className(obj.class) || obj.id;
    infoTitle.title = [name, obj.name !== name ? obj.name : null, obj.id].filter(Boolean).join(" · ");
    const parts = [this.actions(obj)];
    if (Array.isArray(obj.spatial_path) && obj.spatial_path.length) parts.push(this.path(obj.spatial_path));
    if (card) parts.push(this.card.render(card));
    else parts.push(...this.withoutCard(obj));
    parts.push(this.identity(obj));
    const sets = [];
    for (const group of [obj.psets, obj.qtos]) {
      if (!group || typeof group !== "object") continue;
      for (const set of Object.keys(group).sort((a, b) => psetName(a).localeCompare(psetName(b)))) sets.push([set, group[set]]);
    }
    sets.forEach(([set, props]) => {
      const rows = props && typeof props === "object" && !Array.isArray(props) ? props : { value: props };
      parts.push(table(psetName(set), rows, false, set));
    });
    if (!sets.length && String(obj.class).startsWith("Ifc")) parts.push(el("p", { className: "loading" }, t("info.noPsets")));
    if (this.sensorSection?.id === obj.id) parts.push(this.sensorSection.node);
    infoBody.replaceChildren(...parts);
  }

  /** The object's class, id and source, folded: what identifies it, not what it is. */
  identity(obj) {
    const details = el(
      "details",
      { className: "identity", id: "info-identity" },
      el("summary", null, t("card.identity")),
      fields([
        [t("field.class"), className(obj.class)],
        [t("field.name"), obj.name],
        [t("field.id"), obj.id],
        [t("field.source"), obj.source],
      ]),
    );
    return details;
  }

  /** Without a card (it failed): why, the position and the attributes less internal fields. */
  withoutCard(obj) {
    const parts = [];
    if (this.cardError) parts.push(el("p", { className: "error" }, t("card.failed", { error: this.cardError.message })));
    if (obj.position && Number.isFinite(obj.position.lon) && Number.isFinite(obj.position.lat)) {
      const { lon, lat, height } = obj.position;
      parts.push(fields([[t("info.position"), `${lon.toFixed(6)}, ${lat.toFixed(6)}, ${Number(height || 0).toFixed(1)} m`]]));
    }
    const shown = Object.fromEntries(Object.entries(obj.attributes || {}).filter(([key]) => !INTERNAL_FIELDS.has(key)));
    if (Object.keys(shown).length) parts.push(table(t("info.attributes"), shown, true));
    return parts;
  }

  actions(obj) {
    const button = (key, action, name) => {
      const b = el("button", { type: "button", className: "btn small", dataset: { action: name } }, t(key));
      b.addEventListener("click", action);
      return b;
    };
    const bar = el("div", { className: "info-actions" }, button("info.flyTo", () => this.app.flyToObject(obj.id), "fly"));
    const building = obj.class === "IfcBuilding" ? obj.id : obj.building_id;
    const storey = obj.class === "IfcBuildingStorey" ? obj.id : obj.storey_id;
    if (building) bar.append(button("info.isolateBuilding", () => this.app.isolateBuilding(building), "isolate-building"));
    if (storey) bar.append(button("info.isolateStorey", () => this.app.isolateStorey(storey), "isolate-storey"));
    if (this.app.style.isolation) bar.append(button("info.showAll", () => this.app.showAll(), "show-all"));
    return bar;
  }

  path(steps) {
    const p = el("nav", { className: "path", id: "info-path", "aria-label": t("info.path") });
    steps.forEach((step, i) => {
      if (i > 0) p.append(el("span", { className: "sep" }, " › "));
      const label = step.name || step.class || step.id || "?";
      const last = i === steps.length - 1;
      const node = last
        ? el("span", { className: "step current", title: `${step.class || ""} ${step.id || ""}`.trim() }, label)
        : el("button", { type: "button", className: "step", title: `${className(step.class)} ${step.id || ""}`.trim() }, label);
      if (!last) node.addEventListener("click", () => this.app.select(step.id, { fly: true }));
      p.append(node);
    });
    const city = this.app.city?.name;
    if (city) p.prepend(el("span", { className: "step city" }, city), el("span", { className: "sep" }, " › "));
    return p;
  }
}

function fields(pairs) {
  const dl = el("dl");
  for (const [label, value] of pairs) {
    const text = formatValue(value);
    dl.append(el("dt", null, label), el("dd", null, text === null ? "—" : text));
  }
  return dl;
}

/** A folded table of properties; with `pset`, labels in the interface language. */
function table(title, props, open, pset = null) {
  const entries = Object.entries(props || {});
  const tbody = el("tbody");
  for (const [key, value] of entries) {
    const text = formatValue(value);
    const label = pset ? propertyName(pset, key) : key;
    const th = el("th", { scope: "row", title: key }, label);
    tbody.append(el("tr", null, th, el("td", text === null ? { className: "empty" } : null, text ?? "—")));
  }
  const details = el(
    "details",
    null,
    el("summary", null, title, el("span", { className: "count" }, `(${entries.length})`)),
    el("table", null, tbody),
  );
  details.open = Boolean(open);
  details.dataset.pset = pset || title;
  return details;
}
