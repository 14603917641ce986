/* Fanning out markers that stand on (or nearly on) one point, so each can be seen, hovered and clicked:
 * the bases' flags are moved round a ring about their shared point, each with a thin leader line back to its
 * true point; a badge that would stand on a site's marker is moved off it.  (Sites fan out through the marker
 * clusterer's spiderfy.)  Pure.
 */

// points: [{x, y}] in screen pixels.  Markers whose points are less than `near` pixels apart across and down
// (their flags would overlap) form a group, and so on through chains of them; a group of n > 1 is spread round
// a ring about its centre, wide enough for neighbours to lie `spacing` pixels apart, starting on the left, in
// the order given.  Returns [{dx, dy}] in the same order ({0, 0}: stays on its point).
export function fanOffsets(points, near, spacing) {
  const parent = points.map((_, i) => i);
  const root = (i) => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  const overlap = (a, b) => Math.abs(a.x - b.x) < near && Math.abs(a.y - b.y) < near;
  points.forEach((p, i) => {
    for (let j = 0; j < i; j += 1) if (overlap(points[j], p)) parent[root(i)] = root(j);
  });
  // A ring may land on a neighbouring marker or ring: then the two are one group, on one wider ring.
  for (let round = 0; round < points.length; round += 1) {
    const offsets = ringOffsets(points, parent, root, near, spacing);
    const placed = points.map((p, i) => ({ x: p.x + offsets[i].dx, y: p.y + offsets[i].dy }));
    let merged = false;
    placed.forEach((p, i) => {
      for (let j = 0; j < i; j += 1) {
        if (root(i) !== root(j) && overlap(placed[j], p)) {
          parent[root(i)] = root(j);
          merged = true;
        }
      }
    });
    if (!merged) return offsets;
  }
  return ringOffsets(points, parent, root, near, spacing);
}

function ringOffsets(points, parent, root, near, spacing) {
  const offsets = points.map(() => ({ dx: 0, dy: 0 }));
  const byRoot = new Map();
  points.forEach((_, i) => {
    const r = root(i);
    if (!byRoot.has(r)) byRoot.set(r, []);
    byRoot.get(r).push(i);
  });
  [...byRoot.values()].filter((g) => g.length > 1).forEach((group) => {
    const n = group.length;
    const radius = Math.max(spacing / 2 / Math.sin(Math.PI / n), spacing * 0.75);
    const centre = { x: group.reduce((s, i) => s + points[i].x, 0) / n, y: group.reduce((s, i) => s + points[i].y, 0) / n };
    const slots = ringSlots(group.map((i) => points[i]), centre, radius);
    group.forEach((i, k) => {
      // From the marker's own point to its place on the ring round the group's centre.
      offsets[i] = { dx: Math.round(slots[k].x - points[i].x), dy: Math.round(slots[k].y - points[i].y) };
    });
  });
  return offsets;
}

// Places on a ring of `radius` about `centre` for the points of one group ([{x, y}], n > 1), in the same order:
// each point goes to the place in its own direction from the centre as far as the others let it (the ring turned
// and the points taken round it in the order of their directions, for the shortest leader lines in all), and no
// two leader lines cross.  Points on the centre count as lying to its left, in the order given; with nothing
// to choose between, the first place is on the left.
export function ringSlots(group, centre, radius) {
  const n = group.length;
  const direction = (p) => {
    const dx = p.x - centre.x, dy = p.y - centre.y;
    return Math.hypot(dx, dy) < 0.5 ? Math.PI : Math.atan2(dy, dx);
  };
  const turn = (a) => ((a - Math.PI) % (2 * Math.PI) + 2 * Math.PI) % (2 * Math.PI);  // 0 on the left, clockwise
  const order = group.map((p, i) => i).sort((a, b) => turn(direction(group[a])) - turn(direction(group[b])) || a - b);
  const place = (start, k) => ({ x: centre.x + radius * Math.cos(start + (2 * Math.PI * k) / n),
    y: centre.y + radius * Math.sin(start + (2 * Math.PI * k) / n) });
  let best = null, bestLength = Infinity;
  const steps = 8 * n;  // ring turns tried, in steps of a slot's eighth, from the left
  for (let s = 0; s < steps; s += 1) {
    const start = Math.PI + (2 * Math.PI * s) / steps;
    const slots = [];
    order.forEach((i, k) => { slots[i] = place(start, k); });
    const length = group.reduce((sum, p, i) => sum + Math.hypot(slots[i].x - p.x, slots[i].y - p.y), 0);
    if (length < bestLength - 1e-6) {
      best = slots;
      bestLength = length;
    }
  }
  return uncross(group, best);
}

// Swaps the ends of two leader lines (from[i] -> to[i]) that cross: the two lines are then shorter together, so
// this ends, with no crossing left.
export function uncross(from, to) {
  const ends = to.slice();
  for (let changed = true, rounds = 0; changed && rounds < 100; rounds += 1) {
    changed = false;
    for (let a = 0; a < from.length; a += 1) {
      for (let b = a + 1; b < from.length; b += 1) {
        if (segmentsCross(from[a], ends[a], from[b], ends[b])) {
          [ends[a], ends[b]] = [ends[b], ends[a]];
          changed = true;
        }
      }
    }
  }
  return ends;
}

// Whether segments p1-p2 and q1-q2 cross at a point inside both (touching ends and shared ends do not count).
export function segmentsCross(p1, p2, q1, q2) {
  const side = (a, b, c) => (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
  const d1 = side(q1, q2, p1), d2 = side(q1, q2, p2), d3 = side(p1, p2, q1), d4 = side(p1, p2, q2);
  return ((d1 > 1e-9 && d2 < -1e-9) || (d1 < -1e-9 && d2 > 1e-9)) && ((d3 > 1e-9 && d4 < -1e-9) || (d3 < -1e-9 && d4 > 1e-9));
}

// A base's badge over a site's marker would hide it: the badge is moved off it.  points/offsets as fanOffsets
// gives them; sites: [{x, y}], the middles of the site markers and bubbles on screen; badge: where the badge's
// middle lies from the flag's foot ({x, y}) and how far it reaches from there (half, pixels).  A badge over a
// site moves round its place, nearest first, to where it covers no site and no other badge (`near`, as in
// fanOffsets) and, where it can, where its leader line crosses no other; one with nowhere to go stays.  Given a
// `view` ({left, top, right, bottom}, as the points), a badge reaching out of it moves in as one over a site does,
// and no badge moves out of it.  Returns offsets in the same order.
export function clearOfSites(points, offsets, sites, badge, near, view) {
  const placed = points.map((p, i) => ({ x: p.x + offsets[i].dx, y: p.y + offsets[i].dy }));
  const coversSite = (q) => sites.some((s) => Math.abs(s.x - (q.x + badge.x)) < badge.half &&
    Math.abs(s.y - (q.y + badge.y)) < badge.half);
  const overlapsBase = (q, i) => placed.some((r, j) => j !== i && Math.abs(r.x - q.x) < near && Math.abs(r.y - q.y) < near);
  const crossesLeader = (q, i) => placed.some((r, j) => j !== i && segmentsCross(points[i], q, points[j], r));
  const inView = (q) => !view || (q.x + badge.x - badge.half >= view.left && q.x + badge.x + badge.half <= view.right &&
    q.y + badge.y - badge.half >= view.top && q.y + badge.y + badge.half <= view.bottom);
  return offsets.map((offset, i) => {
    if (!coversSite(placed[i]) && inView(placed[i])) return offset;
    for (const mayCross of [false, true]) {
      for (const radius of [near, 2 * near, 3 * near]) {
        for (let k = 0; k < 12; k += 1) {
          const angle = Math.PI + (2 * Math.PI * k) / 12;
          const q = { x: placed[i].x + radius * Math.cos(angle), y: placed[i].y + radius * Math.sin(angle) };
          if (!coversSite(q) && inView(q) && !overlapsBase(q, i) && (mayCross || !crossesLeader(q, i))) {
            placed[i] = q;
            return { dx: Math.round(q.x - points[i].x), dy: Math.round(q.y - points[i].y) };
          }
        }
      }
    }
    return offset;
  });
}
