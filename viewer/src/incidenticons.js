// Incident markers drawn on a canvas: a disc in the status's colour holding the category's
// glyph (the `icon` code of data/codes/incident_categories.json), a hazard ring of pink and
// black dashes when overdue (no status is pink, none is dashed), and a black badge with an
// up arrow when escalated. The same images stand in the list and the legend. The overdue
// markers' pulse is a separate echo ring (echoCanvas) whose scale beats: a billboard's
// scale changes without a new image (a new image blinks out until the atlas holds it).

export const STATUS_CSS = {
  reported: "#e53935",
  registered: "#fb8c00",
  dispatched: "#fdd835",
  handling: "#1e88e5",
  handled: "#00acc1",
  verified: "#43a047",
  closed: "#757575",
  not_accepted: "#bdbdbd",
  suspended: "#8e24aa",
};
export const OVERDUE_CSS = "#ff2d95";
const UNKNOWN_CSS = "#ffffff";
const DARK = "#1b1d21";

// Canvas size and the disc's geometry, in canvas pixels (drawn at 2x the screen size).
export const SIZE = 64;
const C = SIZE / 2;
export const DISC_RADIUS = 19; // where the status colour is
export const TAIL = 14; // a pin's tail below the disc, its tip on the incident's place
const RING_RADIUS = 26; // the overdue ring's middle

/** Whether a colour is light enough to need a dark glyph. */
function light(css) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(css.slice(i, i + 2), 16));
  return 0.299 * r + 0.587 * g + 0.114 * b > 170;
}

// Each glyph is drawn in a 24x24 box centred on the disc, with the current stroke/fill.
const GLYPHS = {
  water(g) {
    g.beginPath();
    g.moveTo(12, 2);
    g.bezierCurveTo(12, 2, 4, 11, 4, 15);
    g.arc(12, 15, 8, Math.PI, 0, true);
    g.bezierCurveTo(20, 11, 12, 2, 12, 2);
    g.fill();
  },
  air(g) {
    for (const y of [6, 12, 18]) {
      g.beginPath();
      g.moveTo(2, y);
      g.bezierCurveTo(7, y - 4, 11, y + 4, 16, y);
      g.bezierCurveTo(18, y - 2, 21, y - 2, 22, y);
      g.stroke();
    }
  },
  structure(g) {
    g.strokeRect(5, 3, 14, 19);
    g.beginPath();
    g.moveTo(13, 3);
    g.lineTo(10, 9);
    g.lineTo(14, 13);
    g.lineTo(10, 22);
    g.stroke();
  },
  road(g) {
    g.beginPath();
    g.moveTo(8, 2);
    g.lineTo(2, 22);
    g.moveTo(16, 2);
    g.lineTo(22, 22);
    g.stroke();
    g.beginPath();
    for (const [y0, y1] of [[3, 7], [10, 14], [17, 21]]) {
      g.moveTo(12, y0);
      g.lineTo(12, y1);
    }
    g.stroke();
  },
  construction(g) {
    g.beginPath();
    g.moveTo(6, 22);
    g.lineTo(6, 3);
    g.lineTo(22, 3);
    g.moveTo(2, 7);
    g.lineTo(6, 3);
    g.moveTo(18, 3);
    g.lineTo(18, 12);
    g.moveTo(2, 22);
    g.lineTo(11, 22);
    g.stroke();
    g.fillRect(15, 12, 6, 4);
  },
  garbage(g) {
    g.beginPath();
    g.moveTo(3, 6);
    g.lineTo(21, 6);
    g.moveTo(9, 6);
    g.lineTo(9, 3);
    g.lineTo(15, 3);
    g.lineTo(15, 6);
    g.moveTo(5, 6);
    g.lineTo(7, 22);
    g.lineTo(17, 22);
    g.lineTo(19, 6);
    g.moveTo(10, 10);
    g.lineTo(10, 18);
    g.moveTo(14, 10);
    g.lineTo(14, 18);
    g.stroke();
  },
  manhole(g) {
    g.beginPath();
    g.arc(12, 12, 9.5, 0, 2 * Math.PI);
    g.stroke();
    g.beginPath();
    for (const d of [-4, 0, 4]) {
      g.moveTo(12 + d, 4);
      g.lineTo(12 + d, 20);
      g.moveTo(4, 12 + d);
      g.lineTo(20, 12 + d);
    }
    g.save();
    g.lineWidth = 1.4;
    g.stroke();
    g.restore();
  },
  light(g) {
    g.beginPath();
    g.arc(12, 9, 6.5, Math.PI * 0.8, Math.PI * 2.2);
    g.lineTo(15, 17);
    g.lineTo(9, 17);
    g.closePath();
    g.fill();
    g.beginPath();
    g.moveTo(9, 20);
    g.lineTo(15, 20);
    g.moveTo(10, 23);
    g.lineTo(14, 23);
    g.stroke();
  },
  facility(g) {
    g.beginPath();
    for (let i = 0; i < 8; i += 1) {
      const a = (i * Math.PI) / 4;
      g.moveTo(12 + 7 * Math.cos(a), 12 + 7 * Math.sin(a));
      g.lineTo(12 + 11 * Math.cos(a), 12 + 11 * Math.sin(a));
    }
    g.save();
    g.lineWidth = 3.4;
    g.stroke();
    g.restore();
    g.beginPath();
    g.arc(12, 12, 6.5, 0, 2 * Math.PI);
    g.stroke();
    g.beginPath();
    g.arc(12, 12, 2.2, 0, 2 * Math.PI);
    g.fill();
  },
  sensor(g) {
    g.beginPath();
    g.arc(12, 14, 2.6, 0, 2 * Math.PI);
    g.fill();
    for (const r of [6, 10]) {
      g.beginPath();
      g.arc(12, 14, r, Math.PI * 1.2, Math.PI * 1.8);
      g.stroke();
    }
    g.beginPath();
    g.moveTo(12, 16);
    g.lineTo(12, 23);
    g.stroke();
  },
  other(g) {
    g.beginPath();
    g.moveTo(12, 3);
    g.lineTo(12, 15);
    g.stroke();
    g.beginPath();
    g.arc(12, 20, 2, 0, 2 * Math.PI);
    g.fill();
  },
};

export const ICON_CODES = Object.keys(GLYPHS).filter((code) => code !== "other");

/** The status's CSS colour (white for a status this page does not know). */
export function statusCss(status) {
  return STATUS_CSS[status] || UNKNOWN_CSS;
}

/** Draw a category's glyph, `size` pixels wide, centred at (x, y) of `g`. */
export function drawGlyph(g, icon, x, y, size, color) {
  const glyph = GLYPHS[icon] || GLYPHS.other;
  g.save();
  g.translate(x - size / 2, y - size / 2);
  g.scale(size / 24, size / 24);
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = 2.2;
  g.lineCap = "round";
  g.lineJoin = "round";
  glyph(g);
  g.restore();
}

const cache = new Map();

/** A marker's canvas (SIZE x SIZE, or a pin SIZE x SIZE + TAIL), cached by its look. */
export function markerCanvas({ icon, status, overdue = false, escalated = false, pin = false }) {
  const key = `${icon}|${status}|${overdue}|${escalated}|${pin}`;
  let canvas = cache.get(key);
  if (canvas) return canvas;
  canvas = document.createElement("canvas");
  canvas.width = SIZE;
  canvas.height = SIZE + (pin ? TAIL : 0);
  const g = canvas.getContext("2d");
  const fill = statusCss(status);
  if (pin) {
    g.beginPath();
    g.moveTo(C - 8, C + DISC_RADIUS - 4);
    g.lineTo(C + 8, C + DISC_RADIUS - 4);
    g.lineTo(C, SIZE + TAIL - 1);
    g.closePath();
    g.fillStyle = "#ffffff";
    g.fill();
    g.strokeStyle = "#15191e";
    g.lineWidth = 1.5;
    g.stroke();
  }
  if (overdue) {
    // hazard ring: pink and black dashes
    const dashes = 12;
    for (let i = 0; i < dashes; i += 1) {
      const start = (i * 2 * Math.PI) / dashes;
      g.beginPath();
      g.arc(C, C, RING_RADIUS, start, start + (2 * Math.PI) / dashes);
      g.strokeStyle = i % 2 ? "#000000" : OVERDUE_CSS;
      g.lineWidth = 6;
      g.stroke();
    }
  }
  g.beginPath();
  g.arc(C, C, DISC_RADIUS + 1.5, 0, 2 * Math.PI);
  g.fillStyle = "#ffffff";
  g.fill();
  g.beginPath();
  g.arc(C, C, DISC_RADIUS, 0, 2 * Math.PI);
  g.fillStyle = fill;
  g.fill();
  drawGlyph(g, icon, C, C, 23, light(fill) ? DARK : "#ffffff");
  if (escalated) {
    const [x, y, r] = [SIZE - 11, 11, 9];
    g.beginPath();
    g.arc(x, y, r, 0, 2 * Math.PI);
    g.fillStyle = "#000000";
    g.fill();
    g.lineWidth = 1.5;
    g.strokeStyle = "#ffffff";
    g.stroke();
    g.beginPath();
    g.moveTo(x, y + 5);
    g.lineTo(x, y - 5);
    g.moveTo(x - 4, y - 1);
    g.lineTo(x, y - 5);
    g.lineTo(x + 4, y - 1);
    g.lineWidth = 2;
    g.stroke();
  }
  cache.set(key, canvas);
  return canvas;
}

/** The marker as a data: URL, for <img> in the list and the legend. */
export function markerUrl(look) {
  const key = `url|${look.icon}|${look.status}|${Boolean(look.overdue)}|${Boolean(look.escalated)}`;
  let url = cache.get(key);
  if (!url) {
    url = markerCanvas(look).toDataURL("image/png");
    cache.set(key, url);
  }
  return url;
}

/** The overdue markers' echo: a thin pink ring just outside the hazard ring. */
export function echoCanvas() {
  let canvas = cache.get("echo");
  if (canvas) return canvas;
  canvas = document.createElement("canvas");
  canvas.width = SIZE;
  canvas.height = SIZE;
  const g = canvas.getContext("2d");
  g.beginPath();
  g.arc(C, C, C - 2, 0, 2 * Math.PI);
  g.strokeStyle = OVERDUE_CSS;
  g.lineWidth = 3;
  g.stroke();
  cache.set("echo", canvas);
  return canvas;
}
