/* Fanning out markers that stand on (or nearly on) one point, so each can be seen, hovered and clicked:
 * the bases' flags are moved round a ring about their shared point, each with a thin leader line back to its
 * true point.  (Sites do the same through the marker clusterer's spiderfy.)  Pure.
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
