// What the server says, in the interface language. Requests carry Accept-Language (api.js),
// so the server answers errors in Chinese itself; what it stored in English earlier (a
// job's progress message, an import report's findings) is translated here with the same
// catalogue (data/codes/messages.json, GET /api/codes/messages): patterns matching whole
// English messages, with their Chinese text. Unknown texts stay as they are.

import { acceptLanguage, getLanguage, t } from "./i18n.js";

const LOAD_MS = 5000;
const MAX_DEPTH = 3;
let entries = [];

async function loadCatalogue() {
  try {
    const response = await fetch("/api/codes/messages", {
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(LOAD_MS),
    });
    if (!response.ok) return false;
    const body = await response.json();
    entries = body.messages.map((m) => ({ code: m.code, pattern: new RegExp(`^(?:${m.en})$`, "s"), zh: m.zh }));
    return true;
  } catch {
    return false; // the texts stay English
  }
}

export const catalogueLoaded = await loadCatalogue();

function translate(text, depth) {
  for (const entry of entries) {
    const match = entry.pattern.exec(text);
    if (!match) continue;
    const values = { ...(match.groups || {}) };
    if (values.error && depth < MAX_DEPTH) values.error = translate(values.error, depth + 1) ?? values.error;
    return entry.zh.replace(/\{(\w+)\}/g, (m, name) => values[name] ?? m);
  }
  return null;
}

/** `text` (an English message of the server) in the current language. */
export function serverText(text) {
  if (text === null || text === undefined || text === "") return text;
  if (getLanguage() !== "zh-CN") return String(text);
  return translate(String(text), 0) ?? String(text);
}

/** The name of a job status (queued, running, succeeded, failed). */
export function jobStatus(status) {
  const key = `job.status.${status}`;
  const text = t(key);
  return text === key ? String(status) : text;
}

/** One line for a job's progress: its message (translated), or its status, and percent. */
export function jobText(job) {
  if (job.status === "queued") return jobStatus("queued");
  const percent = Number(job.progress) || 0;
  return `${serverText(job.message) || jobStatus(job.status)} · ${percent} %`;
}

/** A label of an import report's field (`elements_with_mesh`, `georeference`...). */
export function reportLabel(field) {
  const key = `report.${field}`;
  const text = t(key);
  return text === key ? field.replace(/_/g, " ") : text;
}

export { acceptLanguage };
