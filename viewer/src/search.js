// The search box: objects by name (Chinese or pinyin), address or id (GET /api/search),
// buildings first, each shown with its building and storey; keyboard and mouse; choosing
// one selects it and flies to it.

import { el, getJson } from "./api.js";
import { className, t } from "./i18n.js";

/** Where a hit is (building › storey), its matching address, or its id when the id matched. */
export function describe(hit) {
  if (hit.match === "address") return `${t("search.byAddress")}: ${hit.address}`;
  const place = [hit.building_name, hit.storey_name].filter(Boolean);
  if (place.length === 2) return t("search.in", { building: place[0], storey: place[1] });
  if (place.length === 1) return place[0];
  return hit.match === "id" ? hit.id : "";
}

export class SearchBox {
  constructor(app, input, list) {
    this.app = app;
    this.input = input;
    this.list = list;
    this.results = [];
    this.active = -1;
    this.timer = null;
    this.token = 0;
    input.addEventListener("input", () => this.schedule());
    input.addEventListener("keydown", (e) => this.onKey(e));
    input.addEventListener("focus", () => {
      if (this.results.length) this.list.hidden = false;
    });
    document.addEventListener("pointerdown", (e) => {
      if (!this.list.contains(e.target) && e.target !== input) this.list.hidden = true;
    });
  }

  schedule() {
    clearTimeout(this.timer);
    this.list.classList.add("stale"); // the shown results are for an older text
    this.timer = setTimeout(() => this.run(this.input.value), 180);
  }

  /** Search now; resolves to the results (also shown in the list). */
  async run(text) {
    const q = text.trim();
    const token = ++this.token;
    if (!q) {
      this.show([], null);
      return [];
    }
    let body;
    try {
      body = await getJson(`/api/search?q=${encodeURIComponent(q)}&limit=20`);
    } catch (err) {
      if (token === this.token) this.show([], t("search.failed", { error: err.message }));
      return [];
    }
    if (token !== this.token) return body.results;
    this.show(body.results, body.results.length ? null : t("search.none", { q }));
    return body.results;
  }

  show(results, message) {
    this.list.classList.remove("stale");
    this.results = results;
    this.active = results.length ? 0 : -1;
    const items = results.map((r, i) => {
      const detail = describe(r);
      const item = el(
        "li",
        { className: "search-item", role: "option", id: `search-item-${i}`, dataset: { objectId: r.id } },
        el("span", { className: "search-name" }, r.name || r.id),
        el("span", { className: "search-class" }, className(r.class)),
        el("span", { className: "search-detail" }, detail),
      );
      item.addEventListener("pointerdown", (e) => {
        e.preventDefault();
        this.choose(i);
      });
      return item;
    });
    if (message) items.push(el("li", { className: "search-message" }, message));
    this.list.replaceChildren(...items);
    this.list.hidden = items.length === 0;
    this.highlight();
  }

  highlight() {
    [...this.list.querySelectorAll(".search-item")].forEach((item, i) => {
      item.setAttribute("aria-selected", String(i === this.active));
    });
    if (this.active >= 0) this.input.setAttribute("aria-activedescendant", `search-item-${this.active}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  onKey(e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!this.results.length) return;
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.results.length) % this.results.length;
      this.list.hidden = false;
      this.highlight();
    } else if (e.key === "Enter") {
      e.preventDefault();
      clearTimeout(this.timer);
      if (this.active >= 0 && !this.list.hidden) this.choose(this.active);
      else this.run(this.input.value);
    } else if (e.key === "Escape") {
      this.list.hidden = true;
    }
  }

  choose(index) {
    const result = this.results[index];
    if (!result) return;
    this.list.hidden = true;
    this.input.value = result.name || result.id;
    this.app.select(result.id, { fly: true });
  }
}
