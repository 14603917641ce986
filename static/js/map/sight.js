/* Keeping things in sight: where the map should pan so a point lies in the part of the map that nothing
 * covers (on a phone the detail drawer covers the lower part), how far a fitted view keeps clear of the map's
 * controls, and whether the user has moved the map.  Pure except mapControlPadding and trackUserMoves.
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

// Padding for Leaflet's fitBounds so that what it fits lies clear of the map's controls: each corner's controls
// (rects relative to the viewport, null when empty) push in the side they cover least, by their extent and 8 px:
// a tall column of buttons pushes the left or right edge, a wide short bar the top or bottom.  At least `margin`
// on every side.
// Returns {paddingTopLeft: [x, y], paddingBottomRight: [x, y]}.
const CONTROL_GAP = 8;
export function controlPadding(mapRect, corners, margin) {
  const pad = { left: margin, top: margin, right: margin, bottom: margin };
  Object.entries(corners).forEach(([corner, rect]) => {
    if (!rect || rect.width === 0 || rect.height === 0) return;
    const [vertical, horizontal] = corner.split("-");  // "top-left" -> "top", "left"
    const across = vertical === "top" ? rect.bottom - mapRect.top : mapRect.bottom - rect.top;
    const along = horizontal === "left" ? rect.right - mapRect.left : mapRect.right - rect.left;
    if (along <= across) pad[horizontal] = Math.max(pad[horizontal], along + CONTROL_GAP);
    else pad[vertical] = Math.max(pad[vertical], across + CONTROL_GAP);
  });
  return { paddingTopLeft: [Math.round(pad.left), Math.round(pad.top)],
    paddingBottomRight: [Math.round(pad.right), Math.round(pad.bottom)] };
}

// The padding that keeps a fitted view clear of this map's controls (controlPadding, measured now).
export function mapControlPadding(map, margin) {
  const box = map.getContainer();
  const corners = {};
  ["top-left", "top-right", "bottom-left", "bottom-right"].forEach((corner) => {
    const node = box.querySelector(".leaflet-" + corner.replace("-", ".leaflet-"));
    corners[corner] = node && node.children.length ? node.getBoundingClientRect() : null;
  });
  return controlPadding(box.getBoundingClientRect(), corners, margin);
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
