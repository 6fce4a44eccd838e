// The incident dashboard: figures of the user's jurisdiction (or one of its sub-
// jurisdictions) over a period, as hand-written SVG charts (dashboardcharts.js): incidents
// by status, by category and by sub-jurisdiction, the overdue count, the mean time to
// close, opened and closed per day; a CSV download. zh-CN and English.
//
// API used: GET /api/jurisdictions?geometry=false (the picker), GET /api/incidents/stats
// (four groupings at once), GET /api/incidents/stats.csv (the download, with the token).
//
// For automated tests: window.cimtwin.dashboard = {state ("idle" | "loading" | "ready" |
// "error"), error, params (the query of the figures shown), data ({status, category,
// jurisdiction, time}: the API's answers), open(), close(), load()}.

import { el, getJson } from "./api.js";
import { authHeaders } from "./auth.js";
import { barChart, lineChart, stackedBarChart } from "./dashboardcharts.js";
import { formatNumber, getLanguage, onLanguageChange } from "./i18n.js";

const STRINGS = {
  "zh-CN": {
    open: "统计",
    openTitle: "事件统计看板",
    title: "事件统计",
    close: "关闭",
    node: "辖区",
    period: "时段",
    days: "近 {n} 天",
    csv: "导出 CSV",
    csvBy: "分组",
    loading: "加载中…",
    failed: "无法加载统计：{error}",
    opened: "新增",
    closed: "结案",
    openNow: "在办",
    overdueNow: "当前超期",
    overdueInPeriod: "时段内超期",
    meanClose: "平均结案用时",
    hours: "{n} 小时",
    byStatus: "按当前状态（时段内新增）",
    byCategory: "按类别（时段内新增）",
    byJurisdiction: "按下级辖区",
    perDay: "每日新增与结案",
    perWeek: "每周新增与结案",
    onTime: "在办未超期",
    overdue: "在办已超期",
    closedInPeriod: "时段内结案",
    none: "无数据",
    "group.category": "类别",
    "group.status": "状态",
    "group.jurisdiction": "辖区",
    "group.day": "日",
    "group.week": "周",
    "group.month": "月",
  },
  en: {
    open: "Stats",
    openTitle: "Incident dashboard",
    title: "Incident statistics",
    close: "Close",
    node: "Jurisdiction",
    period: "Period",
    days: "Last {n} days",
    csv: "Download CSV",
    csvBy: "Group by",
    loading: "Loading…",
    failed: "Cannot load the statistics: {error}",
    opened: "Opened",
    closed: "Closed",
    openNow: "Open now",
    overdueNow: "Overdue now",
    overdueInPeriod: "Overdue in period",
    meanClose: "Mean time to close",
    hours: "{n} h",
    byStatus: "By current status (opened in the period)",
    byCategory: "By category (opened in the period)",
    byJurisdiction: "By sub-jurisdiction",
    perDay: "Opened and closed per day",
    perWeek: "Opened and closed per week",
    onTime: "Open, on time",
    overdue: "Open, overdue",
    closedInPeriod: "Closed in the period",
    none: "No data",
    "group.category": "category",
    "group.status": "status",
    "group.jurisdiction": "jurisdiction",
    "group.day": "day",
    "group.week": "week",
    "group.month": "month",
  },
};

const PERIODS = [7, 30, 90];
const GROUPINGS = ["jurisdiction", "category", "status", "day", "week", "month"];
const STATUS_COLORS = {
  reported: "#8b5cf6", registered: "#3b82f6", not_accepted: "#9ca3af", dispatched: "#06b6d4",
  handling: "#f59e0b", handled: "#84cc16", verified: "#10b981", closed: "#6b7280", suspended: "#a16207",
};
const COLORS = { opened: "#3b82f6", closed: "#10b981", onTime: "#f59e0b", overdue: "#e5322d" };

function s(key, vars) {
  const text = STRINGS[getLanguage()]?.[key] ?? STRINGS.en[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : text;
}

/** A group's name in the current language. */
function nameOf(group) {
  return getLanguage() === "zh-CN" ? group.zh : group.en;
}

/** `2026-11-01T00:00:00+08:00`: local midnight `daysAgo` days before today. */
function localMidnight(daysAgo) {
  const day = new Date();
  day.setHours(0, 0, 0, 0);
  day.setDate(day.getDate() - daysAgo);
  const pad = (n) => String(Math.abs(n)).padStart(2, "0");
  const offset = -day.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const date = `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
  return `${date}T00:00:00${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

export class Dashboard {
  constructor(app) {
    this.app = app;
    this.state = "idle";
    this.error = null;
    this.params = null;
    this.data = null;
    this.nodes = null;
    this.build();
    onLanguageChange(() => {
      this.label();
      if (this.data) this.render();
    });
  }

  build() {
    const link = el("link", { rel: "stylesheet", href: "/dashboard.css" });
    document.head.append(link);
    this.button = el("button", { id: "dashboard-open", className: "btn", type: "button", "aria-haspopup": "dialog" });
    this.button.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
    const topbar = document.getElementById("topbar");
    topbar?.insertBefore(this.button, document.getElementById("lang-toggle"));

    this.nodeSelect = el("select", { id: "dashboard-node" });
    this.periodSelect = el("select", { id: "dashboard-period" });
    for (const days of PERIODS) this.periodSelect.append(el("option", { value: String(days) }));
    this.periodSelect.value = "30";
    this.csvGroup = el("select", { id: "dashboard-csv-group" });
    for (const grouping of GROUPINGS) this.csvGroup.append(el("option", { value: grouping }));
    this.csvButton = el("button", { id: "dashboard-csv", className: "btn small", type: "button" });
    this.closeButton = el("button", { className: "info-close", type: "button" }, "×");
    this.heading = el("h2", { className: "info-title", id: "dashboard-title" });
    this.status = el("p", { className: "hint dashboard-status", role: "status" });
    this.body = el("div", { className: "dashboard-body" });
    this.labels = { node: el("span"), period: el("span"), csvBy: el("span") };
    this.panel = el(
      "aside",
      { id: "dashboard", className: "dashboard", hidden: true, "aria-labelledby": "dashboard-title" },
      el("header", { className: "info-head" }, this.heading, this.closeButton),
      el(
        "div",
        { className: "dashboard-controls" },
        el("label", { className: "field" }, this.labels.node, this.nodeSelect),
        el("label", { className: "field" }, this.labels.period, this.periodSelect),
        el("label", { className: "field" }, this.labels.csvBy, this.csvGroup),
        this.csvButton,
      ),
      this.status,
      this.body,
    );
    document.body.append(this.panel);
    this.closeButton.addEventListener("click", () => this.close());
    this.nodeSelect.addEventListener("change", () => this.load());
    this.periodSelect.addEventListener("change", () => this.load());
    this.csvButton.addEventListener("click", () => this.download().catch((err) => this.fail(err)));
    this.label();
  }

  label() {
    this.button.textContent = s("open");
    this.button.title = s("openTitle");
    this.heading.textContent = s("title");
    this.closeButton.title = s("close");
    this.closeButton.setAttribute("aria-label", s("close"));
    this.labels.node.textContent = s("node");
    this.labels.period.textContent = s("period");
    this.labels.csvBy.textContent = s("csvBy");
    this.csvButton.textContent = s("csv");
    for (const option of this.periodSelect.options) option.textContent = s("days", { n: option.value });
    for (const option of this.csvGroup.options) option.textContent = s(`group.${option.value}`);
  }

  async open() {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    if (!this.nodes) await this.loadNodes();
    await this.load();
  }

  close() {
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  /** The jurisdictions the user may pick: their tree, flattened, indented by depth. */
  async loadNodes() {
    try {
      const trees = await getJson("/api/jurisdictions?geometry=false");
      this.nodes = [];
      const walk = (node, depth) => {
        this.nodes.push({ code: node.code, name: node.name, depth });
        if (depth < 2) for (const child of node.children) walk(child, depth + 1);
      };
      for (const tree of trees) walk(tree, 0);
    } catch (err) {
      this.nodes = []; // no tree: the API's default node (the user's own)
      console.error("cimtwin: cannot list the jurisdictions", err);
    }
    this.nodeSelect.replaceChildren(
      ...this.nodes.map((n) => el("option", { value: n.code }, `${"\u2003".repeat(n.depth)}${n.name}`)),
    );
    this.nodeSelect.hidden = this.nodes.length === 0;
  }

  /** The query of the figures: node, period (local days, today included), time grouping. */
  query() {
    const days = Number(this.periodSelect.value) || 30;
    const params = { start: localMidnight(days - 1), end: localMidnight(-1) };
    if (this.nodeSelect.value) params.jurisdiction = this.nodeSelect.value;
    return { params, time: days > 31 ? "week" : "day" };
  }

  async load() {
    const { params, time } = this.query();
    const asked = JSON.stringify(params);
    this.state = "loading";
    this.status.textContent = s("loading");
    const ask = (groupBy) => getJson(`/api/incidents/stats?${new URLSearchParams({ ...params, groupBy })}`);
    try {
      const [status, category, jurisdiction, series] = await Promise.all(
        ["status", "category", "jurisdiction", time].map(ask),
      );
      if (JSON.stringify(this.query().params) !== asked) return; // asked again meanwhile
      this.params = params;
      this.data = { status, category, jurisdiction, time: series };
      this.render();
      this.status.textContent = "";
      this.state = "ready";
    } catch (err) {
      this.fail(err);
    }
  }

  fail(err) {
    this.state = "error";
    this.error = err.message || String(err);
    this.status.textContent = s("failed", { error: this.error });
  }

  render() {
    const { status, category, jurisdiction, time } = this.data;
    const total = status.total;
    const mean = total.timeToClose.meanMinutes;
    const kpis = [
      ["opened", total.opened], ["closed", total.closed], ["openNow", total.openNow],
      ["overdueNow", total.overdueNow], ["overdueInPeriod", total.overdueInPeriod],
      ["meanClose", mean === null ? "—" : s("hours", { n: formatNumber(mean / 60, 1) })],
    ];
    const tiles = el("div", { className: "dashboard-kpis" });
    for (const [key, value] of kpis) {
      tiles.append(el("div", { className: `kpi kpi-${key}`, dataset: { kpi: key } },
        el("b", null, typeof value === "number" ? formatNumber(value) : value), el("span", null, s(key))));
    }
    const byStatus = status.groups.map((g) => ({ key: g.key, label: nameOf(g), value: g.opened, color: STATUS_COLORS[g.key] }));
    const byCategory = category.groups.filter((g) => g.opened > 0).map((g) => ({ key: g.key, label: nameOf(g), value: g.opened }));
    const parts = [
      { key: "closed", label: s("closedInPeriod"), color: COLORS.closed },
      { key: "onTime", label: s("onTime"), color: COLORS.onTime },
      { key: "overdue", label: s("overdue"), color: COLORS.overdue },
    ];
    const byNode = jurisdiction.groups.map((g) => ({
      key: g.key, label: nameOf(g),
      values: { closed: g.closed, onTime: (g.openNow || 0) - (g.overdueNow || 0), overdue: g.overdueNow || 0 },
    }));
    const labels = time.groups.map((g) => g.key);
    const lines = [
      { key: "opened", label: s("opened"), color: COLORS.opened, values: time.groups.map((g) => g.opened) },
      { key: "closed", label: s("closed"), color: COLORS.closed, values: time.groups.map((g) => g.closed) },
    ];
    const none = s("none");
    const section = (name, heading, chart) =>
      el("section", { className: "dashboard-chart", dataset: { chart: name } }, el("h3", null, heading), chart);
    this.body.replaceChildren(
      tiles,
      section("status", s("byStatus"), barChart(byStatus, { emptyText: none, label: s("byStatus") })),
      section("category", s("byCategory"), barChart(byCategory, { emptyText: none, label: s("byCategory") })),
      section("jurisdiction", s("byJurisdiction"), stackedBarChart(byNode, parts, { emptyText: none, label: s("byJurisdiction") })),
      section("time", s(time.groupBy === "week" ? "perWeek" : "perDay"), lineChart(labels, lines, { emptyText: none })),
    );
  }

  /** Download the figures as CSV (fetched with the session's token, saved by the browser). */
  async download() {
    const params = { ...(this.params || this.query().params), groupBy: this.csvGroup.value };
    const response = await fetch(`/api/incidents/stats.csv?${new URLSearchParams(params)}`, { headers: authHeaders() });
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || "incident-stats.csv";
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
