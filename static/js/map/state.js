/* The page URL is the whole state: filters (the API's own parameter names), the selected site, the
 * basemap, the map view and the sun date.  Opening a URL and clicking in the panel take the same path:
 * state -> URL -> API request -> map + list.
 *
 * The filter parameter names are not kept here: the server sends them (settings.filters, from
 * scouting/search.py) as {filter name: [its URL parameters]}, e.g. {near: ["near", "radius_km"]}.
 * Everything but writeUrl is pure.
 */

// Every filter parameter, in the server's order.
export function filterParams(filters) {
  return Object.values(filters).flat();
}

// URL parameter -> the filter it belongs to (the names the facets API counts "without").
export function filterOfParam(filters) {
  const of = {};
  Object.entries(filters).forEach(([name, params]) => params.forEach((param) => { of[param] = name; }));
  return of;
}

export function emptyState() {
  return { filters: {}, site: null, layer: null, view: null, date: null, dropped: [] };
}

// A real calendar day written YYYY-MM-DD (2026-02-30 is not one).
export function isDay(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const [y, m, d] = text.split("-").map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

// A view {zoom, lat, lng} moved inside limits {minZoom, maxZoom, bounds: [[south, west], [north, east]]}.
export function clampView(view, limits) {
  const [[south, west], [north, east]] = limits.bounds;
  return { zoom: clamp(Math.round(view.zoom), limits.minZoom, limits.maxZoom), lat: clamp(view.lat, south, north),
    lng: clamp(view.lng, west, east) };
}

// A query string (location.search) -> state.  Bad state degrades, it does not blank the map:
// - a list parameter given more than once (lists: the parameters that take comma-separated terms) is the union
//   of its values; any other filter parameter given twice with different values is left out and named in
//   state.dropped, as are the parameters of a filter the server refuses later (see results.js);
// - a map view out of limits (clampView) is moved inside them; a malformed view, site or day is left out.
export function readState(search, params, lists = [], limits = null) {
  const query = new URLSearchParams(search);
  const state = emptyState();
  params.forEach((name) => {
    const values = [...new Set(query.getAll(name).filter((v) => v !== ""))];
    if (values.length === 1 || (values.length > 1 && lists.includes(name))) state.filters[name] = values.join(",");
    else if (values.length > 1) state.dropped.push(name);
  });
  const site = query.get("site");
  if (site && /^\d+$/.test(site)) state.site = parseInt(site, 10);
  state.layer = query.get("layer");
  const view = (query.get("map") || "").split("/").map((v) => (v.trim() === "" ? NaN : Number(v)));
  if (view.length === 3 && view.every(Number.isFinite)) {
    state.view = { zoom: view[0], lat: view[1], lng: view[2] };
    if (limits) state.view = clampView(state.view, limits);
  }
  if (isDay(query.get("date") || "")) state.date = query.get("date");
  return state;
}

// State -> URLSearchParams: the filters only (an API request), or with the page's own parameters (the URL).
export function stateParams(state, params, includePage) {
  const query = new URLSearchParams();
  params.forEach((name) => {
    if (state.filters[name]) query.set(name, state.filters[name]);
  });
  if (!includePage) return query;
  if (state.site) query.set("site", state.site);
  if (state.layer) query.set("layer", state.layer);
  if (state.view) query.set("map", [state.view.zoom, state.view.lat.toFixed(5), state.view.lng.toFixed(5)].join("/"));
  if (state.date) query.set("date", state.date);
  return query;
}

// Filters with `changes` applied: null or "" removes a filter; a radius goes with its point.
export function changedFilters(filters, changes) {
  const out = { ...filters };
  Object.keys(changes).forEach((k) => {
    if (changes[k] === null || changes[k] === "") delete out[k];
    else out[k] = String(changes[k]);
  });
  if (!out.near) delete out.radius_km;
  return out;
}

// The changes that clear one filter (every parameter it has).
export function clearing(filters, name) {
  const changes = {};
  (filters[name] || []).forEach((param) => { changes[param] = null; });
  return changes;
}

// The state into the address bar (no new history entry) and into the language links, which keep it.
export function writeUrl(state, params) {
  const query = stateParams(state, params, true).toString();
  const url = window.location.pathname + (query ? "?" + query : "");
  if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, "", url);
  document.querySelectorAll("[data-lang]").forEach((a) => {
    const p = stateParams(state, params, true);
    p.set("lang", a.getAttribute("data-lang"));
    a.setAttribute("href", window.location.pathname + "?" + p.toString());
  });
}
