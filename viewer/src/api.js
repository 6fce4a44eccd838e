// HTTP and DOM helpers shared by the viewer's modules (and import.js, through
// window.cimtwin.util). Same origin only: the page never talks to another host. Every request
// carries the session's bearer token and the interface language (Accept-Language: the
// server's error messages come in it); a 401 refreshes the session once and retries.

import { authHeaders, expire, hasSession, refresh } from "./auth.js";
import { acceptLanguage, t } from "./i18n.js";

async function send(url, init) {
  const headers = { "Accept-Language": acceptLanguage(), ...init.headers, ...authHeaders() };
  try {
    return await fetch(url, { ...init, headers });
  } catch (err) {
    throw new Error(t("api.unreachable", { error: err.message || err }));
  }
}

async function request(url, init) {
  let response = await send(url, init);
  if (response.status === 401 && hasSession()) {
    try {
      await refresh();
      response = await send(url, init);
    } catch {
      /* refresh refused: the session has ended, reported below */
    }
    if (response.status === 401) expire("session expired");
  }
  if (!response.ok) {
    let detail = "";
    try {
      const text = await response.text();
      try {
        const body = JSON.parse(text);
        detail = typeof body.detail === "string" ? body.detail : describeDetail(body.detail ?? body);
      } catch {
        detail = text.trim().slice(0, 300);
      }
    } catch {
      /* body unreadable: status line is enough */
    }
    const status = `${response.status}${response.statusText ? " " + response.statusText : ""}`;
    const error = new Error(detail ? `${status}: ${detail}` : status);
    error.status = response.status;
    throw error;
  }
  try {
    return await response.json();
  } catch (err) {
    throw new Error(t("api.invalidJson", { url, error: err.message || err }));
  }
}

/** A validation error's list ([{loc, msg}], FastAPI's 422) as "field: message; ...". */
function describeDetail(detail) {
  if (!Array.isArray(detail) || !detail.every((d) => d && d.msg)) return JSON.stringify(detail);
  const fields = detail.map((d) => `${(d.loc || []).slice(-1)[0] ?? ""}: ${d.msg}`).join("; ");
  return t("api.invalidRequest", { fields });
}

/** GET a JSON document; throws an Error with a readable message on non-2xx or bad JSON. */
export function getJson(url, init) {
  return request(url, { ...init, headers: { Accept: "application/json" } });
}

/** POST a JSON body, read a JSON answer. */
export function postJson(url, body, init) {
  return request(url, {
    ...init,
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Tiny DOM helper: el("td", {className: "x"}, "text", childNode, ...). Text is never HTML. */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
      else node[key] = value;
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A readable string for an attribute value, or null when it is empty. */
export function formatValue(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== "object")) {
    return value.map((v) => (v === null ? "—" : String(v))).join(", ");
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Metres, square metres: "12.3 m", "1 234 m²", "1.2 km". */
export function formatLength(metres) {
  if (metres >= 10000) return `${(metres / 1000).toFixed(2)} km`;
  return `${metres.toFixed(metres < 100 ? 2 : 1)} m`;
}

export function formatArea(squareMetres) {
  if (squareMetres >= 1e6) return `${(squareMetres / 1e6).toFixed(3)} km²`;
  return `${squareMetres.toFixed(squareMetres < 1000 ? 1 : 0)} m²`;
}
