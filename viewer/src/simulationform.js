// A model's parameters as a form, built from its JSON schema (pydantic's, from
// GET /api/simulations/models): numbers with bounds as a slider beside a number field, other
// numbers as a number field, enums as a select, booleans as a check box, dates and times as
// their inputs, a lon/lat point picked on the map, a polygon drawn on the map (a proposed
// footprint). Labels: the known parameter names translated (simstrings.js), else the
// schema's title. `values()` gives what the user set; fields left empty are left out so that
// the model's defaults apply.

import { el } from "./api.js";
import { t } from "./i18n.js";
import "./simstrings.js";

/** The schema of `prop` with `$ref`/`allOf` resolved and `anyOf [X, null]` made X (nullable). */
export function resolveSchema(prop, defs) {
  let schema = prop || {};
  let nullable = false;
  for (let guard = 0; guard < 8; guard += 1) {
    if (schema.$ref) {
      const name = schema.$ref.split("/").pop();
      schema = { ...(defs[name] || {}), ...withoutKeys(schema, ["$ref"]) };
    } else if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
      schema = { ...schema.allOf[0], ...withoutKeys(schema, ["allOf"]) };
    } else if (Array.isArray(schema.anyOf)) {
      const branches = schema.anyOf.filter((b) => b.type !== "null");
      nullable = nullable || branches.length < schema.anyOf.length;
      schema = { ...(branches[0] || {}), ...withoutKeys(schema, ["anyOf"]) };
    } else {
      break;
    }
  }
  return { schema, nullable };
}

function withoutKeys(object, keys) {
  const copy = { ...object };
  for (const key of keys) delete copy[key];
  return copy;
}

const POINT_NAME = /(^|_)(point|source|lonlat|location|inlet|entry)($|_)/;
const POLYGON_NAME = /(footprint|polygon|outline)/;

// A slider only where it can be read: bounds no further apart than this.
const MAX_SLIDER_SPAN = 1000;

/** The [low, high] bounds of a number's schema (null where unbounded). */
function boundsOf(schema) {
  const low = schema.minimum ?? schema.exclusiveMinimum;
  const high = schema.maximum ?? schema.exclusiveMaximum;
  return [Number.isFinite(low) ? low : null, Number.isFinite(high) ? high : null];
}

/** A round slider step for bounds `low`..`high`: about a hundredth of the span. */
export function sliderStep(low, high, integer) {
  if (integer) return Math.max(1, 10 ** Math.floor(Math.log10((high - low) / 100)));
  return 10 ** Math.floor(Math.log10((high - low) / 100));
}

/** How a field is edited: "select", "multi" (several of an enum), "boolean", "range",
 * "number", "date", "datetime", "time", "point", "polygon", "text" or "json". */
export function fieldKind(name, schema, defs = {}) {
  if (Array.isArray(schema.enum)) return "select";
  const type = schema.type;
  if (type === "boolean") return "boolean";
  if (type === "number" || type === "integer") {
    const [low, high] = boundsOf(schema);
    return low !== null && high !== null && high - low <= MAX_SLIDER_SPAN ? "range" : "number";
  }
  if (type === "array" && Array.isArray(resolveSchema(schema.items, defs).schema.enum)) return "multi";
  if (type === "string") {
    if (schema.format === "date") return "date";
    if (schema.format === "date-time") return "datetime";
    if (schema.format === "time") return "time";
    return "text";
  }
  if (type === "array") {
    const items = schema.items || (schema.prefixItems && schema.prefixItems[0]) || {};
    if (items.type === "array" || POLYGON_NAME.test(name)) return "polygon";
    if ((items.type === "number" || schema.prefixItems) && (schema.maxItems === 2 || POINT_NAME.test(name))) return "point";
  }
  if (type === "object") {
    const props = schema.properties || {};
    if ("lon" in props && "lat" in props) return "point";
    if (POLYGON_NAME.test(name) || "coordinates" in props) return "polygon";
  }
  return "json";
}

/** The label of parameter `name`: its translation, else the schema's title, else the name. */
export function parameterLabel(name, schema) {
  const key = `param.${name}`;
  const text = t(key);
  return text !== key ? text : schema.title || name;
}

/** A unit read off a parameter's name (water_level_m -> m), for the label. */
export function unitOfName(name) {
  const units = { m: "m", m2: "m²", m3: "m³", mm: "mm", h: "h", hours: "h", minutes: "min", deg: "°", pct: "%", s: "s" };
  const suffix = name.split("_").pop();
  return name.includes("_") ? units[suffix] || "" : "";
}

export class SimulationForm {
  /**
   * `picker`: the map interaction (simulation.js: pickPoint(), drawPolygon(onVertex), the
   * entities shown); `onChange(values)` after every edit.
   */
  constructor(root, picker, onChange = () => {}) {
    this.root = root;
    this.picker = picker;
    this.onChange = onChange;
    this.fields = []; // {name, kind, schema, nullable, read(), set(v), node}
    this.model = null;
  }

  /** Build the form of `model` ({name, parameters: JSON schema}). */
  render(model) {
    this.model = model;
    this.picker.clear();
    const schema = model.parameters || {};
    const defs = schema.$defs || schema.definitions || {};
    const required = new Set(schema.required || []);
    this.fields = [];
    const nodes = [];
    for (const [name, prop] of Object.entries(schema.properties || {})) {
      const { schema: resolved, nullable } = resolveSchema(prop, defs);
      const field = this.field(name, resolved, nullable || !required.has(name), defs);
      this.fields.push(field);
      nodes.push(field.node);
    }
    this.root.replaceChildren(...nodes);
  }

  /** The parameters the user set (empty optional fields left out). */
  values() {
    const out = {};
    for (const field of this.fields) {
      const value = field.read();
      if (value !== undefined) out[field.name] = value;
    }
    return out;
  }

  /** Set the field `name` to `value` (tests, reopening a run's parameters). */
  set(name, value) {
    const field = this.fields.find((f) => f.name === name);
    if (!field) throw new Error(`the model has no parameter ${name}`);
    field.set(value);
    this.changed();
  }

  changed() {
    this.onChange(this.values());
  }

  field(name, schema, optional, defs) {
    const kind = fieldKind(name, schema, defs);
    if (kind === "multi") schema = { ...schema, items: resolveSchema(schema.items, defs).schema };
    const unit = schema.unit || unitOfName(name);
    const label = parameterLabel(name, schema);
    const caption = el("span", { className: "sim-label" }, unit ? `${label}（${unit}）` : label);
    if (schema.description) caption.title = schema.description;
    const build = BUILDERS[kind] || BUILDERS.json;
    const field = { name, kind, schema, optional, ...build.call(this, name, schema, optional) };
    const wrapper =
      kind === "boolean"
        ? el("label", { className: "field sim-field sim-kind-boolean" }, el("span", { className: "check" }, field.input, " ", caption))
        : el("label", { className: `field sim-field sim-kind-${kind}` }, caption, field.input);
    if (schema.description) wrapper.append(el("small", { className: "hint sim-description" }, schema.description));
    wrapper.dataset.param = name;
    wrapper.dataset.kind = kind;
    field.node = wrapper;
    if (schema.default !== undefined && schema.default !== null) field.set(schema.default);
    return field;
  }
}

function numberInput(schema) {
  const input = el("input", { type: "number" });
  if (Number.isFinite(schema.minimum)) input.min = String(schema.minimum);
  if (Number.isFinite(schema.maximum)) input.max = String(schema.maximum);
  input.step = schema.type === "integer" ? "1" : String(schema.multipleOf || "any");
  return input;
}

function readNumber(input, optional) {
  if (input.value === "") return optional ? undefined : null;
  const value = Number(input.value);
  return Number.isFinite(value) ? value : input.value; // the server names a bad value
}

const BUILDERS = {
  select(name, schema, optional) {
    const select = el("select", { name });
    if (optional && schema.default === undefined) select.append(el("option", { value: "" }, t("sim.unset")));
    for (const value of schema.enum) {
      const key = `val.${value}`;
      const text = t(key) !== key ? t(key) : String(value);
      select.append(el("option", { value: JSON.stringify(value) }, text));
    }
    select.addEventListener("change", () => this.changed());
    return {
      input: select,
      read: () => (select.value === "" ? undefined : JSON.parse(select.value)),
      set: (v) => {
        select.value = v === null || v === undefined ? "" : JSON.stringify(v);
      },
    };
  },
  multi(name, schema, optional) {
    const boxes = schema.items.enum.map((value) => {
      const box = el("input", { type: "checkbox", value: JSON.stringify(value) });
      box.addEventListener("change", () => this.changed());
      return { value, box };
    });
    const text = (value) => (t(`val.${value}`) !== `val.${value}` ? t(`val.${value}`) : String(value));
    return {
      input: el("span", { className: "sim-multi" }, ...boxes.map(({ value, box }) => el("label", { className: "check" }, box, " ", text(value)))),
      read: () => {
        const chosen = boxes.filter((b) => b.box.checked).map((b) => b.value);
        return chosen.length || !optional ? chosen : undefined;
      },
      set: (v) => {
        const wanted = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
        for (const { value, box } of boxes) box.checked = wanted.has(JSON.stringify(value));
      },
    };
  },
  boolean(name) {
    const box = el("input", { type: "checkbox", name });
    box.addEventListener("change", () => this.changed());
    return { input: box, read: () => box.checked, set: (v) => (box.checked = Boolean(v)) };
  },
  range(name, schema, optional) {
    const [low, high] = boundsOf(schema);
    const slider = el("input", { type: "range", min: String(low), max: String(high) });
    slider.step = String(schema.multipleOf || sliderStep(low, high, schema.type === "integer"));
    const number = numberInput(schema);
    number.name = name;
    slider.addEventListener("input", () => {
      number.value = slider.value;
      this.changed();
    });
    number.addEventListener("input", () => {
      if (number.value !== "") slider.value = number.value;
      this.changed();
    });
    return {
      input: el("span", { className: "sim-range" }, slider, number),
      read: () => readNumber(number, optional),
      set: (v) => {
        number.value = v === null || v === undefined ? "" : String(v);
        if (number.value !== "") slider.value = number.value;
      },
    };
  },
  number(name, schema, optional) {
    const number = numberInput(schema);
    number.name = name;
    number.addEventListener("input", () => this.changed());
    return {
      input: number,
      read: () => readNumber(number, optional),
      set: (v) => (number.value = v === null || v === undefined ? "" : String(v)),
    };
  },
  date(name, schema, optional) {
    return textLike.call(this, "date", name, optional);
  },
  datetime(name, schema, optional) {
    return textLike.call(this, "datetime-local", name, optional);
  },
  time(name, schema, optional) {
    return textLike.call(this, "time", name, optional);
  },
  text(name, schema, optional) {
    return textLike.call(this, "text", name, optional);
  },
  point(name, schema, optional) {
    const asObject = schema.type === "object";
    let point = null; // [lon, lat]
    const shown = el("span", { className: "sim-point-value" }, "—");
    const pick = el("button", { type: "button", className: "btn small" }, t("sim.pick"));
    const show = () => {
      shown.textContent = point ? `${point[0].toFixed(6)}, ${point[1].toFixed(6)}` : "—";
      this.picker.showPoint(name, point);
    };
    pick.addEventListener("click", async () => {
      pick.textContent = t("sim.picking");
      try {
        const picked = await this.picker.pickPoint();
        if (picked) point = [picked.lon, picked.lat];
      } finally {
        pick.textContent = t("sim.pick");
      }
      show();
      this.changed();
    });
    return {
      input: el("span", { className: "sim-point" }, pick, shown),
      read: () => (point ? (asObject ? { lon: point[0], lat: point[1] } : [...point]) : optional ? undefined : null),
      set: (v) => {
        if (Array.isArray(v) && v.length >= 2) point = [Number(v[0]), Number(v[1])];
        else if (v && Number.isFinite(v.lon)) point = [v.lon, v.lat];
        else point = null;
        show();
      },
    };
  },
  polygon(name, schema, optional) {
    const asGeoJson = schema.type === "object";
    let ring = []; // [[lon, lat], ...], not closed
    const shown = el("span", { className: "sim-point-value" }, "—");
    const draw = el("button", { type: "button", className: "btn small" }, t("sim.draw"));
    const clear = el("button", { type: "button", className: "btn small" }, t("sim.clear"));
    const show = () => {
      shown.textContent = ring.length ? t("sim.vertices", { n: ring.length }) : "—";
      this.picker.showPolygon(name, ring);
    };
    draw.addEventListener("click", async () => {
      if (this.picker.drawing) {
        this.picker.finishDrawing();
        return;
      }
      ring = [];
      draw.textContent = t("sim.finish");
      try {
        ring = await this.picker.drawPolygon((vertices) => {
          ring = vertices;
          show();
          shown.textContent = t("sim.drawing", { n: vertices.length });
        });
      } finally {
        draw.textContent = t("sim.draw");
      }
      if (ring.length < 3) ring = [];
      show();
      this.changed();
    });
    clear.addEventListener("click", () => {
      ring = [];
      show();
      this.changed();
    });
    return {
      input: el("span", { className: "sim-point" }, draw, clear, shown),
      read: () => {
        if (ring.length < 3) return optional ? undefined : null;
        if (asGeoJson) return { type: "Polygon", coordinates: [[...ring, ring[0]].map((p) => [...p])] };
        return ring.map((p) => [...p]);
      },
      set: (v) => {
        const coords = v && v.type === "Polygon" ? v.coordinates[0] : v;
        ring = Array.isArray(coords) ? coords.map((p) => [Number(p[0]), Number(p[1])]) : [];
        const [first, last] = [ring[0], ring[ring.length - 1]];
        if (ring.length > 1 && first[0] === last[0] && first[1] === last[1]) ring.pop();
        show();
      },
    };
  },
  json(name, schema, optional) {
    const area = el("textarea", { name, rows: 2, spellcheck: false });
    area.addEventListener("input", () => this.changed());
    return {
      input: area,
      read: () => {
        if (!area.value.trim()) return optional ? undefined : null;
        try {
          return JSON.parse(area.value);
        } catch {
          return area.value; // the server names the bad value
        }
      },
      set: (v) => (area.value = v === null || v === undefined ? "" : JSON.stringify(v)),
    };
  },
};

function textLike(type, name, optional) {
  const input = el("input", { type, name });
  input.addEventListener("input", () => this.changed());
  input.addEventListener("change", () => this.changed());
  return {
    input,
    read: () => (input.value === "" ? (optional ? undefined : null) : input.value),
    set: (v) => {
      input.value = v === null || v === undefined ? "" : String(v).slice(0, type === "datetime-local" ? 16 : undefined);
    },
  };
}
