// Laying out the bases' badges (static/js/map/fan.js): short leader lines that never cross, without a browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clearOfSites, fanOffsets, ringSlots, segmentsCross, uncross } from "../../static/js/map/fan.js";

const leaders = (points, offsets) => points.map((p, i) => [p, { x: p.x + offsets[i].dx, y: p.y + offsets[i].dy }]);

function assertNoCrossing(lines, what) {
  for (let a = 0; a < lines.length; a += 1) {
    for (let b = a + 1; b < lines.length; b += 1) {
      assert.ok(!segmentsCross(lines[a][0], lines[a][1], lines[b][0], lines[b][1]), `${what}: leader lines ${a} and ${b} cross`);
    }
  }
}

test("segments cross only through each other: touching or sharing an end is not crossing", () => {
  const p = (x, y) => ({ x, y });
  assert.equal(segmentsCross(p(0, 0), p(10, 10), p(0, 10), p(10, 0)), true, "an X crosses");
  assert.equal(segmentsCross(p(0, 0), p(10, 0), p(0, 5), p(10, 5)), false, "parallel lines do not");
  assert.equal(segmentsCross(p(0, 0), p(10, 0), p(0, 0), p(0, 10)), false, "a shared end does not");
  assert.equal(segmentsCross(p(0, 0), p(10, 0), p(5, 0), p(5, 10)), false, "one ending on the other does not");
  assert.equal(segmentsCross(p(0, 0), p(4, 4), p(0, 10), p(10, 0)), false, "one stopping short does not");
});

test("crossing leader lines swap their ends, and are shorter for it", () => {
  const from = [{ x: 0, y: 0 }, { x: 10, y: 0 }];
  const to = [{ x: 10, y: 10 }, { x: 0, y: 10 }];  // an X
  const ends = uncross(from, to);
  assert.deepEqual(ends, [{ x: 0, y: 10 }, { x: 10, y: 10 }]);
  assert.ok(!segmentsCross(from[0], ends[0], from[1], ends[1]));
  assert.deepEqual(to, [{ x: 10, y: 10 }, { x: 0, y: 10 }], "the input is left as it was");
});

test("each base goes round the ring in its own direction: short lines, none crossing", () => {
  // Four bases near one another, each off the centre in a different direction.
  const group = [{ x: 110, y: 100 }, { x: 100, y: 110 }, { x: 90, y: 100 }, { x: 100, y: 90 }];
  const centre = { x: 100, y: 100 }, radius = 40;
  const slots = ringSlots(group, centre, radius);
  group.forEach((p, i) => {
    const own = Math.atan2(p.y - centre.y, p.x - centre.x), placed = Math.atan2(slots[i].y - centre.y, slots[i].x - centre.x);
    const apart = Math.abs(Math.atan2(Math.sin(own - placed), Math.cos(own - placed)));
    assert.ok(apart < 0.01, `base ${i} is placed in its own direction (${apart.toFixed(3)} rad off)`);
    assert.ok(Math.abs(Math.hypot(slots[i].x - centre.x, slots[i].y - centre.y) - radius) < 1e-6, "on the ring");
  });
  assertNoCrossing(group.map((p, i) => [p, slots[i]]), "four directions");
});

test("a phone's ten bases within 100 px: no two flags overlap, no leader lines cross, none longer than needed", () => {
  const points = [[0, 0], [0, 0], [0, 0], [30, 10], [30, 10], [60, 40], [20, 50], [90, 20], [45, 45], [70, 70]]
    .map(([x, y]) => ({ x, y }));
  const near = 34, offsets = fanOffsets(points, near, near * 1.45);
  assertNoCrossing(leaders(points, offsets), "ten bases");
  const placed = points.map((p, i) => ({ x: p.x + offsets[i].dx, y: p.y + offsets[i].dy }));
  for (let a = 0; a < placed.length; a += 1) {
    for (let b = a + 1; b < placed.length; b += 1) {
      assert.ok(Math.abs(placed[a].x - placed[b].x) >= near - 1 || Math.abs(placed[a].y - placed[b].y) >= near - 1,
        `flags ${a} and ${b} do not overlap`);
    }
  }
  // The ring is as wide as ten flags need (a chord of 1.45 x near between neighbours) and no wider.
  const radius = (near * 1.45) / 2 / Math.sin(Math.PI / 10);
  const longest = Math.max(...offsets.map((o) => Math.hypot(o.dx, o.dy)));
  assert.ok(longest <= radius + 100, `the longest leader (${longest.toFixed(0)} px) is within the ring and the group`);
});

test("random groups: leader lines never cross", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let round = 0; round < 200; round += 1) {
    const n = 2 + Math.floor(random() * 9);
    const points = Array.from({ length: n }, () => ({ x: Math.round(random() * 80), y: Math.round(random() * 80) }));
    assertNoCrossing(leaders(points, fanOffsets(points, 34, 34 * 1.45)), `round ${round}`);
  }
});

test("a badge moved off a site takes a place where its line crosses no other", () => {
  const badge = { x: 2, y: -19, half: 19 }, near = 34;
  // Two bases on one point, fanned left and right; a site under the left one's badge.
  const points = [{ x: 100, y: 100 }, { x: 100, y: 100 }, { x: 160, y: 100 }];
  const offsets = fanOffsets(points, near, near * 1.45);
  const left = { x: points[0].x + offsets[0].dx + badge.x, y: points[0].y + offsets[0].dy + badge.y };
  const moved = clearOfSites(points, offsets, [left], badge, near);
  assert.notDeepEqual(moved[0], offsets[0], "the badge over the site moves");
  assertNoCrossing(leaders(points, moved), "after the move");
});

test("a badge reaching out of the view moves in, and none moves out of it", () => {
  const badge = { x: 2, y: -19, half: 19 }, near = 34, view = { left: 0, top: 0, right: 390, bottom: 740 };
  const points = [{ x: 5, y: 300 }, { x: 200, y: 300 }];
  const offsets = [{ dx: 0, dy: 0 }, { dx: 0, dy: 0 }];
  const moved = clearOfSites(points, offsets, [], badge, near, view);
  assert.deepEqual(moved[1], offsets[1], "a badge inside stays");
  const left = points[0].x + moved[0].dx + badge.x - badge.half;
  assert.ok(left >= 0, `the badge at the edge moves in (its left side at ${left})`);
  // A site under the badge of a base at the edge: the badge goes to a place inside, not past the edge.
  const sites = [{ x: 200 + badge.x, y: 300 + badge.y }];
  const edge = clearOfSites([{ x: 200, y: 30 }, points[1]], offsets, sites, badge, near, { ...view, top: 0 });
  const top = 300 + edge[1].dy + badge.y - badge.half;
  assert.ok(top >= 0 && edge[1].dx ** 2 + edge[1].dy ** 2 > 0, "moved off the site and still inside");
});
