// The URL <-> state rules of the map page (static/js/map/state.js), without a browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import { changedFilters, clearing, filterOfParam, filterParams, isDay, readState, stateParams } from "../../static/js/map/state.js";

// As scouting/maps.py sends them (from scouting/search.py FILTER_PARAMETERS).
const FILTERS = { genre: ["genre"], terrain: ["terrain"], facility: ["facility"], base: ["base"], q: ["q"], bbox: ["bbox"],
  area: ["area"], near: ["near", "radius_km"], elevation: ["elev_min", "elev_max"] };
const PARAMS = filterParams(FILTERS);

test("filter parameters are flattened in the server's order", () => {
  assert.deepEqual(PARAMS, ["genre", "terrain", "facility", "base", "q", "bbox", "area", "near", "radius_km",
    "elev_min", "elev_max"]);
});

test("each parameter knows the filter that clears it", () => {
  const of = filterOfParam(FILTERS);
  assert.equal(of.radius_km, "near");
  assert.equal(of.elev_min, "elevation");
  assert.equal(of.genre, "genre");
  assert.equal(of.limit, undefined);
});

test("a shared URL is read into filters, site, layer, view and date", () => {
  const state = readState("?genre=nature,red&q=%E7%80%91&near=120.1,27.8&radius_km=5&site=12&layer=amap" +
    "&map=13/27.84/120.0&date=2026-06-21", PARAMS);
  assert.deepEqual(state.filters, { genre: "nature,red", q: "瀑", near: "120.1,27.8", radius_km: "5" });
  assert.equal(state.site, 12);
  assert.equal(state.layer, "amap");
  assert.deepEqual(state.view, { zoom: 13, lat: 27.84, lng: 120.0 });
  assert.equal(state.date, "2026-06-21");
});

test("malformed page parameters are left out, not guessed", () => {
  const state = readState("?site=12a&map=13/abc/120&date=21.06.2026&genre=&limit=5", PARAMS);
  assert.equal(state.site, null, "site must be digits only");
  assert.equal(state.view, null, "map= needs three numbers");
  assert.equal(state.date, null, "date must be YYYY-MM-DD");
  assert.deepEqual(state.filters, {}, "empty and unknown parameters are dropped");
});

test("state -> query: the API request holds filters only, the page URL adds its own parameters", () => {
  const state = { filters: { elev_max: "800", genre: "nature" }, site: 7, layer: null, view: { zoom: 12, lat: 27.8123456, lng: 120.0876543 },
    date: null };
  assert.equal(stateParams(state, PARAMS, false).toString(), "genre=nature&elev_max=800");
  assert.equal(stateParams(state, PARAMS, true).toString(), "genre=nature&elev_max=800&site=7&map=12%2F27.81235%2F120.08765");
});

test("reading what was written gives the same state back", () => {
  const state = { filters: { terrain: "waterfall", area: "120,27,120.1,27,120.1,27.1" }, site: 3, layer: "topo",
    view: { zoom: 10, lat: 27.5, lng: 120.25 }, date: "2026-12-01", dropped: [] };
  assert.deepEqual(readState("?" + stateParams(state, PARAMS, true).toString(), PARAMS), state);
});

test("changing filters: null or empty removes, values become strings, the radius goes with its point", () => {
  const before = { near: "120,27", radius_km: "10", genre: "red" };
  assert.deepEqual(changedFilters(before, { genre: null, elev_min: 300 }), { near: "120,27", radius_km: "10", elev_min: "300" });
  assert.deepEqual(changedFilters(before, { near: "" }), { genre: "red" });
  assert.deepEqual(before, { near: "120,27", radius_km: "10", genre: "red" }, "the old filters are not changed");
});

test("clearing a filter clears every parameter it has", () => {
  assert.deepEqual(clearing(FILTERS, "near"), { near: null, radius_km: null });
  assert.deepEqual(clearing(FILTERS, "elevation"), { elev_min: null, elev_max: null });
  assert.deepEqual(clearing(FILTERS, "nonsense"), {});
});

test("bad state degrades: repeated lists are a union, a clashing single filter is left out and named", () => {
  const state = readState("?facility=parking&facility=toilets&facility=parking&genre=nature&base=a&base=b&q=x",
    ["genre", "facility", "base", "q"], ["genre", "terrain", "facility"]);
  assert.equal(state.filters.facility, "parking,toilets", "the union, each once");
  assert.equal(state.filters.genre, "nature");
  assert.equal(state.filters.q, "x", "the valid rest applies");
  assert.equal(state.filters.base, undefined, "two different bases cannot both apply");
  assert.deepEqual(state.dropped, ["base"]);
});

test("a view out of range is clamped, not taken as it is", () => {
  const limits = { minZoom: 3, maxZoom: 19, bounds: [[26.3, 118.6], [29.3, 121.6]] };
  assert.deepEqual(readState("?map=99/999/999", [], [], limits).view, { zoom: 19, lat: 29.3, lng: 121.6 });
  assert.deepEqual(readState("?map=0/-999/0", [], [], limits).view, { zoom: 3, lat: 26.3, lng: 118.6 });
  assert.deepEqual(readState("?map=12/27.8/120.1", [], [], limits).view, { zoom: 12, lat: 27.8, lng: 120.1 });
  assert.equal(readState("?map=12//120", [], [], limits).view, null, "an empty part is malformed");
});

test("a day that is not in the calendar is left out", () => {
  assert.equal(readState("?date=2026-02-30", []).date, null);
  assert.equal(readState("?date=2028-02-29", []).date, "2028-02-29");
  assert.equal(isDay("2026-13-01"), false);
});
