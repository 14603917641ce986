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
    const cx = group.reduce((s, i) => s + points[i].x, 0) / n;
    const cy = group.reduce((s, i) => s + points[i].y, 0) / n;
    group.forEach((i, k) => {
      const angle = Math.PI + (2 * Math.PI * k) / n;
      // From the marker's own point to its place on the ring round the group's centre.
      offsets[i] = { dx: Math.round(cx + radius * Math.cos(angle) - points[i].x),
        dy: Math.round(cy + radius * Math.sin(angle) - points[i].y) };
    });
  });
  return offsets;
}

// A base's badge over a site's marker would hide it: the badge is moved off it.  points/offsets as fanOffsets
// gives them; sites: [{x, y}], the middles of the site markers and bubbles on screen; badge: where the badge's
// middle lies from the flag's foot ({x, y}) and how far it reaches from there (half, pixels).  A badge over a
// site moves round its place, nearest first, to where it covers no site and no other badge (`near`, as in
// fanOffsets); one with nowhere to go stays.  Returns offsets in the same order.
export function clearOfSites(points, offsets, sites, badge, near) {
  const placed = points.map((p, i) => ({ x: p.x + offsets[i].dx, y: p.y + offsets[i].dy }));
  const coversSite = (q) => sites.some((s) => Math.abs(s.x - (q.x + badge.x)) < badge.half &&
    Math.abs(s.y - (q.y + badge.y)) < badge.half);
  const overlapsBase = (q, i) => placed.some((r, j) => j !== i && Math.abs(r.x - q.x) < near && Math.abs(r.y - q.y) < near);
  return offsets.map((offset, i) => {
    if (!coversSite(placed[i])) return offset;
    for (const radius of [near, 2 * near, 3 * near]) {
      for (let k = 0; k < 12; k += 1) {
        const angle = Math.PI + (2 * Math.PI * k) / 12;
        const q = { x: placed[i].x + radius * Math.cos(angle), y: placed[i].y + radius * Math.sin(angle) };
        if (!coversSite(q) && !overlapsBase(q, i)) {
          placed[i] = q;
          return { dx: Math.round(q.x - points[i].x), dy: Math.round(q.y - points[i].y) };
        }
      }
    }
    return offset;
  });
}
