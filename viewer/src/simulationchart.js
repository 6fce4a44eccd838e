// A run's charts as hand-written SVG (no chart library): a line chart over numeric x (the
// flooded area against the level) or a bar chart over categories (sun hours per façade).
// Input is a chart of run.json: {name, title, x_label, y_label, kind: "line" | "bar",
// series: [{name, x, y}]}. Marks carry their data for tests and tooltips: a line point
// <circle class="point" data-series data-x data-y>, a bar <rect class="bar" data-series
// data-x data-y>. Line series of two units (flooded_area_m2 and volume_m3: the unit is the
// end of the name) get an axis each, the second on the right. Series names and titles are
// shown through `labels` ({series(name), title, x, y}) where the caller translates them.

import { svg } from "./dashboardcharts.js";

const WIDTH = 440;
const HEIGHT = 232;
const LEFT = 48;
const RIGHT = 48;
const TOP = 10;
const BOTTOM = 56;
export const SERIES_COLORS = ["#3b82f6", "#f97316", "#10b981", "#e11d48", "#a855f7", "#eab308"];

/** Round tick values covering [low, high] (about `count` of them: steps of 1, 2 or 5 x 10^n). */
export function ticks(low, high, count = 4) {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return [0, 1];
  if (high === low) return [low];
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1] < high) out.push(Number((out[out.length - 1] + step).toPrecision(12))); // the top covered
  return out;
}

/** A short label of a number: 1.5k, 2M, 0.25, 1e-4. */
export function shortNumber(value) {
  const a = Math.abs(value);
  const trim = (v) => String(Number(v.toPrecision(3)));
  if (a >= 1e9) return `${trim(value / 1e9)}G`;
  if (a >= 1e6) return `${trim(value / 1e6)}M`;
  if (a >= 1e4) return `${trim(value / 1e3)}k`;
  if (a !== 0 && a < 1e-3) return value.toExponential(0);
  return trim(value);
}

/** A y axis over `values` (zero included): {ticks, yOf}. */
function yAxis(values) {
  const low = Math.min(0, ...values);
  const high = Math.max(...values) > low ? Math.max(...values) : low + 1;
  const marks = ticks(low, high);
  const top = Math.max(high, marks[marks.length - 1]);
  return { ticks: marks, yOf: (v) => HEIGHT - BOTTOM - ((v - low) / (top - low)) * (HEIGHT - TOP - BOTTOM) };
}

/** The unit at the end of a series name (area_m2 -> m2), "" when none. */
export function unitSuffix(name) {
  const match = /_(m2|m3|km2|m|km|mm|h|hours|pct|s)$/.exec(String(name));
  return match ? match[1] : "";
}

function axes(root, labels, left, right) {
  for (const tick of left.ticks) {
    root.append(
      svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: left.yOf(tick), y2: left.yOf(tick), class: "chart-grid" }),
      svg("text", { x: LEFT - 4, y: left.yOf(tick) + 4, "text-anchor": "end", class: "chart-axis" }, shortNumber(tick)),
    );
  }
  for (const tick of right ? right.ticks : []) {
    root.append(svg("text", { x: WIDTH - RIGHT + 4, y: right.yOf(tick) + 4, class: "chart-axis chart-axis-right" }, shortNumber(tick)));
  }
  const middle = TOP + (HEIGHT - TOP - BOTTOM) / 2;
  root.append(
    svg("text", { x: (LEFT + WIDTH - RIGHT) / 2, y: HEIGHT - 22, "text-anchor": "middle", class: "chart-axis-label" }, labels.x || ""),
    svg("text", { x: 10, y: middle, "text-anchor": "middle", class: "chart-axis-label",
      transform: `rotate(-90 10 ${middle})` }, labels.y || ""),
  ); // fmt: skip
}

function legend(root, series, label) {
  if (series.length < 2) return;
  let x = LEFT;
  series.forEach((s, i) => {
    const text = label(s.name);
    root.append(
      svg("rect", { x, y: HEIGHT - 14, width: 10, height: 10, fill: SERIES_COLORS[i % SERIES_COLORS.length] }),
      svg("text", { x: x + 14, y: HEIGHT - 5, class: "chart-legend" }, text),
    );
    x += 24 + [...text].reduce((w, ch) => w + (ch.codePointAt(0) > 0x2e7f ? 11 : 6.5), 0);
  });
}

/**
 * One chart of a run as an <svg class="chart sim-chart">; `labels` ({title, x, y,
 * series(name)}) replaces the chart's own texts.
 */
export function simulationChart(chart, labels = {}) {
  const texts = { title: chart.title, x: chart.x_label, y: chart.y_label, series: (name) => name, ...labels };
  const series = (chart.series || []).map((s) => ({ name: s.name, x: s.x || [], y: s.y || [] }));
  const root = svg("svg", {
    class: `chart sim-chart sim-chart-${chart.kind === "bar" ? "bar" : "line"}`,
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": texts.title || chart.name,
  }); // fmt: skip
  root.dataset.chart = chart.name;
  const finite = (list) => list.flatMap((s) => s.y).filter((v) => Number.isFinite(v));
  if (!finite(series).length) {
    root.append(svg("text", { x: WIDTH / 2, y: 24, "text-anchor": "middle", class: "chart-empty" }, "—"));
    return root;
  }
  // a second unit among line series: its own axis on the right
  const units = [...new Set(series.map((s) => unitSuffix(s.name)))];
  const twoAxes = chart.kind !== "bar" && units.length === 2;
  const onRight = (s) => twoAxes && unitSuffix(s.name) === units[1];
  const left = yAxis(finite(series.filter((s) => !onRight(s))));
  const right = twoAxes ? yAxis(finite(series.filter(onRight))) : null;
  axes(root, texts, left, right);
  if (chart.kind === "bar") bars(root, series, left.yOf);
  else lines(root, series, (s) => (onRight(s) ? right.yOf : left.yOf));
  legend(root, series, texts.series);
  return root;
}

function lines(root, series, yOfSeries) {
  const xs = series.flatMap((s) => s.x).map(Number).filter((v) => Number.isFinite(v));
  const xLow = Math.min(...xs);
  const xHigh = Math.max(...xs) > xLow ? Math.max(...xs) : xLow + 1;
  const xOf = (v) => LEFT + ((v - xLow) / (xHigh - xLow)) * (WIDTH - LEFT - RIGHT);
  for (const tick of ticks(xLow, xHigh, 5)) {
    root.append(svg("text", { x: xOf(tick), y: HEIGHT - BOTTOM + 14, "text-anchor": "middle", class: "chart-axis" }, shortNumber(tick)));
  }
  series.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    const yOf = yOfSeries(s);
    const points = s.x.map((x, j) => [Number(x), s.y[j]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    root.append(svg("polyline", {
      points: points.map(([x, y]) => `${xOf(x).toFixed(1)},${yOf(y).toFixed(1)}`).join(" "),
      fill: "none", stroke: color, "stroke-width": 2, class: "line", "data-series": s.name,
    })); // fmt: skip
    for (const [x, y] of points) {
      root.append(svg("circle", {
        cx: xOf(x), cy: yOf(y), r: points.length > 40 ? 1.5 : 3, fill: color, class: "point",
        "data-series": s.name, "data-x": x, "data-y": y,
      }, svg("title", null, `${shortNumber(x)} → ${shortNumber(y)}`))); // fmt: skip
    }
  });
}

function bars(root, series, yOf) {
  const categories = [...new Set(series.flatMap((s) => s.x.map(String)))];
  const band = (WIDTH - LEFT - RIGHT) / Math.max(1, categories.length);
  const width = (band * 0.8) / Math.max(1, series.length);
  const every = Math.max(1, Math.ceil(categories.length / 8));
  categories.forEach((category, k) => {
    if (k % every === 0) {
      // names often share their start (Block One N, Block One S): keep both ends
      const label = category.length > 12 ? `${category.slice(0, 5)}…${category.slice(-6)}` : category;
      root.append(svg("text", { x: LEFT + band * (k + 0.5), y: HEIGHT - BOTTOM + 14, "text-anchor": "middle", class: "chart-axis" }, label));
    }
  });
  series.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    s.x.forEach((x, j) => {
      const y = s.y[j];
      if (!Number.isFinite(y)) return;
      const k = categories.indexOf(String(x));
      const top = Math.min(yOf(y), yOf(0));
      root.append(svg("rect", {
        class: "bar", x: LEFT + band * k + band * 0.1 + width * i, y: top, width,
        height: Math.max(Math.abs(yOf(0) - yOf(y)), y ? 1 : 0), fill: color,
        "data-series": s.name, "data-x": x, "data-y": y,
      }, svg("title", null, `${x}: ${shortNumber(y)}`))); // fmt: skip
    });
  });
}
