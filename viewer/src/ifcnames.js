// Names of IFC things in the interface language: property sets, their properties, building
// uses. Stand-in with the same exports as part C's module of the same name (which loads
// the code lists of data/codes): until it lands, every name is shown as it is.

/** The label of property set `name` in the interface language; here the name itself. */
export function psetName(name) {
  return name;
}

/** The label of property `prop` of set `pset`; here the property's name. */
export function propertyName(pset, prop) {
  return prop;
}

/** The label of building use `code` ("office"); here the code itself. */
export function useName(code) {
  return code;
}
