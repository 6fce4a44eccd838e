// The building card: a building (or any object) in a planner's terms, at the top of the
// inspector. GET /api/objects/{id}/card gives the figures, computed by the server from the
// store (cim/planning.py): height above ground, storeys above/below ground, gross floor area
// and how it was obtained, footprint, use, year, address, plot, coordinates in the city CRS
// and in longitude/latitude, the vertical datum. A storey list with up/down isolates any
// storey (app.isolateStorey). The source's own attributes are shown with translated labels,
// the platform's internal fields never.

import { el, formatValue, getJson } from "./api.js";
import "./cardstrings.js";
import { className, formatNumber, getLanguage, t } from "./i18n.js";
import { useName } from "./ifcnames.js";

const STRINGS_PREFIX = "attr.";

export class BuildingCard {
  constructor(app) {
    this.app = app;
    this.data = null; // the card shown (GET /api/objects/{id}/card)
  }

  /** Fetch the card of `id` and keep it as the one shown. */
  async load(id) {
    const card = await getJson(`/api/objects/${encodeURIComponent(id)}/card`);
    this.data = card;
    return card;
  }

  clear() {
    this.data = null;
  }

  /** The storeys of the card, top first. */
  storeys() {
    return this.data?.storeys?.list || [];
  }

  /** The storey the list marks: the isolated one if it is in the list, else the object's. */
  currentStorey() {
    const list = this.storeys();
    const isolated = this.app.style.isolation?.storey;
    if (isolated && list.some((s) => s.id === isolated)) return isolated;
    const card = this.data;
    if (!card) return null;
    if (card.class === "IfcBuildingStorey") return card.id;
    return card.storey?.id || null;
  }

  /** The storey one up (direction -1: the list is top first) or down (+1) from the current
   * one; from none, the ground floor. Null at the top or bottom. */
  neighbour(direction) {
    const list = this.storeys();
    if (!list.length) return null;
    const current = this.currentStorey();
    const index = list.findIndex((s) => s.id === current);
    if (index < 0) return list.find((s) => s.id === this.data.storeys.ground) || list[list.length - 1];
    return list[index + direction] || null;
  }

  storeyUp() {
    return this.isolate(this.neighbour(-1));
  }

  storeyDown() {
    return this.isolate(this.neighbour(1));
  }

  async isolate(storey) {
    if (!storey) return null;
    await this.app.isolateStorey(storey.id);
    return storey.id;
  }

  /** The object's name in the interface language (OSM name:zh / name:en), else its name. */
  displayName(card = this.data) {
    if (!card) return "";
    const names = card.names || {};
    return (getLanguage() === "zh-CN" ? names.zh : names.en) || card.name || "";
  }

  /** The card's DOM: the figures, the storey list, the source attributes. */
  render(card = this.data) {
    const section = el("section", { className: "card", id: "building-card", dataset: { kind: card.kind } });
    section.append(
      el("h3", { className: "card-head" }, t("card.title"), el("span", { className: "card-kind", title: t(`card.kind.${card.kind}`) }, classLabel(card.class))),
      definitions(figures(card), "card-figures"),
    );
    if (this.storeys().length && card === this.data) section.append(this.storeyList(card));
    section.append(el("h4", { className: "card-sub" }, t("card.place")), definitions(place(card), "card-figures card-place"));
    const source = Object.entries(card.source_attributes || {});
    if (source.length) section.append(sourceTable(source));
    return section;
  }

  storeyList(card) {
    const current = this.currentStorey();
    const up = this.neighbour(-1);
    const down = this.neighbour(1);
    const step = (key, titleKey, target, action) => {
      const b = el("button", { type: "button", className: "btn small", title: t(titleKey), dataset: { storeyStep: action } }, t(key));
      b.disabled = !target;
      b.addEventListener("click", () => this.isolate(target).catch((err) => console.warn("cimtwin: storey", err.message)));
      return b;
    };
    const list = el("ol", { className: "storey-list" });
    for (const storey of this.storeys()) {
      const isCurrent = storey.id === current;
      const button = el(
        "button",
        { type: "button", className: "storey", title: t("card.storeyIsolate", { name: storey.name || storey.id }), dataset: { storeyId: storey.id } },
        el("span", { className: "storey-name" }, storey.name || storey.id),
        el("span", { className: "storey-level" }, signedMetres(storey.elevation)),
        el(
          "span",
          { className: `storey-badge ${storey.above_ground ? "above" : "below"}` },
          storey.id === card.storeys.ground ? t("card.groundFloor") : t(storey.above_ground ? "card.aboveGround" : "card.belowGround"),
        ),
      );
      if (isCurrent) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => this.isolate(storey).catch((err) => console.warn("cimtwin: storey", err.message)));
      list.append(el("li", null, button));
    }
    return el(
      "div",
      { className: "storeys", id: "card-storeys" },
      el(
        "div",
        { className: "storeys-head" },
        el("h4", null, t("card.storeyList"), " ", el("span", { className: "count" }, `(${this.storeys().length})`)),
        step("card.storeyUp", "card.storeyUpTitle", up, "up"),
        step("card.storeyDown", "card.storeyDownTitle", down, "down"),
      ),
      list,
    );
  }
}

/** The figures of the card as a definition list, each with how it was obtained. */
function figures(card) {
  const rows = [];
  const add = (key, value, note = null, estimate = false) => {
    if (value === null || value === undefined || value === "") return;
    rows.push([key, value, note, estimate]);
  };
  const building = card.kind === "bim-building" || card.kind === "gis-building";
  if (card.building) add("card.building", card.building.name || card.building.id);
  if (card.storey) add("card.storey", card.storey.name || card.storey.id);
  if (card.height) {
    const source = card.height.source && card.height.source !== "height" ? t(`card.source.${card.height.source}`) : null;
    const note = [t(`card.method.${card.height.method}`), source].filter(Boolean).join(getLanguage() === "zh-CN" ? "；" : "; ");
    add(building ? "card.height" : "card.heightOf", metres(card.height.value), note, card.height.estimate);
  }
  if (!building && card.base_level !== null && card.base_level !== undefined) add("card.baseLevel", signedMetres(card.base_level));
  const storeys = card.storeys || {};
  if (storeys.above !== null && storeys.above !== undefined) {
    const text = storeys.below === null || storeys.below === undefined
      ? t("card.storeysAbove", { above: storeys.above })
      : t("card.storeysValue", { above: storeys.above, below: storeys.below });
    add("card.storeys", text, t(`card.storeys.${storeys.method}`), storeys.estimate);
  }
  const gfa = card.gross_floor_area;
  if (gfa) add("card.gfa", squareMetres(gfa.value), t(`card.gfa.${gfa.method}`, { parts: gfa.parts }), gfa.estimate);
  add("card.footprint", card.footprint_area ? squareMetres(card.footprint_area) : null);
  if (card.height_class) add("card.heightClass", getLanguage() === "zh-CN" ? card.height_class.zh : card.height_class.en);
  if (card.use) add("card.use", useName(card.use));
  add("card.year", card.year);
  add("card.address", card.address);
  if (card.plot) {
    const number = card.plot.number || card.plot.name || card.plot.id;
    add("card.plot", card.plot.area ? t("card.plotValue", { number, area: squareMetres(card.plot.area) }) : number);
  }
  return rows;
}

/** Where the object is: city CRS and longitude/latitude, the ground, the vertical datum. */
function place(card) {
  const rows = [];
  const p = card.position;
  if (p) {
    rows.push(["card.crs", `X ${p.x.toFixed(2)}\nY ${p.y.toFixed(2)}`, p.crs_name ? `${p.crs_name} (${p.crs})` : p.crs, false]);
    rows.push(["card.lonlat", `${degrees(p.lon, "E", "W")}\n${degrees(p.lat, "N", "S")}`, null, false]);
  }
  if (card.ground) rows.push(["card.ground", metres(card.ground.height), null, false]);
  rows.push(["card.datum", card.vertical_datum || t("card.datumNone"), card.vertical_datum ? null : t("card.datumNote"), false]);
  return rows;
}

/** Rows of [key, value, note, estimate] as a definition list. */
function definitions(rows, classes) {
  const dl = el("dl", { className: classes });
  for (const [key, value, note, estimate] of rows) {
    const label = key.startsWith("card.") ? t(key) : key;
    const dd = el("dd", { dataset: { figure: key } }, String(value));
    if (estimate) dd.append(" ", el("span", { className: "estimate" }, t("card.estimate")));
    if (note) dd.append(el("small", { className: "note" }, note));
    dl.append(el("dt", null, label), dd);
  }
  return dl;
}

/** The source attributes: known keys under their translated label (the raw key beside). */
function sourceTable(entries) {
  const tbody = el("tbody");
  for (const [key, value] of entries) {
    const label = attributeLabel(key);
    const text = formatValue(value);
    const th = el("th", { scope: "row", title: key }, label);
    if (label !== key) th.append(el("small", { className: "raw-key" }, key));
    tbody.append(el("tr", { dataset: { key } }, th, el("td", text === null ? { className: "empty" } : null, text ?? "—")));
  }
  const details = el(
    "details",
    { className: "source-attributes", id: "card-source" },
    el("summary", null, t("card.sourceAttributes"), el("span", { className: "count" }, `(${entries.length})`)),
    el("table", null, tbody),
  );
  details.open = entries.length <= 12;
  return details;
}

/** "街道" for "addr:street" in Chinese; "名称（de）" for "name:de"; else the key itself. */
export function attributeLabel(key) {
  const label = t(STRINGS_PREFIX + key);
  if (label !== STRINGS_PREFIX + key) return label;
  const language = /^name:([a-z-]+)$/i.exec(key);
  if (language) return t("attr.nameIn", { lang: language[1] });
  return key;
}

/** "墙 IfcWall": the class's name in the interface language with the class itself. */
function classLabel(cls) {
  const name = className(cls);
  return name.includes(cls) ? name : `${name} ${cls}`;
}

function metres(value) {
  return `${formatNumber(value, 2)} m`;
}

function signedMetres(value) {
  if (value === null || value === undefined) return t("card.none");
  if (Math.abs(value) < 0.005) return "±0.00 m";
  return `${value > 0 ? "+" : "−"}${formatNumber(Math.abs(value), 2)} m`;
}

function squareMetres(value) {
  return `${formatNumber(value, value < 100 ? 1 : 0)} m²`;
}

function degrees(value, positive, negative) {
  return `${Math.abs(value).toFixed(6)}° ${value >= 0 ? positive : negative}`;
}
