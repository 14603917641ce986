// Pure helpers of the map's layers, list, detail and API client.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, nextLink, problemText } from "../../static/js/map/api.js";
import { coordText, detailsUrl } from "../../static/js/map/detail.js";
import { clusterSize, ringFromParam, ringParam, viewBox } from "../../static/js/map/layers.js";
import { bestRelaxation, inViewNote } from "../../static/js/map/list.js";

test("the view asked about is snapped outwards to half-tile steps", () => {
  // zoom 10: steps of 180 / 1024 degrees.
  const step = 180 / 1024;
  const box = viewBox([120.01, 27.71, 120.2, 27.9], 10, null).split(",").map(Number);
  assert.deepEqual(box, [Math.floor(120.01 / step) * step, Math.floor(27.71 / step) * step, Math.ceil(120.2 / step) * step,
    Math.ceil(27.9 / step) * step].map((v) => Math.round(v * 1e6) / 1e6));
  assert.ok(box[0] <= 120.01 && box[2] >= 120.2, "the view is inside the box");
});

test("the view stays inside the world and inside a bbox filter; outside it there is nothing to ask", () => {
  assert.equal(viewBox([-400, -100, 400, 100], 0, null), "-180,-90,180,90");
  assert.equal(viewBox([119, 27, 121, 29], 8, "120,27.5,120.5,28"), "120,27.5,120.5,28");
  assert.equal(viewBox([100, 10, 101, 11], 8, "120,27.5,120.5,28"), null);
});

test("an area parameter becomes a Leaflet ring and back", () => {
  const ring = ringFromParam("120.1,27.7,120.2,27.7,120.2,27.8");
  assert.deepEqual(ring, [[27.7, 120.1], [27.7, 120.2], [27.8, 120.2]]);
  assert.equal(ringParam(ring.map(([lat, lng]) => ({ lat, lng }))), "120.1,27.7,120.2,27.7,120.2,27.8");
});

test("server clusters use the clusterer's size steps", () => {
  assert.deepEqual([1, 9, 10, 99, 100, 5000].map(clusterSize), ["small", "small", "medium", "medium", "large", "large"]);
});

test("an empty result offers the filter whose removal brings back the most sites, if any", () => {
  assert.equal(bestRelaxation({ genre: 3, near: 12, q: 0 }), "near");
  assert.equal(bestRelaxation({ genre: 0 }), null);
  assert.equal(bestRelaxation(null), null);
});

test("the note under the list in view", () => {
  const M = { noneInView: "none", listInView: "{shown} of {n}", allInView: "all {n}" };
  assert.equal(inViewNote(0, 0, M), "none");
  assert.equal(inViewNote(100, 2500, M), "100 of 2500");
  assert.equal(inViewNote(40, 40, M), "all 40");
});

test("paging follows the next link only", () => {
  assert.equal(nextLink({ links: [{ rel: "self", href: "/a" }, { rel: "next", href: "/b" }] }).href, "/b");
  assert.equal(nextLink({ links: [{ rel: "prev", href: "/a" }] }), null);
  assert.equal(nextLink({}), null);
});

test("details URL and copied coordinates", () => {
  assert.equal(detailsUrl("/api/sites", 7, null), "/api/sites/7/details");
  assert.equal(detailsUrl("/api/sites", 7, "2026-06-21"), "/api/sites/7/details?date=2026-06-21");
  assert.equal(coordText(27.7922, 120.0878), "27.792200, 120.087800");
});

test("a failed request is told in the page's words: the filter's label, never the parameter or the server's detail", () => {
  const M = { badFilter: "筛选条件“{filter}”无效", elevation: "海拔", notFound: "不存在", tooMany: "太频繁",
    serverUnavailable: "不可用", offline: "无连接", requestFailed: "未接受（{status}）", pageError: "页面出错" };
  const filterOf = { elev_min: "elevation", radius_km: "near" };
  const bad = new ApiError(400, { detail: "elev_min: must be a number", "invalid-params": [{ name: "elev_min", reason: "x" }] });
  assert.equal(problemText(bad, M, filterOf), "筛选条件“海拔”无效");
  assert.equal(problemText(new ApiError(400, { "invalid-params": [{ name: "radius_km" }] }), M, filterOf),
    "筛选条件“near”无效", "a filter without a label in M is named by the filter, not the parameter");
  assert.equal(problemText(new ApiError(400, { "invalid-params": [{ name: "limit" }] }), M, filterOf), "未接受（400）");
  assert.equal(problemText(new ApiError(404, {}), M, filterOf), "不存在");
  assert.equal(problemText(new ApiError(429, {}), M, filterOf), "太频繁");
  assert.equal(problemText(new ApiError(503, { detail: "database down" }), M, filterOf), "不可用");
  assert.equal(problemText(new ApiError(0, {}), M, filterOf), "无连接");
  assert.equal(problemText(new TypeError("x is undefined"), M, filterOf), "页面出错");
});
