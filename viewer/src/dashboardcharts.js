// Hand-written SVG charts for the incident dashboard (dashboard.js): bars, stacked bars and
// lines, no chart library. Each chart is an <svg> whose marks carry their data for tests
// and tooltips: a bar or segment <rect class="bar" data-key data-series data-value>, a line
// point <circle class="point" data-key data-series data-value>; every mark has a <title>.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 440;
const ROW = 22; // height of a horizontal bar's row
const LABEL = 120; // room for the labels left of horizontal bars
const PAD = 8;

/** An SVG element with attributes; children appended (text nodes for strings). */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function title(text) {
  return svg("title", null, text);
}

/** A "nice" upper bound of an axis holding `max` (1, 2, 5 times a power of ten). */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function shorten(text, chars) {
  const value = String(text);
  return value.length > chars ? `${value.slice(0, chars - 1)}…` : value;
}

function empty(root, text) {
  root.append(svg("text", { x: WIDTH / 2, y: 24, "text-anchor": "middle", class: "chart-empty" }, text));
  return root;
}

/**
 * Horizontal bars: `rows` [{key, label, value}], one colour (or `row.color`).
 * `format(value)` writes the value beside each bar.
 */
export function barChart(rows, { color = "#3b82f6", format = String, emptyText = "—", label = "" } = {}) {
  const height = Math.max(1, rows.length) * ROW + 2 * PAD;
  const root = svg("svg", { class: "chart bar-chart", viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": label });
  if (!rows.length) return empty(root, emptyText);
  const max = niceMax(Math.max(...rows.map((r) => r.value || 0)));
  const span = WIDTH - LABEL - 50;
  rows.forEach((row, i) => {
    const y = PAD + i * ROW;
    const w = ((row.value || 0) / max) * span;
    root.append(
      svg("text", { x: LABEL - 6, y: y + ROW * 0.65, "text-anchor": "end", class: "chart-label" }, shorten(row.label, 14)),
      svg("rect", {
        class: "bar", x: LABEL, y: y + 3, width: Math.max(w, row.value ? 1 : 0), height: ROW - 6,
        fill: row.color || color, "data-key": row.key, "data-series": "value", "data-value": row.value || 0,
      }, title(`${row.label}: ${format(row.value || 0)}`)),
      svg("text", { x: LABEL + w + 4, y: y + ROW * 0.65, class: "chart-value" }, format(row.value || 0)),
    );
  });
  return root;
}

/**
 * Horizontal stacked bars: `rows` [{key, label, values: {series: number}}], `series`
 * [{key, label, color}] in stacking order; a legend under the bars.
 */
export function stackedBarChart(rows, series, { emptyText = "—", label = "" } = {}) {
  const legendHeight = 20;
  const height = Math.max(1, rows.length) * ROW + 2 * PAD + legendHeight;
  const root = svg("svg", { class: "chart stacked-chart", viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": label });
  if (!rows.length) return empty(root, emptyText);
  const totals = rows.map((r) => series.reduce((sum, s) => sum + (r.values[s.key] || 0), 0));
  const max = niceMax(Math.max(...totals));
  const span = WIDTH - LABEL - 50;
  rows.forEach((row, i) => {
    const y = PAD + i * ROW;
    let x = LABEL;
    root.append(svg("text", { x: LABEL - 6, y: y + ROW * 0.65, "text-anchor": "end", class: "chart-label" }, shorten(row.label, 14)));
    for (const s of series) {
      const value = row.values[s.key] || 0;
      const w = (value / max) * span;
      root.append(svg("rect", {
        class: "bar", x, y: y + 3, width: w, height: ROW - 6, fill: s.color,
        "data-key": row.key, "data-series": s.key, "data-value": value,
      }, title(`${row.label} · ${s.label}: ${value}`)));
      x += w;
    }
    root.append(svg("text", { x: x + 4, y: y + ROW * 0.65, class: "chart-value" }, String(totals[i])));
  });
  legend(root, series, height - legendHeight + 4);
  return root;
}

/** About how wide `text` is at the charts' 11 px (CJK characters are square). */
function textWidth(text) {
  return [...String(text)].reduce((width, ch) => width + (ch.codePointAt(0) > 0x2e7f ? 11 : 6.5), 0);
}

function legend(root, series, y) {
  let x = LABEL;
  for (const s of series) {
    root.append(
      svg("rect", { x, y, width: 10, height: 10, fill: s.color, class: "legend-swatch" }),
      svg("text", { x: x + 14, y: y + 9, class: "chart-legend" }, s.label),
    );
    x += 24 + textWidth(s.label);
  }
}

/**
 * Lines over `labels` (the x axis, e.g. days): `series` [{key, label, color, values}],
 * values aligned with `labels`.
 */
export function lineChart(labels, series, { emptyText = "—", label = "" } = {}) {
  const height = 190;
  const left = 34;
  const bottom = height - 42;
  const top = PAD;
  const root = svg("svg", { class: "chart line-chart", viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": label });
  if (!labels.length) return empty(root, emptyText);
  const max = niceMax(Math.max(...series.flatMap((s) => s.values)));
  const step = labels.length > 1 ? (WIDTH - left - PAD) / (labels.length - 1) : 0;
  const xOf = (i) => left + (labels.length > 1 ? i * step : (WIDTH - left) / 2);
  const yOf = (v) => bottom - (v / max) * (bottom - top);
  for (const tick of [0, max / 2, max]) {
    root.append(
      svg("line", { x1: left, x2: WIDTH - PAD, y1: yOf(tick), y2: yOf(tick), class: "chart-grid" }),
      svg("text", { x: left - 4, y: yOf(tick) + 4, "text-anchor": "end", class: "chart-axis" }, Number.isInteger(tick) ? tick : tick.toFixed(1)),
    );
  }
  const every = Math.max(1, Math.ceil(labels.length / 7));
  labels.forEach((text, i) => {
    if (i % every === 0 || i === labels.length - 1) {
      root.append(svg("text", { x: xOf(i), y: bottom + 14, "text-anchor": "middle", class: "chart-axis" }, String(text).slice(5)));
    }
  });
  for (const s of series) {
    const points = s.values.map((v, i) => `${xOf(i).toFixed(1)},${yOf(v).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points, fill: "none", stroke: s.color, "stroke-width": 2, class: "line", "data-series": s.key }));
    s.values.forEach((v, i) => {
      root.append(svg("circle", {
        cx: xOf(i), cy: yOf(v), r: 3, fill: s.color, class: "point",
        "data-key": labels[i], "data-series": s.key, "data-value": v,
      }, title(`${labels[i]} · ${s.label}: ${v}`)));
    });
  }
  legend(root, series, height - 16);
  return root;
}
