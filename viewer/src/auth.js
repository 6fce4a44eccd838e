// The signed-in session: OAuth2 password sign-in (POST /api/auth/token), the tokens kept in
// sessionStorage (gone with the tab), a refresh shortly before the access token expires
// (POST /api/auth/refresh), and sign-out (POST /api/auth/logout). Requests carry the access
// token in the Authorization header, never in a cookie, so a cross-site form cannot write.

const STORAGE_KEY = "cimtwin.session";
// Refresh this long before the access token expires (or at half its life, if shorter).
const REFRESH_MARGIN_MS = 60_000;

let current = load();
let refreshTimer = null;
let refreshing = null;
const signedOutListeners = [];
const tokenListeners = [];

function load() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return saved && saved.accessToken ? saved : null;
  } catch {
    return null;
  }
}

function save(tokens) {
  current = {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresAt: Date.now() + 1000 * Number(tokens.expires_in || 0),
    lifetimeMs: 1000 * Number(tokens.expires_in || 0),
  };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(current));
  scheduleRefresh();
  for (const listener of tokenListeners) listener(authHeaders());
}

function forget() {
  current = null;
  sessionStorage.removeItem(STORAGE_KEY);
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
}

function scheduleRefresh() {
  if (refreshTimer) clearTimeout(refreshTimer);
  if (!current || !current.refreshToken) return;
  const margin = Math.min(REFRESH_MARGIN_MS, current.lifetimeMs / 2);
  const wait = Math.max(0, current.expiresAt - margin - Date.now());
  refreshTimer = setTimeout(() => refresh().catch(() => {}), wait);
}

async function detailOf(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
  } catch {
    return response.statusText;
  }
}

/** The Authorization header of the session, or none when signed out. */
export function authHeaders() {
  return current ? { Authorization: `Bearer ${current.accessToken}` } : {};
}

/** Whether a session (perhaps expired, but refreshable) is held. */
export function hasSession() {
  return current !== null;
}

/** When the access token expires (ms since the epoch), or null. */
export function expiresAt() {
  return current ? current.expiresAt : null;
}

/** Sign in with a user name and password; throws an Error whose `status` is the HTTP code. */
export async function signIn(username, password) {
  const body = new URLSearchParams({ grant_type: "password", username, password });
  const response = await fetch("/api/auth/token", {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  if (!response.ok) {
    const error = new Error(await detailOf(response));
    error.status = response.status;
    error.retryAfter = Number(response.headers.get("Retry-After")) || null;
    throw error;
  }
  save(await response.json());
}

/** Trade the refresh token for new tokens; signs out when the server refuses it. */
export function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    if (!current || !current.refreshToken) throw new Error("not signed in");
    const response = await fetch("/api/auth/refresh", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refreshToken }),
    });
    if (!response.ok) {
      const reason = await detailOf(response);
      expire(reason);
      throw new Error(reason);
    }
    save(await response.json());
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** The session is over (refused by the server): forget it and tell the page. */
export function expire(reason) {
  forget();
  for (const listener of signedOutListeners) listener(reason || null);
}

/** Sign out: the server revokes the session, the page forgets it either way. */
export async function signOut() {
  // No refresh may race the logout: one already sent is awaited, none other starts.
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
  if (refreshing) await refreshing.catch(() => {});
  const headers = authHeaders();
  try {
    if (current) await fetch("/api/auth/logout", { method: "POST", headers });
  } finally {
    expire(null);
  }
}

/** Call `listener(reason)` whenever the session ends. */
export function onSignedOut(listener) {
  signedOutListeners.push(listener);
}

/** Call `listener(headers)` whenever the access token changes (sign-in, refresh). */
export function onTokens(listener) {
  tokenListeners.push(listener);
}

/** Resume a saved session: refresh it now when its access token is (nearly) expired. */
export async function resume() {
  if (!current) return false;
  if (current.expiresAt - Date.now() < REFRESH_MARGIN_MS / 2) {
    try {
      await refresh();
    } catch {
      return false;
    }
  } else {
    scheduleRefresh();
  }
  return true;
}
