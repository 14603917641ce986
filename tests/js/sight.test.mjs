// Fanning out bases and keeping a point in sight (static/js/map/fan.js, sight.js), without a browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clearOfSites, fanOffsets } from "../../static/js/map/fan.js";
import { controlPadding, panIntoView, uncoveredPart, whenStill } from "../../static/js/map/sight.js";

test("bases on one point are spread round it, far enough apart to click each", () => {
  const points = [{ x: 100, y: 100 }, { x: 100, y: 100 }, { x: 300, y: 100 }, { x: 100, y: 101 }];
  const offsets = fanOffsets(points, 30, 36);
  assert.deepEqual(offsets[2], { dx: 0, dy: 0 }, "a base alone stays on its point");
  const placed = [0, 1, 3].map((i) => ({ x: points[i].x + offsets[i].dx, y: points[i].y + offsets[i].dy }));
  for (let a = 0; a < placed.length; a += 1) {
    for (let b = a + 1; b < placed.length; b += 1) {
      const d = Math.hypot(placed[a].x - placed[b].x, placed[a].y - placed[b].y);
      assert.ok(d >= 35, `fanned bases ${a} and ${b} are ${d.toFixed(1)} px apart`);
    }
  }
  assert.deepEqual(fanOffsets(points, 30, 36), offsets, "the same input gives the same ring");
});

test("two bases on one point go left and right of it", () => {
  const offsets = fanOffsets([{ x: 0, y: 0 }, { x: 0, y: 0 }], 30, 36);
  assert.ok(offsets[0].dx < 0 && offsets[1].dx > 0, "first left, second right");
  assert.equal(offsets[0].dy, 0);
});

test("a point under a phone's drawer is panned into the part above it", () => {
  const visible = uncoveredPart({ top: 50, bottom: 844, left: 0, right: 390, width: 390, height: 794 },
    { top: 350, bottom: 844, left: 0, right: 390, height: 494 });
  assert.deepEqual(visible, { left: 0, top: 0, right: 390, bottom: 300 });
  const [dx, dy] = panIntoView({ x: 195, y: 500 }, visible, 30);
  assert.deepEqual([dx, dy], [0, 350], "pans the point to the middle of the free part");
  assert.deepEqual(panIntoView({ x: 195, y: 100 }, visible, 30), [0, 0], "a point in sight stays");
  assert.deepEqual(uncoveredPart({ top: 0, bottom: 800, left: 340, right: 1366, width: 1026, height: 800 },
    { top: 0, bottom: 800, left: 986, right: 1366, height: 800 }),
  { left: 0, top: 0, right: 1026, bottom: 800 }, "a side panel beside the map covers none of it");
});

test("rings that would land on a neighbour become one wider ring: no two flags overlap", () => {
  // Ten bases within ~100 px, as at a phone's county view.
  const points = [[0, 0], [0, 0], [0, 0], [30, 10], [30, 10], [60, 40], [20, 50], [90, 20], [45, 45], [70, 70]]
    .map(([x, y]) => ({ x, y }));
  const offsets = fanOffsets(points, 34, 34 * 1.45);  // a chord of 1.45 x near: diagonal neighbours clear too
  const placed = points.map((p, i) => ({ x: p.x + offsets[i].dx, y: p.y + offsets[i].dy }));
  for (let a = 0; a < placed.length; a += 1) {
    for (let b = a + 1; b < placed.length; b += 1) {
      const apart = Math.abs(placed[a].x - placed[b].x) >= 34 || Math.abs(placed[a].y - placed[b].y) >= 34;
      assert.ok(apart, `flags ${a} and ${b} do not overlap`);
    }
  }
});

test("a fitted view keeps clear of the controls: a column pushes its side, a bar its edge", () => {
  const rect = (left, top, right, bottom) => ({ left, top, right, bottom, width: right - left, height: bottom - top });
  const map = rect(0, 105, 390, 844);  // a phone's map below the header
  const padding = controlPadding(map, {
    "top-left": rect(0, 105, 44, 253),  // zoom and "more tools": a column
    "top-right": rect(332, 105, 390, 163),  // the layers button: as wide as tall, the side is nearer
    "bottom-left": rect(0, 756, 79, 844),  // legend: its 79 px across vs 88 px up
    "bottom-right": rect(68, 822, 390, 844),  // attribution: a bar along the bottom
  }, 10);
  assert.deepEqual(padding, { paddingTopLeft: [87, 10], paddingBottomRight: [66, 30] });
  assert.deepEqual(controlPadding(map, { "top-left": null, "bottom-right": rect(0, 0, 0, 0) }, 24),
    { paddingTopLeft: [24, 24], paddingBottomRight: [24, 24] }, "no controls: the margin alone");
});

test("a base's badge standing on a site's marker moves off it, onto no other badge", () => {
  const badge = { x: 2, y: -19, half: 19 }, near = 34;
  const points = [{ x: 100, y: 100 }, { x: 300, y: 100 }, { x: 100, y: 60 }];
  const offsets = [{ dx: 0, dy: 0 }, { dx: 0, dy: 0 }, { dx: 40, dy: 0 }];
  const sites = [{ x: 102, y: 85 }, { x: 500, y: 500 }];  // the first under base 0's badge
  const moved = clearOfSites(points, offsets, sites, badge, near);
  assert.deepEqual(moved[1], offsets[1], "a badge over no site stays");
  assert.deepEqual(moved[2], offsets[2]);
  const foot = { x: points[0].x + moved[0].dx, y: points[0].y + moved[0].dy };
  const middle = { x: foot.x + badge.x, y: foot.y + badge.y };
  assert.ok(Math.abs(middle.x - 102) >= 19 || Math.abs(middle.y - 85) >= 19, `the badge (${middle.x}, ${middle.y}) is off the site`);
  const other = { x: points[2].x + 40, y: points[2].y };
  assert.ok(Math.abs(foot.x - other.x) >= near || Math.abs(foot.y - other.y) >= near, "and off the other badge");
  assert.deepEqual(clearOfSites(points, offsets, [], badge, near), offsets, "no sites: nothing moves");
});

test("given the shape to fit, each control pushes the edge that leaves it the most room", () => {
  const rect = (left, top, right, bottom) => ({ left, top, right, bottom, width: right - left, height: bottom - top });
  const map = rect(0, 105, 390, 844);  // the phone of the test above
  const corners = { "top-left": rect(0, 105, 44, 253), "top-right": rect(332, 105, 390, 163),
    "bottom-left": rect(0, 756, 79, 844), "bottom-right": rect(68, 822, 390, 844) };
  // A county about as wide as tall: on this tall map it is fitted below the buttons, across the full width.
  const county = controlPadding(map, corners, 12, { width: 350, height: 330 });
  assert.deepEqual(county, { paddingTopLeft: [12, 156], paddingBottomRight: [12, 96] });
  const room = (p, s) => Math.min((390 - p.paddingTopLeft[0] - p.paddingBottomRight[0]) / s.width,
    (739 - p.paddingTopLeft[1] - p.paddingBottomRight[1]) / s.height);
  assert.ok(room(county, { width: 350, height: 330 }) >= 1, "the county fits at the zoom it was measured at");
  assert.ok(room(county, { width: 350, height: 330 }) > room(controlPadding(map, corners, 12), { width: 350, height: 330 }),
    "more room than with each control pushing the side it covers least");
  // A tall thin shape keeps the side pushes: there, height is what is short.
  assert.deepEqual(controlPadding(map, corners, 12, { width: 50, height: 1000 }), controlPadding(map, corners, 12));
});

// A stand-in for Leaflet's map: the flags whenStill reads and its `once` listeners.
function fakeMap() {
  const waiting = [];
  return {
    _animatingZoom: false, _panAnim: null,
    once(type, fn) { assert.equal(type, "moveend"); waiting.push(fn); },
    end() { const fns = waiting.splice(0); fns.forEach((fn) => fn()); },
    waiting,
  };
}

test("a move asked for while the map is still is made at once", () => {
  const map = fakeMap();
  let moves = 0;
  whenStill(map, () => { moves += 1; });
  assert.equal(moves, 1);
  assert.equal(map.waiting.length, 0, "nothing left waiting");
});

test("a move asked for during a zoom or a glide waits for the end of it, and of the next one begun meanwhile", () => {
  const map = fakeMap();
  map._animatingZoom = true;
  let moves = 0;
  whenStill(map, () => { moves += 1; });
  assert.equal(moves, 0, "not during the zoom: Leaflet would drop it");
  map._animatingZoom = false;
  map._panAnim = { _inProgress: true };  // a glide starts as the zoom ends
  map.end();
  assert.equal(moves, 0, "not during the glide either");
  map._panAnim._inProgress = false;
  map.end();
  assert.equal(moves, 1, "once the map is still, exactly once");
});
