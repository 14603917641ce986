/* Keeping things in sight: where the map should pan so a point lies in the part of the map that nothing
 * covers (on a phone the detail drawer covers the lower part), and whether the user has moved the map.  Pure
 * except trackUserMoves.
 */

// The pixels to pan the map by (Leaflet's map.panBy) so `point` ({x, y}, in the map container) lies in the
// middle of `visible` ({left, top, right, bottom}) when it is not inside it by `margin` already; [0, 0] if it is.
export function panIntoView(point, visible, margin) {
  const inside = point.x >= visible.left + margin && point.x <= visible.right - margin &&
    point.y >= visible.top + margin && point.y <= visible.bottom - margin;
  if (inside) return [0, 0];
  return [Math.round(point.x - (visible.left + visible.right) / 2), Math.round(point.y - (visible.top + visible.bottom) / 2)];
}

// The part of the map container not covered by `cover` (an element over its lower part, or null):
// {left, top, right, bottom} in container pixels.
export function uncoveredPart(mapRect, coverRect) {
  const visible = { left: 0, top: 0, right: mapRect.width, bottom: mapRect.height };
  if (coverRect && coverRect.height > 0 && coverRect.top < mapRect.bottom && coverRect.left <= mapRect.left + 1 &&
      coverRect.right >= mapRect.right - 1) {
    visible.bottom = Math.max(0, coverRect.top - mapRect.top);
  }
  return visible;
}

// Calls onMove the first time the user moves the map by hand (drag, wheel, double click, keyboard, zoom
// buttons, box zoom, a pinch); the page's own moves (fitting results, opening a site) fire none of these.
export function trackUserMoves(map, onMove) {
  const moved = () => onMove();
  map.on("dragstart boxzoomend", moved);
  const box = map.getContainer();
  ["wheel", "dblclick", "touchstart"].forEach((type) => box.addEventListener(type, (e) => {
    if (type !== "touchstart" || e.touches.length > 1) moved();  // one finger on a marker is not a move; a pinch is
  }, { passive: true }));
  box.addEventListener("keydown", (e) => {
    if (e.target === box && ["+", "-", "=", "_", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].includes(e.key)) moved();
  });
  box.querySelectorAll(".leaflet-control-zoom a").forEach((a) => a.addEventListener("click", moved));
}
