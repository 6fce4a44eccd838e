// A small hand-written SVG chart of one datastream's series: raw values as a line, buckets
// (downsampled by the server) as their mean with the min–max band. Zoom with the wheel
// (around the pointer) or by dragging across a time span; a double click goes back to the
// whole series. A zoom redraws what is loaded at once and asks the owner (onRange) for the
// new range, which the server answers at a finer resolution.

import { getLanguage } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 336;
const HEIGHT = 168;
const PAD = { left: 44, right: 10, top: 10, bottom: 22 };
const MIN_SPAN_MS = 60_000;
const UNIT_MS = { s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

function node(tag, attrs, parent) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) element.setAttribute(key, String(value));
  if (parent) parent.append(element);
  return element;
}

/** Milliseconds in a resolution such as "5min", "1h" (0 when unknown). */
export function resolutionMs(text) {
  const match = /^(\d+)(s|min|h|d|w)$/.exec(text || "");
  return match ? Number(match[1]) * UNIT_MS[match[2]] : 0;
}

/**
 * The series answer as drawable rows: {t, half, mean, min, max}, a bucket at its middle
 * (`half` its half-width in ms), a raw value at its time (half 0, all three values equal).
 */
export function rowsOf(series) {
  const half = resolutionMs(series.resolution) / 2;
  if (series.resolution) {
    return series.buckets.map((b) => ({ t: Date.parse(b.start) + half, half, mean: b.mean, min: b.min, max: b.max }));
  }
  return series.points
    .filter((p) => typeof p.result === "number" && Number.isFinite(p.result))
    .map((p) => ({ t: Date.parse(p.time), half: 0, mean: p.result, min: p.result, max: p.result }));
}

export class SeriesChart {
  /** `onRange(startMs, endMs)` is called after a zoom (null, null: the whole series). */
  constructor(onRange) {
    this.onRange = onRange;
    this.svg = node("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "series-chart", role: "img" });
    this.rows = [];
    this.range = null; // {start, end} in ms: what the x axis shows
    this.full = null; // the range of the whole series (the first answer)
    this.drag = null;
    this.timer = null;
    this.wire();
  }

  /** Draw `series` (an answer of /api/datastreams/{id}/series); `whole`: it is the full range. */
  show(series, whole) {
    this.rows = rowsOf(series);
    const start = series.start ? Date.parse(series.start) : this.rows[0]?.t;
    const end = series.end ? Date.parse(series.end) : this.rows.at(-1)?.t;
    if (whole && Number.isFinite(start) && Number.isFinite(end)) this.full = { start, end };
    if (!this.range || whole) this.range = Number.isFinite(start) && Number.isFinite(end) ? { start, end } : null;
    this.svg.dataset.rows = String(this.rows.length);
    this.draw();
  }

  get zoomed() {
    return Boolean(this.range && this.full && (this.range.start > this.full.start || this.range.end < this.full.end));
  }

  /** The x of time `t` (ms), kept inside the plot: a bucket's middle may lie past an end. */
  x(t) {
    const { start, end } = this.range;
    const share = Math.min(1, Math.max(0, (t - start) / Math.max(1, end - start)));
    return PAD.left + share * (WIDTH - PAD.left - PAD.right);
  }

  timeAt(px) {
    const { start, end } = this.range;
    const share = (px - PAD.left) / (WIDTH - PAD.left - PAD.right);
    return start + Math.min(1, Math.max(0, share)) * (end - start);
  }

  draw() {
    this.svg.replaceChildren();
    const plot = { x0: PAD.left, x1: WIDTH - PAD.right, y0: PAD.top, y1: HEIGHT - PAD.bottom };
    node("rect", { x: plot.x0, y: plot.y0, width: plot.x1 - plot.x0, height: plot.y1 - plot.y0, class: "plot" }, this.svg);
    if (!this.range) return;
    const shown = this.rows.filter((r) => r.t + r.half >= this.range.start && r.t - r.half <= this.range.end);
    this.svg.dataset.shown = String(shown.length);
    if (!shown.length) return;
    let low = Math.min(...shown.map((r) => r.min));
    let high = Math.max(...shown.map((r) => r.max));
    if (low === high) [low, high] = [low - 1, high + 1];
    const margin = (high - low) * 0.06;
    [low, high] = [low - margin, high + margin];
    const y = (v) => plot.y1 - ((v - low) / (high - low)) * (plot.y1 - plot.y0);
    const line = (key) => shown.map((r, i) => `${i ? "L" : "M"}${this.x(r.t).toFixed(1)},${y(r[key]).toFixed(1)}`).join("");
    if (shown.some((r) => r.min !== r.max)) {
      const band = `${line("max")}${[...shown].reverse().map((r) => `L${this.x(r.t).toFixed(1)},${y(r.min).toFixed(1)}`).join("")}Z`;
      node("path", { d: band, class: "band" }, this.svg);
    }
    node("path", { d: line("mean"), class: "line" }, this.svg);
    if (shown.length === 1) node("circle", { cx: this.x(shown[0].t), cy: y(shown[0].mean), r: 3, class: "dot" }, this.svg);
    for (let i = 0; i <= 2; i += 1) {
      const value = low + margin + ((high - low - 2 * margin) * i) / 2;
      const text = node("text", { x: plot.x0 - 4, y: y(value) + 4, class: "tick y" }, this.svg);
      text.textContent = formatTick(value);
      node("line", { x1: plot.x0, x2: plot.x1, y1: y(value), y2: y(value), class: "grid" }, this.svg);
    }
    const span = this.range.end - this.range.start;
    const format = new Intl.DateTimeFormat(getLanguage(), span < 2 * 86_400_000
      ? { hour: "2-digit", minute: "2-digit" } : { month: "2-digit", day: "2-digit" });
    for (let i = 0; i <= 3; i += 1) {
      const t = this.range.start + (span * i) / 3;
      const anchor = i === 0 ? "start" : i === 3 ? "end" : "middle";
      const text = node("text", { x: this.x(t), y: HEIGHT - 6, "text-anchor": anchor, class: "tick x" }, this.svg);
      text.textContent = format.format(new Date(t));
    }
  }

  /** Show [start, end] (ms; null: the whole series) and ask the owner for its data. */
  zoom(start, end) {
    if (!this.full) return;
    if (start === null || end === null) {
      this.range = { ...this.full };
    } else {
      let from = Math.max(this.full.start, start);
      let to = Math.min(this.full.end, end);
      if (to - from < MIN_SPAN_MS) {
        const middle = (from + to) / 2;
        [from, to] = [middle - MIN_SPAN_MS / 2, middle + MIN_SPAN_MS / 2];
      }
      this.range = { start: from, end: to };
    }
    this.draw();
    clearTimeout(this.timer);
    const whole = !this.zoomed;
    const { start: from, end: to } = this.range;
    this.timer = setTimeout(() => this.onRange(whole ? null : from, whole ? null : to), 200);
  }

  pointerX(event) {
    const box = this.svg.getBoundingClientRect();
    return ((event.clientX - box.left) / box.width) * WIDTH;
  }

  wire() {
    this.svg.addEventListener("wheel", (event) => {
      if (!this.range) return;
      event.preventDefault();
      const pivot = this.timeAt(this.pointerX(event));
      const factor = event.deltaY < 0 ? 0.5 : 2;
      this.zoom(pivot - (pivot - this.range.start) * factor, pivot + (this.range.end - pivot) * factor);
    }, { passive: false });
    this.svg.addEventListener("pointerdown", (event) => {
      if (!this.range) return;
      this.drag = { from: this.pointerX(event), box: node("rect", { class: "selection", y: PAD.top, height: HEIGHT - PAD.top - PAD.bottom, width: 0 }, this.svg) };
      this.svg.setPointerCapture?.(event.pointerId);
    });
    this.svg.addEventListener("pointermove", (event) => {
      if (!this.drag) return;
      const to = this.pointerX(event);
      this.drag.box.setAttribute("x", String(Math.min(this.drag.from, to)));
      this.drag.box.setAttribute("width", String(Math.abs(to - this.drag.from)));
    });
    this.svg.addEventListener("pointerup", (event) => {
      if (!this.drag) return;
      const { from } = this.drag;
      const to = this.pointerX(event);
      this.drag = null;
      if (Math.abs(to - from) < 6) {
        this.draw();
        return;
      }
      const [a, b] = [this.timeAt(Math.min(from, to)), this.timeAt(Math.max(from, to))];
      this.zoom(a, b);
    });
    this.svg.addEventListener("dblclick", () => this.zoom(null, null));
  }
}

function formatTick(value) {
  const size = Math.abs(value);
  const digits = size >= 100 ? 0 : size >= 10 ? 1 : 2;
  return Number(value.toFixed(digits)).toLocaleString(getLanguage());
}
