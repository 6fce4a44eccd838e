// Names of IFC things in the interface language, from the shipped code lists (data/codes,
// served by GET /api/codes/{name}): property sets, their properties, building uses, classes.
// The lists load once when this module is first imported; when they cannot be loaded the
// raw names are shown. Every function falls back to the name it was given.

import { getLanguage, setClassNames } from "./i18n.js";

const LOAD_MS = 5000;
const psets = new Map(); // "Pset_WallCommon" -> {zh, en}
const properties = new Map(); // "IsExternal" -> {zh, en}
const overrides = new Map(); // "Pset_SpaceCommon\u0000Reference" -> {zh, en}
const uses = new Map(); // "residential" (and its aliases, case-folded) -> {code, zh, en}

async function fetchList(name) {
  const response = await fetch(`/api/codes/${name}`, {
    headers: { Accept: "application/json" },
    signal: AbortSignal.timeout(LOAD_MS),
  });
  if (!response.ok) throw new Error(`code list ${name}: ${response.status}`);
  return response.json();
}

/** Load the code lists (called once below; exported for tests that load them again). */
export async function loadNames() {
  const [props, useList, classes] = await Promise.all(
    ["ifc_properties", "uses", "classes"].map((name) => fetchList(name).catch(() => null)),
  );
  if (props) {
    for (const item of props.psets) psets.set(item.name, item);
    for (const item of props.properties) properties.set(item.name, item);
    for (const [pset, named] of Object.entries(props.overrides || {})) {
      for (const [prop, item] of Object.entries(named)) overrides.set(`${pset}\u0000${prop}`, item);
    }
  }
  if (useList) {
    for (const item of useList.uses) {
      for (const key of [item.code, ...(item.aliases || [])]) uses.set(key.toLowerCase(), item);
    }
  }
  if (classes) setClassNames([...classes.ifc, ...classes.city]);
  return Boolean(props && useList && classes);
}

export const loaded = await loadNames();

function label(item, fallback) {
  if (!item) return fallback;
  return (getLanguage() === "zh-CN" ? item.zh : item.en) || fallback;
}

/** "墙通用属性" for "Pset_WallCommon" in Chinese, "Wall, common" in English; else the name. */
export function psetName(name) {
  return label(psets.get(name), name);
}

/** The label of property `prop` of set `pset` ("外部构件" for IsExternal); else `prop`. */
export function propertyName(pset, prop) {
  return label(overrides.get(`${pset}\u0000${prop}`) ?? properties.get(prop), prop);
}

/** The label of a use value ("住宅" for "residential" or "apartments"); else the value. */
export function useName(code) {
  if (code === null || code === undefined) return code;
  return label(uses.get(String(code).trim().toLowerCase()), String(code));
}

/** The use code a value means ("residential" for "apartments"), or null when unknown. */
export function useCode(value) {
  return uses.get(String(value ?? "").trim().toLowerCase())?.code ?? null;
}
