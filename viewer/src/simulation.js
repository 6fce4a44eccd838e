// The 模拟 / Simulate tab: pick a model (GET /api/simulations/models), set its parameters
// (simulationform.js; for the sunlight model the sun and shadows at a chosen instant,
// simulationsun.js), run it as a job (POST /api/simulations, then GET /api/jobs/{id} until it
// ends, with a progress bar), see the result over the city (simulationresult.js), reopen a
// past run (GET /api/simulations/runs, newest first) and compare two runs of one model
// (GET /api/simulations/runs/{a}/compare/{b}). The models are read when the tab is first
// opened.
//
// For automated tests: window.cimtwin.simulation = this panel: models, model (chosen),
// form (values(), set(name, value)), sun (state()), result (state()), runs, lastJob, jobLog,
// comparison, selectModel(name), run() (resolves with the job when it ends), openRun(id),
// compare(a, b), loadRuns(), state().

import { el } from "./api.js";
import { getLanguage, onLanguageChange, t } from "./i18n.js";
import { SimulationForm } from "./simulationform.js";
import { MapPicker } from "./simulationmap.js";
import { layerEntries, ResultView, runBase, summaryLabel, summaryText } from "./simulationresult.js";
import { SunView } from "./simulationsun.js";
import "./simstrings.js";

const POLL_MS = 500;
const RUNS_SHOWN = 20;
const DIFFERENCES_SHOWN = 12;
const BEIJING_OFFSET_MS = 8 * 3600 * 1000; // the sunlight model's shadow time is Beijing time

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class SimulationPanel {
  constructor(app, root, tabButton) {
    this.app = app;
    this.root = root;
    this.models = null;
    this.model = null;
    this.runs = [];
    this.lastJob = null;
    this.jobLog = []; // {status, progress} of each poll of the last job
    this.comparison = null;
    this.loading = null;
    this.busy = false;
    this.picks = { a: null, b: null };
    this.picker = new MapPicker(app);
    this.build();
    this.form = new SimulationForm(this.ui.form, this.picker, (values) => this.sun.follow(values));
    this.sun = new SunView(app, this.ui.sun, (instant) => this.sunMoved(instant));
    this.sun.setVisible(false);
    this.result = new ResultView(app, this.ui.result);
    if (tabButton) tabButton.addEventListener("click", () => this.open());
    onLanguageChange(() => this.translate());
  }

  build() {
    const ui = {};
    ui.modelLabel = el("span", null);
    ui.model = el("select", { className: "sim-model" });
    ui.description = el("p", { className: "hint sim-model-description" });
    ui.paramsTitle = el("h4", null);
    ui.form = el("div", { className: "sim-form" });
    ui.sun = el("div", { className: "sim-sun" });
    ui.run = el("button", { type: "button", className: "btn primary sim-run" });
    ui.status = el("span", { className: "sim-status", role: "status", "aria-live": "polite" });
    ui.bar = el("progress", { max: 100, value: 0 });
    ui.progress = el("div", { className: "sim-progress" }, ui.bar);
    ui.progress.hidden = true;
    ui.error = el("p", { className: "error sim-error" });
    ui.error.hidden = true;
    ui.resultTitle = el("h3", null);
    ui.result = el("div", { className: "sim-result" });
    ui.runsTitle = el("h3", null);
    ui.refresh = el("button", { type: "button", className: "btn small" });
    ui.runs = el("ul", { className: "sim-runs" });
    ui.compare = el("button", { type: "button", className: "btn small sim-compare-btn" });
    ui.compareHint = el("p", { className: "hint" });
    ui.comparison = el("div", { className: "sim-comparison" });
    ui.model.addEventListener("change", () => this.selectModel(ui.model.value));
    ui.run.addEventListener("click", () => this.run().catch(() => {}));
    ui.refresh.addEventListener("click", () => this.loadRuns().catch(() => {}));
    ui.compare.addEventListener("click", () => this.compare(this.picks.a, this.picks.b).catch(() => {}));
    this.root.replaceChildren(
      el("label", { className: "field" }, ui.modelLabel, ui.model),
      ui.description,
      ui.paramsTitle,
      ui.form,
      ui.sun,
      el("div", { className: "row sim-actions" }, ui.run, ui.status),
      ui.progress,
      ui.error,
      ui.resultTitle,
      ui.result,
      el("div", { className: "sim-runs-head" }, ui.runsTitle, ui.refresh),
      ui.runs,
      el("div", { className: "row" }, ui.compare),
      ui.compareHint,
      ui.comparison,
    );
    this.ui = ui;
    this.translate(false);
  }

  /** Static text in the current language; the form, result and runs again (values kept). */
  translate(again = true) {
    const { ui } = this;
    ui.modelLabel.textContent = t("sim.model");
    ui.paramsTitle.textContent = t("sim.parameters");
    ui.run.textContent = this.busy ? t("sim.running") : t("sim.run");
    ui.resultTitle.textContent = t("sim.result");
    ui.runsTitle.textContent = t("sim.runs");
    ui.refresh.textContent = t("sim.refresh");
    ui.compare.textContent = t("sim.compare");
    ui.compareHint.textContent = t("sim.compareHint");
    if (!again) return;
    const runId = this.lastJob?.result?.run_id;
    if (!this.busy && runId && this.lastJob.status === "succeeded") ui.status.textContent = t("sim.done", { run: runId });
    this.sun.translate();
    if (this.models) this.renderModels();
    if (this.model) {
      const values = this.form.values();
      this.form.render(this.model);
      for (const [name, value] of Object.entries(values)) this.form.set(name, value);
      ui.description.textContent = this.model.description || "";
    }
    this.result.render();
    this.renderRuns();
    if (this.comparison) this.renderComparison(this.comparison);
  }

  // ---------------------------------------------------------------- models

  /** Read the models and the runs (once), when the tab is first opened. */
  open() {
    if (!this.loading) {
      this.loading = this.load().catch((err) => {
        this.loading = null;
        this.showError(t("sim.modelsFailed", { error: err.message || err }));
        throw err;
      });
    }
    return this.loading;
  }

  async load() {
    this.ui.status.textContent = t("sim.loading");
    this.models = await this.app.util.getJson("/api/simulations/models");
    this.ui.status.textContent = this.models.length ? "" : t("sim.noModels");
    this.renderModels();
    if (this.models.length) this.selectModel(this.models[0].name);
    await this.loadRuns();
  }

  modelTitle(name) {
    const model = (this.models || []).find((m) => m.name === name);
    if (!model) return name;
    const title = model.title || {};
    return (getLanguage() === "zh-CN" ? title.zh : title.en) || title.en || title.zh || name;
  }

  renderModels() {
    const chosen = this.model?.name;
    this.ui.model.replaceChildren(...this.models.map((m) => el("option", { value: m.name }, this.modelTitle(m.name))));
    if (chosen) this.ui.model.value = chosen;
  }

  /** Choose model `name`: its form (defaults filled), the sun controls for the sunlight model. */
  selectModel(name) {
    const model = (this.models || []).find((m) => m.name === name);
    if (!model) throw new Error(`no simulation model ${name}`);
    this.model = model;
    this.ui.model.value = name;
    this.ui.description.textContent = model.description || "";
    this.form.render(model);
    this.sun.setVisible(name === "sunlight");
    if (name === "sunlight") this.sun.follow(this.form.values());
    this.hideError();
    return model;
  }

  /** The sun view moved: a form's shadow time (Beijing time, HH:MM) follows it. */
  sunMoved(instant) {
    if (!this.form.fields.some((f) => f.name === "shadow_time")) return;
    const beijing = new Date(instant.getTime() + BEIJING_OFFSET_MS);
    const hhmm = `${String(beijing.getUTCHours()).padStart(2, "0")}:${String(beijing.getUTCMinutes()).padStart(2, "0")}`;
    this.form.set("shadow_time", hhmm);
  }

  // ---------------------------------------------------------------- running

  /** Submit the chosen model with the form's parameters; resolves with the ended job once
   * its result is shown (null when it could not be followed). */
  async run(parameters) {
    if (this.busy || !this.model) return null;
    this.hideError();
    this.setBusy(true);
    try {
      return await this.submitAndShow(parameters ?? this.form.values());
    } finally {
      this.setBusy(false);
    }
  }

  async submitAndShow(parameters) {
    let submitted;
    try {
      submitted = await this.app.util.postJson("/api/simulations", { model: this.model.name, parameters });
    } catch (err) {
      this.showError(t("sim.refused", { error: err.message || err }));
      throw err;
    }
    const job = submitted.job || submitted;
    this.jobLog = [];
    this.showJob(job);
    const ended = await this.follow(submitted.url || `/api/jobs/${job.id}`);
    if (!ended) return null;
    if (ended.status !== "succeeded") {
      this.showError(t("sim.failed", { error: this.app.util.serverText(ended.error || ended.message || ended.status) }));
      return ended;
    }
    const runId = ended.result?.run_id;
    await Promise.allSettled([this.openRun(runId), this.loadRuns()]);
    this.ui.status.textContent = t("sim.done", { run: runId });
    return ended;
  }

  /** Poll the job at `url` until it ends (null when it cannot be followed). */
  async follow(url) {
    let failures = 0;
    for (;;) {
      let job;
      try {
        job = await this.app.util.getJson(url);
        failures = 0;
      } catch (err) {
        failures += 1;
        if (err.status === 404 || failures >= 10) {
          this.showError(t("sim.lostTrack", { error: err.message || err }));
          return null;
        }
        await sleep(POLL_MS);
        continue;
      }
      this.showJob(job);
      if (job.status === "succeeded" || job.status === "failed") return job;
      await sleep(POLL_MS);
    }
  }

  showJob(job) {
    this.lastJob = job;
    this.jobLog.push({ status: job.status, progress: Number(job.progress) || 0 });
    const percent = Math.max(0, Math.min(100, Number(job.progress) || 0));
    this.ui.progress.hidden = false;
    this.ui.progress.dataset.status = job.status;
    this.ui.bar.value = job.status === "succeeded" ? 100 : percent;
    this.ui.status.textContent = this.app.util.jobText(job);
  }

  setBusy(busy) {
    this.busy = busy;
    this.ui.run.disabled = busy;
    this.ui.run.textContent = busy ? t("sim.running") : t("sim.run");
  }

  showError(text) {
    this.ui.error.textContent = text;
    this.ui.error.hidden = false;
  }

  hideError() {
    this.ui.error.hidden = true;
    this.ui.error.textContent = "";
  }

  // ---------------------------------------------------------------- runs

  async loadRuns() {
    this.runs = await this.app.util.getJson(`/api/simulations/runs?limit=${RUNS_SHOWN}`);
    this.renderRuns();
    return this.runs;
  }

  /** Show run `id` over the city. */
  async openRun(id) {
    const run = await this.app.util.getJson(runBase(id));
    try {
      await this.result.show(run);
    } catch (err) {
      this.showError(t("sim.failed", { error: err.message || err }));
      throw err;
    }
    this.renderRuns();
    return run;
  }

  renderRuns() {
    const { ui } = this;
    if (!this.runs.length) {
      ui.runs.replaceChildren(el("li", { className: "hint" }, t("sim.noRuns")));
      return;
    }
    ui.runs.replaceChildren(...this.runs.map((run) => this.runRow(run)));
  }

  runRow(run) {
    const first = Object.entries(run.summary || {})[0];
    const figure = first ? (({ label, unit }) => `${label} ${summaryText(first[1], unit)}`)(summaryLabel(first[0])) : "";
    const when = run.finished || run.started;
    const open = el("button", { type: "button", className: "btn small" }, t("sim.open"));
    open.addEventListener("click", () => this.openRun(run.id).catch(() => {}));
    const pick = (side) => {
      const radio = el("input", { type: "radio", name: `sim-compare-${side}`, value: run.id, checked: this.picks[side] === run.id });
      radio.addEventListener("change", () => (this.picks[side] = run.id));
      return el("label", { className: "sim-pick", title: t(side === "a" ? "sim.compareA" : "sim.compareB") }, radio, t(side === "a" ? "sim.compareA" : "sim.compareB"));
    };
    const row = el(
      "li",
      { className: "sim-run-row" },
      el("div", null, el("b", null, this.modelTitle(run.model)), " ", el("small", null, when ? new Date(when).toLocaleString(getLanguage()) : "")),
      el("div", { className: "hint" }, figure),
      el("div", { className: "row" }, open, pick("a"), pick("b")),
    );
    row.dataset.run = run.id;
    row.dataset.model = run.model;
    row.classList.toggle("current", this.result.run?.id === run.id);
    return row;
  }

  // ---------------------------------------------------------------- comparing

  /** Compare runs `a` and `b` (ids, same model): summaries side by side, what differs. */
  async compare(a, b) {
    const [runA, runB] = [a, b].map((id) => this.runs.find((r) => r.id === id));
    if (!a || !b || a === b || (runA && runB && runA.model !== runB.model)) {
      this.ui.comparison.replaceChildren(el("p", { className: "error" }, t("sim.compareSame")));
      return null;
    }
    this.picks = { a, b };
    let answer;
    try {
      answer = await this.app.util.getJson(`${runBase(a)}/compare/${encodeURIComponent(b)}`);
    } catch (err) {
      this.ui.comparison.replaceChildren(el("p", { className: "error" }, t("sim.compareFailed", { error: err.message || err })));
      throw err;
    }
    this.comparison = { a, b, answer, runA: runA || null, runB: runB || null };
    this.renderComparison(this.comparison);
    return answer;
  }

  renderComparison({ answer, runA, runB }) {
    const summaryA = sideOf(answer, "a")?.summary ?? runA?.summary ?? {};
    const summaryB = sideOf(answer, "b")?.summary ?? runB?.summary ?? {};
    const keys = [...new Set([...Object.keys(summaryA), ...Object.keys(summaryB)])];
    const table = el("table", { className: "sim-compare-table" });
    table.append(el("tr", null, el("th", null, ""), el("th", null, "A"), el("th", null, "B"), el("th", null, "Δ")));
    for (const key of keys) {
      const { label, unit } = summaryLabel(key);
      const [va, vb] = [summaryA[key], summaryB[key]];
      const delta = typeof va === "number" && typeof vb === "number" ? summaryText(vb - va, unit) : "";
      const row = el("tr", null, el("th", null, label), el("td", null, summaryText(va, unit)), el("td", null, summaryText(vb, unit)), el("td", null, delta));
      row.dataset.key = key;
      table.append(row);
    }
    const parts = [table];
    const titles = new Map(layerEntries(runA?.values).map((v) => [v.name, v.title || v.name]));
    for (const [name, differences] of Object.entries(answer.values || {})) {
      const changed = Object.entries(differences || {});
      const block = el("section", { className: "sim-differences" }, el("h4", null, t("sim.changed", { title: titles.get(name) || name, n: changed.length })));
      block.dataset.values = name;
      block.dataset.count = String(changed.length);
      if (changed.length) {
        const list = el("table", { className: "sim-compare-table" }, el("tr", null, el("th", null, t("sim.object")), el("th", null, "A"), el("th", null, "B")));
        for (const [id, pair] of changed.slice(0, DIFFERENCES_SHOWN)) {
          const [va, vb] = Array.isArray(pair) ? pair : [pair?.a, pair?.b];
          const row = el("tr", null, el("td", null, el("code", null, id)), el("td", null, summaryText(va, "")), el("td", null, summaryText(vb, "")));
          row.addEventListener("click", () => this.app.select(id, { fly: true }));
          list.append(row);
        }
        block.append(list);
      }
      parts.push(block);
    }
    for (const [name, diff] of Object.entries(answer.rasters || {})) {
      const fmt = (v) => summaryText(v, "");
      const p = el("p", { className: "sim-raster-diff" }, t("sim.rasterDiff", { title: name, min: fmt(diff?.min), max: fmt(diff?.max), mean: fmt(diff?.mean) }));
      p.dataset.raster = name;
      parts.push(p);
    }
    this.ui.comparison.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------- map and tests

  /** Take a left click on the map while a point or polygon is being picked. */
  mapClick(position) {
    return this.picker.mapClick(position);
  }

  state() {
    return {
      loaded: Boolean(this.models),
      model: this.model?.name ?? null,
      busy: this.busy,
      job: this.lastJob,
      jobLog: this.jobLog,
      progress: this.ui.progress.hidden ? null : Number(this.ui.bar.value),
      error: this.ui.error.hidden ? null : this.ui.error.textContent,
      runs: this.runs.map((r) => r.id),
      result: this.result.state(),
      sun: this.sun.state(),
      comparison: this.comparison ? { a: this.comparison.a, b: this.comparison.b } : null,
    };
  }
}

/** One side ("a" or "b") of a comparison answer, as the server names it. */
function sideOf(answer, side) {
  if (answer[side]) return answer[side];
  if (answer[`run_${side}`]) return answer[`run_${side}`];
  if (answer.summaries) return { summary: answer.summaries[side] ?? answer.summaries[side === "a" ? 0 : 1] };
  return null;
}
