// The incidents' list in the sidebar: filters (status, category, overdue only, text) that
// the markers follow too, the incidents sorted by due time (the most pressing first, those
// without a limit last), a click opening one; the 'report incident' button.

import { el } from "./api.js";
import { span } from "./incidentapi.js";
import { STATUS_CSS } from "./incidenticons.js";
import { t } from "./i18n.js";

const FLASH_MS = 8_000;

export class IncidentList {
  constructor(layer, container) {
    this.layer = layer;
    this.container = container;
    this.filters = { status: "", category: "", overdue: false, text: "" };
    this.flashing = new Set();
    this.shown = []; // ids in the list, in its order
    this.controls = null;
  }

  /** Whether an incident passes the filters ("open": any status that is not final). */
  matches(incident) {
    const { status, category, overdue, text } = this.filters;
    if (status === "open" && ["closed", "not_accepted"].includes(incident.status)) return false;
    if (status && status !== "open" && incident.status !== status) return false;
    if (category && incident.category !== category) return false;
    if (overdue && !this.layer.overdue(incident)) return false;
    if (text) {
      const words = text.toLowerCase().split(/\s+/).filter(Boolean);
      const haystack = [incident.id, incident.title, incident.description, incident.address, this.layer.categoryName(incident.category)]
        .join(" ")
        .toLowerCase();
      if (!words.every((word) => haystack.includes(word))) return false;
    }
    return true;
  }

  /** Set some filters (as the controls do) and redraw. */
  setFilters(changes) {
    Object.assign(this.filters, changes);
    this.syncControls();
    this.layer.changed();
  }

  flash(id) {
    this.flashing.add(id);
    setTimeout(() => {
      this.flashing.delete(id);
      this.container?.querySelector(`[data-incident="${id}"]`)?.classList.remove("new");
    }, FLASH_MS);
  }

  /** Incidents passing the filters, by due time, then the latest change first. */
  sorted() {
    const due = (i) => (i.dueTime ? Date.parse(i.dueTime) : Number.POSITIVE_INFINITY);
    return [...this.layer.incidents.values()]
      .filter((i) => this.matches(i))
      .sort((a, b) => due(a) - due(b) || Date.parse(b.updatedTime || 0) - Date.parse(a.updatedTime || 0));
  }

  buildControls() {
    const status = el("select", { id: "incident-filter-status", title: t("incident.filter.status") });
    const category = el("select", { id: "incident-filter-category", title: t("incident.filter.category") });
    const overdue = el("input", { id: "incident-filter-overdue", type: "checkbox" });
    const text = el("input", { id: "incident-filter-text", type: "search", autocomplete: "off", spellcheck: false });
    const report = el("button", { id: "incident-report-open", type: "button", className: "btn small primary" });
    const count = el("p", { id: "incident-count", className: "hint", role: "status" });
    const list = el("ul", { id: "incident-list", className: "incident-list" });
    status.addEventListener("change", () => this.setFilters({ status: status.value }));
    category.addEventListener("change", () => this.setFilters({ category: category.value }));
    overdue.addEventListener("change", () => this.setFilters({ overdue: overdue.checked }));
    text.addEventListener("input", () => this.setFilters({ text: text.value.trim() }));
    report.addEventListener("click", () => this.layer.panel.showReport());
    const overdueLabel = el("label", { className: "check" }, overdue, " ", el("span", { className: "overdue-label" }));
    const head = el("div", { className: "incident-filters" },
      el("div", { className: "row" }, status, category),
      el("div", { className: "row" }, overdueLabel, report),
      text);
    this.container.replaceChildren(head, count, list);
    this.controls = { status, category, overdue, overdueLabel, text, report, count, list };
  }

  syncControls() {
    const c = this.controls;
    if (!c) return;
    const option = (value, label) => el("option", { value }, label);
    c.status.replaceChildren(
      option("", `${t("incident.filter.status")}: ${t("incident.filter.all")}`),
      option("open", t("incident.filter.open")),
      ...Object.keys(STATUS_CSS).map((code) => option(code, this.layer.statusName(code))),
    );
    const categories = [...this.layer.codes.categories.keys()];
    for (const incident of this.layer.incidents.values()) if (!categories.includes(incident.category)) categories.push(incident.category);
    c.category.replaceChildren(
      option("", `${t("incident.filter.category")}: ${t("incident.filter.all")}`),
      ...categories.map((code) => option(code, this.layer.categoryName(code))),
    );
    c.status.value = this.filters.status;
    c.category.value = this.filters.category;
    c.overdue.checked = this.filters.overdue;
    if (c.text.value.trim() !== this.filters.text) c.text.value = this.filters.text;
    c.text.placeholder = t("incident.filter.text");
    c.overdueLabel.querySelector(".overdue-label").textContent = t("incident.filter.overdue");
    c.report.textContent = t("incident.report");
    c.report.hidden = !this.layer.canReport;
  }

  render() {
    if (!this.container) return;
    if (!this.controls) this.buildControls();
    this.syncControls();
    const { count, list } = this.controls;
    const layer = this.layer;
    if (!layer.loaded) {
      count.textContent = layer.error ? t("incident.failed", { error: layer.error }) : t("incident.loading");
      list.replaceChildren();
      return;
    }
    const incidents = this.sorted();
    this.shown = incidents.map((i) => String(i.id));
    count.textContent = t("incident.count", { n: incidents.length, total: layer.incidents.size });
    if (!incidents.length) {
      list.replaceChildren(el("li", { className: "hint" }, t("incident.none")));
      return;
    }
    const now = Date.now();
    list.replaceChildren(...incidents.map((incident) => this.item(incident, now)));
  }

  item(incident, now) {
    const id = String(incident.id);
    const layer = this.layer;
    const due = incident.dueTime ? Date.parse(incident.dueTime) - now : null;
    const late = this.layer.overdue(incident);
    const timing = late
      ? el("span", { className: "incident-overdue" }, due === null ? t("incident.overdue") : t("incident.overdueBy", { time: span(due) }))
      : due !== null
        ? el("span", null, t("incident.dueIn", { time: span(due) }))
        : null;
    const status = el("span", { className: "incident-status", style: `--status:${STATUS_CSS[incident.status] || "#fff"}` }, layer.statusName(incident.status));
    const button = el("button", { type: "button", className: "incident-item", dataset: { incident: id, status: incident.status } },
      layer.iconImage(incident),
      el("span", { className: "incident-text" },
        el("span", { className: "incident-title" }, incident.title || layer.categoryName(incident.category)),
        el("span", { className: "incident-meta" }, status, " ", layer.categoryName(incident.category), timing ? " · " : "", timing,
          Number(incident.escalationLevel) > 0 ? el("span", { className: "incident-escalated" }, ` · ${t("incident.escalated", { n: incident.escalationLevel })}`) : null)));
    button.addEventListener("click", () => layer.open(id));
    const li = el("li", { dataset: { incident: id } }, button);
    li.classList.toggle("overdue", late);
    li.classList.toggle("new", this.flashing.has(id));
    li.classList.toggle("open", layer.panel.openId === id);
    return li;
  }
}
