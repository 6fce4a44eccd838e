// The page's side of the session: the sign-in form (zh-CN / English), the user and their
// jurisdiction in the header, sign-out, the import button only for those who may import,
// and the jurisdiction's boundary drawn on the globe for the camera to frame.
//
// API used: POST /api/auth/token (through auth.js), GET /api/me, GET /api/jurisdictions.

import { getJson } from "./api.js";
import { onSignedOut, resume, signIn, signOut } from "./auth.js";
import { getLanguage, onLanguageChange, setLanguage, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const BOUNDARY_CSS = "#ff9f1c";
const FRAME_MARGIN = 0.1; // of the jurisdiction's width and height, on each side

export class SessionUi {
  constructor(app) {
    this.app = app;
    this.me = null;
    this.jurisdiction = null; // the user's node, with its boundary (GeoJSON, CRS84) if any
    this.boundary = null; // the Cesium data source drawing it
    this.ui = {
      overlay: $("signin"),
      form: $("signin-form"),
      username: $("signin-username"),
      password: $("signin-password"),
      error: $("signin-error"),
      submit: $("signin-submit"),
      lang: $("signin-lang"),
      user: $("user"),
      userName: $("user-name"),
      userJurisdiction: $("user-jurisdiction"),
      signOut: $("sign-out"),
      importOpen: $("import-open"),
    };
    this.ui.lang.addEventListener("click", () => setLanguage(getLanguage() === "zh-CN" ? "en" : "zh-CN"));
    this.ui.signOut.addEventListener("click", () => this.signOut());
    onLanguageChange(() => this.me && this.showUser(this.me));
    onSignedOut((reason) => {
      if (reason) this.ask(t("auth.expired", { reason })).then((me) => this.changed(me));
    });
  }

  /** Resume the tab's session or ask for a sign-in; resolves with GET /api/me. */
  async start() {
    if (await resume()) {
      try {
        return this.signedIn(await getJson("/api/me"));
      } catch (err) {
        if (err.status !== 401) throw err;
      }
    }
    return this.signedIn(await this.ask(null));
  }

  /** Show the form until a sign-in succeeds; resolves with GET /api/me. */
  ask(message) {
    const { overlay, form, username, password, error, submit } = this.ui;
    overlay.hidden = false;
    document.body.classList.add("signed-out");
    error.hidden = !message;
    error.textContent = message || "";
    password.value = "";
    (username.value ? password : username).focus();
    return new Promise((resolve) => {
      const onSubmit = async (event) => {
        event.preventDefault();
        submit.disabled = true;
        submit.textContent = t("auth.signingIn");
        try {
          await signIn(username.value.trim(), password.value);
          const me = await getJson("/api/me");
          form.removeEventListener("submit", onSubmit);
          overlay.hidden = true;
          document.body.classList.remove("signed-out");
          error.hidden = true;
          resolve(me);
        } catch (err) {
          error.textContent = signInError(err);
          error.hidden = false;
          password.value = "";
          password.focus();
        } finally {
          submit.disabled = false;
          submit.textContent = t("auth.signIn");
        }
      };
      form.addEventListener("submit", onSubmit);
    });
  }

  signedIn(me) {
    this.me = me;
    this.app.me = me;
    this.showUser(me);
    return me;
  }

  /** A sign-in after the session ended: the same user goes on, another one starts afresh. */
  changed(me) {
    if (this.me && me.username === this.me.username) this.signedIn(me);
    else window.location.reload();
  }

  showUser(me) {
    const { user, userName, userJurisdiction, importOpen } = this.ui;
    userName.textContent = me.display_name || me.username;
    const place = me.jurisdiction;
    userJurisdiction.textContent = place
      ? `${place.name || place.code} · ${t(`auth.level.${place.level}`)}`
      : "";
    userJurisdiction.title = place ? place.code : "";
    user.hidden = false;
    importOpen.hidden = !(me.actions || []).includes("import");
  }

  async signOut() {
    await signOut();
    window.location.reload();
  }

  /**
   * Draw the user's jurisdiction boundary on the globe; resolves with its rectangle for the
   * camera to frame, or null when the city holds no polygon for it.
   */
  async drawJurisdiction(viewer, height = 0) {
    const code = this.me?.jurisdiction?.code;
    if (!code) return null;
    // The caller's subtree (an empty list when the city holds no jurisdictions yet).
    const node = findNode(await getJson("/api/jurisdictions"), code);
    if (!node) return null;
    if (!this.me.jurisdiction.name && node.name) {
      // A server whose /api/me leaves the name out: the tree has it.
      this.me.jurisdiction.name = node.name;
      this.showUser(this.me);
    }
    const geometry = node.boundary;
    if (!geometry) return null;
    this.jurisdiction = node;
    const rings = geometry.type === "Polygon" ? geometry.coordinates : geometry.coordinates.flat();
    const source = new Cesium.CustomDataSource("jurisdiction");
    const color = Cesium.Color.fromCssColorString(BOUNDARY_CSS);
    let [west, south, east, north] = [180, 90, -180, -90];
    for (const ring of rings) {
      for (const [lon, lat] of ring) {
        west = Math.min(west, lon);
        east = Math.max(east, lon);
        south = Math.min(south, lat);
        north = Math.max(north, lat);
      }
      source.entities.add({
        name: node.name,
        polyline: {
          // at the city's ground height: lines clamped to the ground were drawn far from
          // their place on a wide top-down view of the city's own terrain
          positions: Cesium.Cartesian3.fromDegreesArrayHeights(ring.flatMap(([lon, lat]) => [lon, lat, height])),
          width: 3,
          material: color,
          clampToGround: false,
        },
      });
    }
    await viewer.dataSources.add(source);
    this.boundary = source;
    // A margin around it: the boundary stays clear of the screen's edges and the header.
    const [padX, padY] = [(east - west) * FRAME_MARGIN, (north - south) * FRAME_MARGIN];
    return Cesium.Rectangle.fromDegrees(west - padX, south - padY, east + padX, north + padY);
  }
}


/** What the form says when a sign-in fails, in the page's language. */
function signInError(err) {
  if (err.status === 401) return t("auth.wrong");
  if (err.status === 429) return t("auth.throttled", { s: err.retryAfter || 60 });
  return t("auth.failed", { error: err.message });
}

/** The node of ``code`` in a list of nested jurisdiction nodes, or null. */
function findNode(nodes, code) {
  for (const node of nodes || []) {
    if (node.code === code) return node;
    const inside = findNode(node.children, code);
    if (inside) return inside;
  }
  return null;
}
