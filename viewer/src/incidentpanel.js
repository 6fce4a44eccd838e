// The incident panel: the details of one incident, its history on a timeline (who, when,
// what, the note, photo thumbnails opening full size), and the steps the user may take now
// (the `actions` of GET /api/incidents/{id}) each with its form: a note (required where the
// workflow says), the department and its jurisdiction for a dispatch, photos. A step is
// POST /api/incidents/{id}/steps (multipart, with the version read: a 409 reloads the
// incident and says it changed meanwhile; any refusal shows the server's reason).
// The same panel holds the 'report incident' form (incidentreport.js).

import { el, getJson } from "./api.js";
import { blobUrl, loadJurisdictions, postForm, span, when } from "./incidentapi.js";
import { statusCss } from "./incidenticons.js";
import { ReportForm } from "./incidentreport.js";
import { PhotoInput } from "./incidentphotos.js";
import { formatNumber, onLanguageChange, t } from "./i18n.js";

// The workflow's needs (simulation/incidents/workflow.py) while the codes do not say them.
const NEEDS_NOTE = new Set(["reject", "return", "handle", "send_back", "suspend", "comment"]);
const NEEDS_DEPARTMENT = new Set(["dispatch"]);
// Steps whose form may carry photos.
const WITH_PHOTOS = new Set(["handle", "verify", "send_back", "comment", "return", "accept"]);

export class IncidentPanel {
  constructor(layer, ui) {
    this.layer = layer;
    this.ui = ui; // {panel, title, body, close}
    this.openId = null;
    this.detail = null; // GET /api/incidents/{id}
    this.state = "closed"; // loading | loaded | error | report | closed
    this.form = null; // {action, node}: the open action form
    this.message = null; // {kind, text}
    this.token = 0;
    this.blobs = new Map(); // attachment url -> blob: URL
    this.jurisdictions = null;
    this.report = new ReportForm(layer, this);
    ui.close.addEventListener("click", () => this.close());
    onLanguageChange(() => {
      if (this.state === "loaded") this.render();
      else if (this.state === "report") ui.title.textContent = t("incident.report.title");
    });
  }

  get app() {
    return this.layer.app;
  }

  /** Show the panel in place of the sensor's and the object's (whose selection stays:
   * the report form may use it). */
  show() {
    this.app.sensors?.close();
    document.getElementById("info").hidden = true;
    this.ui.panel.hidden = false;
  }

  close() {
    this.token += 1;
    this.openId = null;
    this.detail = null;
    this.form = null;
    this.message = null;
    this.state = "closed";
    this.report.stop();
    this.ui.panel.hidden = true;
    if (this.app.inspector?.object) document.getElementById("info").hidden = false;
    delete this.ui.panel.dataset.incident;
    this.ui.panel.dataset.state = "closed";
    for (const url of this.blobs.values()) URL.revokeObjectURL(url);
    this.blobs.clear();
    this.layer.list.render();
  }

  /** Open incident `id`: read it and show it. */
  async open(id, message = null) {
    const token = ++this.token;
    if (this.openId !== id) {
      this.form = null;
      this.report.stop();
    }
    this.openId = id;
    this.message = message;
    this.state = "loading";
    const { panel, title, body } = this.ui;
    this.show();
    panel.dataset.incident = id;
    panel.dataset.state = "loading";
    const summary = this.layer.incidents.get(id);
    title.textContent = summary?.title || `#${id}`;
    if (!this.detail || String(this.detail.id) !== id) body.replaceChildren(el("p", { className: "loading" }, t("incident.loading")));
    let detail;
    try {
      [detail] = await Promise.all([getJson(`/api/incidents/${encodeURIComponent(id)}`), this.ensureJurisdictions()]);
    } catch (err) {
      if (token !== this.token) return false;
      this.state = "error";
      panel.dataset.state = "error";
      body.replaceChildren(el("p", { className: "error" }, t("incident.failed", { error: err.message })));
      return false;
    }
    if (token !== this.token) return false;
    this.detail = detail;
    this.layer.put(summaryOf(detail));
    this.layer.changed();
    this.state = "loaded";
    this.render();
    return true;
  }

  /** A change arrived for `id` (or any, without an id): read the open incident again. */
  refreshIfChanged(id = null, version = null) {
    if (this.state !== "loaded" || !this.detail) return;
    if (id !== null && id !== this.openId) return;
    if (version !== null && Number(version) === Number(this.detail.version)) return;
    if (id === null) {
      const summary = this.layer.incidents.get(this.openId);
      if (!summary || Number(summary.version) === Number(this.detail.version)) return;
    }
    if (this.form?.dirty) {
      this.message = { kind: "info", text: t("incident.changed") };
      this.renderMessage();
      return;
    }
    this.open(this.openId, this.message);
  }

  // ------------------------------------------------------------ rendering

  render() {
    const detail = this.detail;
    if (!detail || this.state !== "loaded") return;
    const { panel, title, body } = this.ui;
    panel.dataset.state = "loaded";
    panel.dataset.version = String(detail.version);
    panel.dataset.status = detail.status;
    title.textContent = detail.title || this.layer.categoryName(detail.category);
    const keepForm = this.form && (detail.actions || []).includes(this.form.action) ? this.form : null;
    this.form = keepForm;
    body.replaceChildren(
      this.head(detail),
      this.facts(detail),
      detail.description ? el("p", { className: "incident-description" }, detail.description) : null,
      el("div", { id: "incident-message", className: "incident-message", role: "alert", hidden: true }),
      el("h3", null, t("incident.actions")),
      this.actions(detail),
      el("h3", null, t("incident.timeline")),
      this.timeline(detail),
    );
    this.renderMessage();
  }

  renderMessage() {
    const node = this.ui.body.querySelector("#incident-message");
    if (!node) return;
    node.hidden = !this.message;
    node.textContent = this.message?.text || "";
    node.dataset.kind = this.message?.kind || "";
  }

  head(detail) {
    const layer = this.layer;
    const badges = [el("span", { className: "incident-status big", style: `--status:${statusCss(detail.status)}`, dataset: { status: detail.status } }, layer.statusName(detail.status))];
    if (layer.overdue(detail)) badges.push(el("span", { className: "incident-badge overdue" }, t("incident.overdue")));
    if (Number(detail.escalationLevel) > 0) badges.push(el("span", { className: "incident-badge escalated" }, t("incident.escalated", { n: detail.escalationLevel })));
    if (detail.alertActive) badges.push(el("span", { className: "incident-badge alert" }, t("incident.alertActive")));
    return el("div", { className: "incident-head" }, layer.iconImage(detail), el("div", { className: "incident-badges" }, ...badges));
  }

  facts(detail) {
    const layer = this.layer;
    const due = detail.dueTime ? Date.parse(detail.dueTime) - Date.now() : null;
    const dueText = detail.dueTime
      ? `${when(detail.dueTime)} (${this.layer.overdue(detail) ? t("incident.overdueBy", { time: span(due) }) : t("incident.dueIn", { time: span(due) })})`
      : "—";
    const place = Number.isFinite(detail.lon) ? `${detail.lon.toFixed(6)}, ${detail.lat.toFixed(6)}` : "—";
    const department = detail.department
      ? `${layer.departmentName(detail.department)}${detail.departmentJurisdiction ? ` · ${this.jurisdictionName(detail.departmentJurisdiction)}` : ""}`
      : null;
    const rows = [
      ["id", `#${detail.id}`],
      ["category", layer.categoryName(detail.category)],
      ["priority", detail.priority ? t(`incident.priority.${detail.priority}`) : null],
      ["source", detail.source ? t(`incident.source.${detail.source}`) : null],
      ["jurisdiction", this.jurisdictionName(detail.jurisdiction)],
      ["escalatedTo", detail.escalatedTo ? this.jurisdictionName(detail.escalatedTo) : null],
      ["department", department],
      ["due", dueText],
      ["created", when(detail.createdTime)],
      ["reporter", detail.reporter],
      ["address", detail.address],
      ["place", place],
      ["rule", detail.ruleId ?? null],
      ["contact", detail.contact ? contactText(detail.contact) : null],
    ];
    const list = el("dl", { className: "incident-facts" });
    for (const [key, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      list.append(el("dt", null, t(`incident.field.${key}`)), el("dd", { dataset: { field: key } }, String(value).replace(/^incident\.source\./, "")));
    }
    if (detail.cityObject) {
      const link = el("button", { type: "button", className: "link", title: detail.cityObject }, detail.cityObject);
      link.addEventListener("click", () => this.app.flyToObject(detail.cityObject).catch(() => {}));
      list.append(el("dt", null, t("incident.field.object")), el("dd", null, link));
    }
    return list;
  }

  jurisdictionName(code) {
    if (!code) return null;
    const known = this.jurisdictions?.find((j) => j.code === code);
    return known ? `${known.name}` : code;
  }

  timeline(detail) {
    const list = el("ol", { className: "incident-timeline", id: "incident-timeline" });
    for (const step of detail.steps || []) {
      const who = step.actorKind === "system" ? t("incident.actor.system") : step.actor || "—";
      const to = step.from && step.to && step.to !== step.from ? ` → ${this.layer.statusName(step.to)}` : "";
      const photos = (step.attachments || []).map((a) => this.thumbnail(a));
      const item = el("li", { className: "incident-step", dataset: { action: step.action, step: String(step.id) }, style: `--status:${statusCss(step.to || detail.status)}` },
        el("div", { className: "step-head" },
          el("b", { className: "step-action" }, this.layer.actionName(step.action)),
          el("span", { className: "step-to" }, to)),
        el("div", { className: "step-meta" },
          el("span", { className: "step-actor" }, who),
          step.actorJurisdiction ? el("span", null, ` · ${this.jurisdictionName(step.actorJurisdiction)}`) : null,
          el("time", { dateTime: step.time }, ` · ${when(step.time)}`)),
        step.department ? el("div", { className: "step-department" }, `${t("incident.field.department")}: ${this.layer.departmentName(step.department)}`) : null,
        step.note ? el("p", { className: "step-note" }, step.note) : null,
        step.action === "simulation" ? this.simulationLine(step.data || {}) : null,
        photos.length ? el("div", { className: "step-photos" }, ...photos) : null);
      list.append(item);
    }
    return list;
  }

  /** What a flood run started by the incident's alert became: queued, its figures and a
   * button opening it in the Simulate tab, or its error. */
  simulationLine(data) {
    const line = el("p", { className: "step-simulation", dataset: { status: data.status || "" } });
    const summary = data.summary || {};
    if (data.run) {
      const figures = [];
      if (summary.flooded_area_m2 != null) figures.push(t("incident.simulation.area", { value: formatNumber(summary.flooded_area_m2) }));
      if (summary.buildings_affected != null) figures.push(t("incident.simulation.buildings", { value: summary.buildings_affected }));
      if (summary.level_m != null) figures.push(t("incident.simulation.level", { value: formatNumber(summary.level_m, 2) }));
      const open = el("button", { type: "button", className: "step-simulation-open", dataset: { run: data.run } }, t("incident.simulation.open"));
      open.addEventListener("click", () => {
        document.querySelector('[data-tab="simulation"]')?.click();
        this.layer.app.simulation?.openRun(data.run).catch(() => {});
      });
      line.append(figures.join(t("incident.simulation.separator")), " ", open);
    } else if (data.status === "failed") {
      line.append(t("incident.simulation.failed", { error: data.error || "" }));
    } else {
      line.append(t("incident.simulation.queued"));
    }
    return line;
  }

  /** A photo's thumbnail, read with the bearer token; a click shows it full size. */
  thumbnail(attachment) {
    const img = el("img", { className: "step-photo", alt: t("incident.photo", { name: attachment.filename }), title: attachment.filename, dataset: { attachment: String(attachment.id), state: "loading" } });
    const url = attachment.url || `/api/incidents/${this.openId}/attachments/${attachment.id}`;
    const show = (src) => {
      img.src = src;
      img.dataset.state = "loaded";
    };
    if (this.blobs.has(url)) show(this.blobs.get(url));
    else {
      blobUrl(url)
        .then((src) => {
          this.blobs.set(url, src);
          show(src);
        })
        .catch((err) => {
          img.dataset.state = "error";
          img.title = t("incident.photoFailed", { error: err.message });
        });
    }
    img.addEventListener("click", () => this.lightbox(img.src, attachment.filename));
    return img;
  }

  lightbox(src, name) {
    if (!src) return;
    const image = el("img", { src, alt: name });
    const box = el("dialog", { className: "incident-lightbox", id: "incident-lightbox" }, image, el("p", null, name));
    box.addEventListener("click", () => box.close());
    box.addEventListener("close", () => box.remove());
    document.body.append(box);
    box.showModal();
  }

  // ------------------------------------------------------------ actions

  actions(detail) {
    const codes = detail.actions || [];
    const box = el("div", { className: "incident-actions", id: "incident-actions" });
    if (!codes.length) {
      box.append(el("p", { className: "hint" }, t("incident.noActions")));
      return box;
    }
    const buttons = el("div", { className: "row wrap" });
    for (const code of codes) {
      const button = el("button", { type: "button", className: "btn small", dataset: { action: code } }, this.layer.actionName(code));
      button.classList.toggle("active", this.form?.action === code);
      button.addEventListener("click", () => {
        this.form = this.form?.action === code ? null : { action: code, dirty: false };
        this.message = null;
        this.render();
      });
      buttons.append(button);
    }
    box.append(buttons);
    if (this.form) box.append(this.actionForm(detail, this.form.action));
    return box;
  }

  needsNote(action) {
    const code = this.layer.codes.actions.get(action);
    return Boolean(code?.needsNote ?? code?.needs_note ?? NEEDS_NOTE.has(action));
  }

  needsDepartment(action) {
    const code = this.layer.codes.actions.get(action);
    return Boolean(code?.needsDepartment ?? code?.needs_department ?? NEEDS_DEPARTMENT.has(action));
  }

  actionForm(detail, action) {
    const form = el("form", { className: "incident-form", id: "incident-form", dataset: { action }, noValidate: true });
    const needsNote = this.needsNote(action);
    const note = el("textarea", { name: "note", rows: 3, required: needsNote });
    note.addEventListener("input", () => (this.form.dirty = true));
    form.append(el("label", { className: "field" }, el("span", null, needsNote ? t("incident.noteRequired") : t("incident.note")), note));
    let department = null;
    let departmentJurisdiction = null;
    if (this.needsDepartment(action)) {
      department = el("select", { name: "department" });
      const usual = this.layer.category(detail.category)?.department;
      for (const [code] of this.layer.codes.departments) department.append(el("option", { value: code, selected: code === usual }, this.layer.departmentName(code)));
      if (!this.layer.codes.departments.size && usual) department.append(el("option", { value: usual }, usual));
      departmentJurisdiction = el("select", { name: "department_jurisdiction" });
      this.fillJurisdictions(departmentJurisdiction, detail.jurisdiction);
      form.append(el("label", { className: "field" }, el("span", null, t("incident.department")), department),
        el("label", { className: "field" }, el("span", null, t("incident.departmentJurisdiction")), departmentJurisdiction));
    }
    const photos = WITH_PHOTOS.has(action) ? new PhotoInput(this.layer.codes.maxPhotoMb, () => (this.form.dirty = true)) : null;
    if (photos) form.append(photos.node);
    const submit = el("button", { type: "submit", className: "btn primary small" }, t("incident.submit"));
    const cancel = el("button", { type: "button", className: "btn small" }, t("incident.cancel"));
    cancel.addEventListener("click", () => {
      this.form = null;
      this.render();
    });
    form.append(el("div", { className: "row" }, submit, cancel));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      submit.textContent = t("incident.sending");
      try {
        await this.takeStep(action, {
          note: note.value.trim(),
          department: department?.value,
          departmentJurisdiction: departmentJurisdiction?.value,
          photos: photos ? photos.files : [],
        });
      } finally {
        submit.disabled = false;
        submit.textContent = t("incident.submit");
      }
    });
    return form;
  }

  /** The caller's subtree of jurisdictions, read once (names for codes, dispatch targets). */
  async ensureJurisdictions() {
    if (this.jurisdictions) return this.jurisdictions;
    try {
      this.jurisdictions = await loadJurisdictions();
    } catch (err) {
      console.warn("cimtwin: jurisdictions", err.message);
      return [];
    }
    return this.jurisdictions;
  }

  /**
   * Offer the nodes a department may be dispatched from: the incident's jurisdiction and
   * those above it, inside the caller's subtree; the caller's own node first chosen.
   */
  async fillJurisdictions(select, incidentJurisdiction) {
    const nodes = await this.ensureJurisdictions();
    const byCode = new Map(nodes.map((j) => [j.code, j]));
    const chain = [];
    for (let code = incidentJurisdiction; code && byCode.has(code); code = byCode.get(code).parent) chain.unshift(byCode.get(code));
    const mine = this.app.me?.jurisdiction?.code;
    const preferred = chain.some((j) => j.code === mine) ? mine : incidentJurisdiction;
    const options = chain.map((j) => el("option", { value: j.code, selected: j.code === preferred }, `${j.name} (${t(`auth.level.${j.level}`)})`));
    if (!chain.length && incidentJurisdiction) options.push(el("option", { value: incidentJurisdiction, selected: true }, incidentJurisdiction));
    select.replaceChildren(...options);
  }

  /**
   * Take `action` on the open incident (what the forms send; tests may call it for an action
   * the page does not offer, to see the server refuse it). Resolves true when taken.
   */
  async takeStep(action, { note = "", department, departmentJurisdiction, photos = [] } = {}) {
    const detail = this.detail;
    if (!detail) return false;
    const fail = (text) => {
      this.message = { kind: "error", text };
      this.renderMessage();
      return false;
    };
    if (this.form?.action === action) {
      // what the page checks itself before asking (the server checks it again)
      if (this.needsNote(action) && !note) return fail(t("incident.needNote"));
      if (this.needsDepartment(action) && (!department || !departmentJurisdiction)) return fail(t("incident.needDepartment"));
      const bad = PhotoInput.problems(photos, this.layer.codes.maxPhotoMb);
      if (bad.length) return fail(bad.join(" "));
    }
    const form = new FormData();
    form.append("action", action);
    form.append("version", String(detail.version));
    if (note) form.append("note", note);
    if (department) form.append("department", department);
    if (departmentJurisdiction) form.append("department_jurisdiction", departmentJurisdiction);
    for (const photo of photos) form.append("photos", photo, photo.name);
    let updated;
    try {
      updated = await postForm(`/api/incidents/${encodeURIComponent(detail.id)}/steps`, form);
    } catch (err) {
      if (err.status === 409 && /changed|version/i.test(err.reason || "")) {
        this.form = null;
        await this.open(this.openId, { kind: "error", text: `${t("incident.changed")} (${err.reason})` });
        return false;
      }
      return fail(t("incident.refused", { status: err.status ?? "—", reason: err.reason || err.message }));
    }
    this.form = null;
    const done = { kind: "info", text: t("incident.done", { action: this.layer.actionName(action) }) };
    if (updated && updated.steps) {
      this.detail = updated;
      this.layer.put(summaryOf(updated));
      this.layer.changed();
      this.message = done;
      this.render();
    } else {
      await this.open(this.openId, done);
    }
    return true;
  }

  // ------------------------------------------------------------ the report form

  showReport() {
    this.token += 1;
    this.openId = null;
    this.detail = null;
    this.form = null;
    this.state = "report";
    this.show();
    this.ui.panel.dataset.state = "report";
    delete this.ui.panel.dataset.incident;
    this.ui.title.textContent = t("incident.report.title");
    this.ui.body.replaceChildren(this.report.render());
    this.layer.list.render();
  }

  reportClick(position) {
    return this.state === "report" && this.report.mapClick(position);
  }
}

/** The summary fields of a detail (what the list and markers keep). */
function summaryOf(detail) {
  const { steps: _steps, actions: _actions, attributes: _attributes, contact: _contact, ...summary } = detail;
  return summary;
}

function contactText(contact) {
  if (typeof contact !== "object") return String(contact);
  return Object.values(contact).filter(Boolean).join(" · ");
}

