// Colouring by data and its legend: the "Colour by" controls, the legend (title with the
// unit, one clickable row per class: a click shows only that class, a second click all), and
// the flat lighting while colouring (lighting.js), so that what is drawn matches the swatches.

import { el } from "./api.js";
import { t } from "./i18n.js";
import { NO_VALUE_CSS } from "./style.js";
import "./themestrings.js";

const ATTRIBUTE_NAMES = { height: "style.height", use: "style.use", year: "style.year" };

export class Legend {
  /** `ui`: colorBy, colorAttr, colorApply, colorStatus, legend, legendTitle, legendItems. */
  constructor(app, ui) {
    this.app = app;
    this.ui = ui;
  }

  /** Colour the tiles by `attribute` (null: stop colouring); what the legend shows. */
  async colorBy(attribute) {
    const { ui, app } = this;
    ui.colorStatus.textContent = attribute ? t("style.loading") : "";
    let coloring;
    try {
      coloring = await app.style.colorBy(attribute || null);
    } catch (err) {
      ui.colorStatus.textContent = t("style.failed", { error: err.message });
      throw err;
    }
    app.theme.lighting.setFlat(Boolean(coloring));
    this.render();
    if (!coloring) return null;
    return {
      attribute,
      kind: coloring.kind,
      count: coloring.count,
      unit: coloring.unit,
      legend: coloring.entries.map((e) => ({ color: e.css, label: e.label })),
    };
  }

  /** Show only class `index` of the legend (-1: the features without a value), or all (null). */
  showOnly(index) {
    this.app.style.setOnlyClass(index);
    this.render();
  }

  render() {
    const { ui } = this;
    const coloring = this.app.style.coloring;
    ui.legend.hidden = !coloring;
    if (!coloring) {
      ui.colorStatus.textContent = "";
      return;
    }
    const named = ATTRIBUTE_NAMES[coloring.attribute] ? t(ATTRIBUTE_NAMES[coloring.attribute]) : coloring.attribute;
    const name = coloring.title || named; // a title set by whoever coloured (simulationresult.js)
    ui.legendTitle.textContent = coloring.unit ? t("legend.titleUnit", { name, unit: coloring.unit }) : name;
    ui.colorStatus.textContent =
      coloring.kind === "empty" ? t("style.empty", { attr: coloring.attribute }) : t("style.count", { n: coloring.count });
    const only = this.app.style.onlyClass;
    const row = (index, css, label) => {
      const pressed = only === index;
      const button = el(
        "button",
        {
          type: "button",
          className: "legend-class",
          title: pressed ? t("legend.showingOnly") : t("legend.showOnly", { label }),
        },
        el("span", { className: "swatch", style: `background:${css}` }),
        el("span", { className: "legend-label" }, label),
      );
      button.dataset.class = String(index);
      button.dataset.color = css;
      button.setAttribute("aria-pressed", String(pressed));
      button.addEventListener("click", () => this.showOnly(pressed ? null : index));
      const item = el("li", null, button);
      item.classList.toggle("dimmed", only !== null && !pressed);
      return item;
    };
    const rows = coloring.entries.map((e) => row(e.index, e.css, e.label));
    rows.push(row(-1, NO_VALUE_CSS, t("style.noValue")));
    if (only !== null) {
      const all = el("button", { type: "button", className: "legend-all" }, t("legend.showAll"));
      all.addEventListener("click", () => this.showOnly(null));
      rows.push(el("li", { className: "legend-footer" }, all));
    } else {
      rows.push(el("li", { className: "legend-footer legend-hint" }, t("legend.hint")));
    }
    ui.legendItems.replaceChildren(...rows);
  }

  /** The "Colour by" select, the custom attribute field and its button. */
  wire() {
    const { ui } = this;
    const run = (attribute) => this.colorBy(attribute).catch(() => {});
    const apply = () => {
      const choice = ui.colorBy.value;
      ui.colorAttr.hidden = choice !== "custom";
      ui.colorApply.hidden = choice !== "custom";
      if (choice === "custom") {
        if (ui.colorAttr.value.trim()) run(ui.colorAttr.value.trim());
        else ui.colorAttr.focus();
        return;
      }
      run(choice === "none" ? null : choice);
    };
    ui.colorBy.addEventListener("change", apply);
    ui.colorApply.addEventListener("click", () => run(ui.colorAttr.value.trim()));
    ui.colorAttr.addEventListener("keydown", (e) => {
      if (e.key === "Enter") run(ui.colorAttr.value.trim());
    });
  }
}
