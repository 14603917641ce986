/* Keeping things in sight: where the map should pan so a point lies in the part of the map that nothing
 * covers (on a phone the detail drawer covers the lower part), how far a fitted view keeps clear of the map's
 * controls, and whether the user has moved the map.  Pure except mapControlPadding, fitPadding and trackUserMoves.
 */

// A phone's screen, as the page's style sheet has it.
export const SMALL_SCREEN = "(max-width: 760px)";

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
// a tall column of buttons pushes the left or right edge, a wide short bar the top or bottom.  Given the `shape`
// to fit ({width, height}, its size in pixels at any one zoom), each corner pushes whichever of its two edges
// leaves the most room for that shape instead (on a tall phone the county fits best below a column of buttons,
// not beside it).  At least `margin` on every side.
// Returns {paddingTopLeft: [x, y], paddingBottomRight: [x, y]}.
const CONTROL_GAP = 8;
export function controlPadding(mapRect, corners, margin, shape) {
  const pushes = [];  // per corner: [its side, by], [its edge, by], the one it covers least first
  Object.entries(corners).forEach(([corner, rect]) => {
    if (!rect || rect.width === 0 || rect.height === 0) return;
    const [vertical, horizontal] = corner.split("-");  // "top-left" -> "top", "left"
    const across = vertical === "top" ? rect.bottom - mapRect.top : mapRect.bottom - rect.top;
    const along = horizontal === "left" ? rect.right - mapRect.left : mapRect.right - rect.left;
    const side = [horizontal, along + CONTROL_GAP], edge = [vertical, across + CONTROL_GAP];
    pushes.push(along <= across ? [side, edge] : [edge, side]);
  });
  const paddingOf = (choice) => {
    const pad = { left: margin, top: margin, right: margin, bottom: margin };
    pushes.forEach((options, i) => {
      const [name, by] = options[choice[i]];
      pad[name] = Math.max(pad[name], by);
    });
    return pad;
  };
  let pad = paddingOf(pushes.map(() => 0));
  if (shape && shape.width > 0 && shape.height > 0) {
    const room = (p) => Math.min((mapRect.width - p.left - p.right) / shape.width, (mapRect.height - p.top - p.bottom) / shape.height);
    for (let bits = 1; bits < 1 << pushes.length; bits += 1) {
      const other = paddingOf(pushes.map((_, i) => (bits >> i) & 1));
      if (room(other) > room(pad)) pad = other;
    }
  }
  return { paddingTopLeft: [Math.round(pad.left), Math.round(pad.top)],
    paddingBottomRight: [Math.round(pad.right), Math.round(pad.bottom)] };
}

// The padding that keeps a fitted view clear of this map's controls (controlPadding, measured now) and, when
// given, above `cover` (an element over the map's lower part, as a phone's drawer: uncoveredPart).
export function mapControlPadding(map, margin, shape, cover) {
  const box = map.getContainer();
  const corners = {};
  ["top-left", "top-right", "bottom-left", "bottom-right"].forEach((corner) => {
    const node = box.querySelector(".leaflet-" + corner.replace("-", ".leaflet-"));
    corners[corner] = node && node.children.length ? node.getBoundingClientRect() : null;
  });
  const mapRect = box.getBoundingClientRect();
  const padding = controlPadding(mapRect, corners, margin, shape);
  if (cover && !cover.hidden) {
    const covered = mapRect.height - uncoveredPart(mapRect, cover.getBoundingClientRect()).bottom;
    if (covered > 0) padding.paddingBottomRight[1] = Math.max(padding.paddingBottomRight[1], Math.round(covered + margin));
  }
  return padding;
}

// The padding for fitting `bounds` (a Leaflet LatLngBounds) on this map: on a phone as large as the screen
// allows (each control pushes the edge that leaves the bounds' shape the most room) and above the open drawer
// (#scout-detail); elsewhere each control pushes the side it covers least.
export function fitPadding(map, bounds, margin) {
  if (!window.matchMedia(SMALL_SCREEN).matches) return mapControlPadding(map, margin);
  const nw = map.project(bounds.getNorthWest(), 0), se = map.project(bounds.getSouthEast(), 0);
  return mapControlPadding(map, margin, { width: se.x - nw.x, height: se.y - nw.y }, document.getElementById("scout-detail"));
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

// Runs move() when the map is still: now, or once the zoom or glide under way has ended.  Leaflet ignores a
// setView or fitBounds asked for while a zoom animation runs, and the end of that zoom puts the map where it was
// going, so a move asked for meanwhile (a site picked from the list while a bubble's zoom runs) would be lost.
export function whenStill(map, move) {
  if (map._animatingZoom || (map._panAnim && map._panAnim._inProgress)) {
    map.once("moveend", () => whenStill(map, move));
    return;
  }
  move();
}
