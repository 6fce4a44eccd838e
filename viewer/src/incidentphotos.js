// Photos for a step or a report: a file input (several at once), their previews, and the
// checks the server makes too (JPEG, PNG or WebP; at most the size limit each).

import { el } from "./api.js";
import { t } from "./i18n.js";

export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

export class PhotoInput {
  constructor(maxMb, onChange = () => {}) {
    this.maxMb = maxMb;
    this.files = [];
    this.urls = [];
    this.input = el("input", { type: "file", name: "photos", multiple: true, accept: PHOTO_TYPES.join(",") });
    this.previews = el("div", { className: "photo-previews" });
    this.error = el("p", { className: "error photo-error", hidden: true });
    this.node = el("label", { className: "field photo-field" },
      el("span", null, t("incident.photos")), this.input,
      el("small", null, t("incident.photosHint", { mb: maxMb })), this.error, this.previews);
    this.input.addEventListener("change", () => {
      this.take([...this.input.files]);
      onChange();
    });
  }

  /** What is wrong with `files` (one sentence each; empty when nothing is). */
  static problems(files, maxMb) {
    const problems = [];
    for (const file of files) {
      if (!PHOTO_TYPES.includes(file.type)) problems.push(t("incident.badType", { name: file.name }));
      else if (file.size > maxMb * 1024 * 1024) problems.push(t("incident.tooBig", { name: file.name, mb: maxMb }));
    }
    return problems;
  }

  take(files) {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    const problems = PhotoInput.problems(files, this.maxMb);
    this.error.hidden = !problems.length;
    this.error.textContent = problems.join(" ");
    this.files = problems.length ? [] : files;
    if (problems.length) this.input.value = "";
    this.previews.replaceChildren(...this.files.map((file) => {
      const url = URL.createObjectURL(file);
      this.urls.push(url);
      return el("img", { className: "photo-preview", src: url, alt: file.name, title: file.name });
    }));
  }
}
