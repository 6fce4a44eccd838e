// The incidents' requests beyond api.js's JSON ones: multipart forms (steps and reports with
// photos), attachments read as blobs with the bearer token (an <img src> could not carry
// it), and the code lists of GET /api/incident-codes in one shape whatever their form.

import { getJson } from "./api.js";
import { authHeaders, expire, hasSession, refresh } from "./auth.js";
import { getLanguage, t } from "./i18n.js";

async function send(url, init) {
  const go = () => fetch(url, { ...init, headers: { Accept: "application/json", ...authHeaders() } });
  let response;
  try {
    response = await go();
    if (response.status === 401 && hasSession()) {
      await refresh().catch(() => {});
      response = await go();
      if (response.status === 401) expire("session expired");
    }
  } catch (err) {
    throw new Error(`cannot reach the server (${err.message || err})`);
  }
  return response;
}

/** An Error for a refused answer: `status`, and `reason` (the API's detail, readable). */
async function refusal(response) {
  let reason = response.statusText || "";
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      reason = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
    } catch {
      reason = text.trim().slice(0, 300) || reason;
    }
  } catch {
    /* unreadable body: the status line says enough */
  }
  const error = new Error(`${response.status}: ${reason}`);
  error.status = response.status;
  error.reason = reason;
  return error;
}

/** POST a FormData; the JSON answer, or an Error with status and reason. */
export async function postForm(url, form) {
  const response = await send(url, { method: "POST", body: form });
  if (!response.ok) throw await refusal(response);
  return response.json();
}

/** GET a file as a blob: URL (the caller revokes it). */
export async function blobUrl(url) {
  const response = await send(url, { method: "GET" });
  if (!response.ok) throw await refusal(response);
  return URL.createObjectURL(await response.blob());
}

/** Items as a list whether the API gives a list or an object keyed by code. */
function listOf(value) {
  if (!value) return [];
  if (Array.isArray(value)) return value;
  return Object.entries(value).map(([code, item]) => ({ code, ...item }));
}

/** The code lists: {categories, departments, statuses, actions} as Maps by code. */
export async function loadCodes() {
  const body = await getJson("/api/incident-codes");
  const byCode = (items) => new Map(listOf(items).map((item) => [item.code, item]));
  return {
    categories: byCode(body.categories),
    departments: byCode(body.departments),
    statuses: byCode(body.statuses),
    // the workflow's actions, and the steps the system records (report, escalate...)
    actions: byCode([...listOf(body.actions), ...listOf(body.systemSteps)]),
    maxPhotoMb: Number(body.maxPhotoMb ?? body.max_photo_mb) || 10,
  };
}

/** An item's name in the page's language ({zh, en} or {name_zh, name_en}), else `fallback`. */
export function nameOf(item, fallback) {
  if (!item) return fallback;
  const zh = getLanguage() === "zh-CN";
  return (zh ? item.zh ?? item.name_zh : item.en ?? item.name_en) ?? item.name ?? fallback;
}

/** The jurisdictions of the caller's subtree (GET /api/jurisdictions) as a flat list of
 * {code, name, level, depth, parent}. */
export async function loadJurisdictions() {
  const flat = [];
  const visit = (nodes, depth, parent) => {
    for (const node of nodes || []) {
      flat.push({ code: node.code, name: node.name || node.code, level: node.level, depth, parent });
      visit(node.children, depth + 1, node.code);
    }
  };
  visit(await getJson("/api/jurisdictions"), 0, null);
  return flat;
}

/** "3 h 20 min" for a span in milliseconds. */
export function span(ms) {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60_000));
  if (minutes < 60) return t("incident.time.minutes", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t("incident.time.hours", { h: hours, m: minutes % 60 });
  return t("incident.time.days", { d: Math.floor(hours / 24), h: hours % 24 });
}

/** A time in the page's language (short). */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(getLanguage(), { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}
