/* What is drawn on the map: basemaps and their CRS (GCJ-02 through scout-crs.js), the county outline,
 * the bases, site markers (clustered in the page) or the server's clusters, the near circle, the drawn
 * area, the accuracy circle, suggestions and the legend.  Leaflet (L), its marker clusterer and
 * WenchengCRS are the page's classic scripts.
 */
import { el } from "./dom.js";
import { clearOfSites, fanOffsets } from "./fan.js";
import { format, round6 } from "./format.js";
import { POLYLINE_PREFIX, decodePolyline, encodePolyline } from "./polyline.js";
import { SMALL_SCREEN, fitPadding, whenStill } from "./sight.js";

const NO_COLOUR = "#555";
const OUTLINE_STYLE = { color: "#c0392b", weight: 2, dashArray: "6 4", fillOpacity: 0.02 };
const FILTER_SHAPE = { color: "#1f618d", weight: 2 };

// The view to ask the server about: the map's bounds plus a quarter on each side (a small pan shows no empty
// edge), snapped outwards to half-tile steps (nearby views ask the same question, answered already), inside
// the world and inside a bbox filter.  bounds: [west, south, east, north] already padded.  Null when empty.
export function viewBox(bounds, zoom, bboxFilter) {
  const step = 180 / Math.pow(2, zoom);
  const snap = (v, up) => (up ? Math.ceil(v / step) : Math.floor(v / step)) * step;
  let box = [Math.max(-180, snap(bounds[0])), Math.max(-90, snap(bounds[1])), Math.min(180, snap(bounds[2], true)),
    Math.min(90, snap(bounds[3], true))];
  if (bboxFilter) {
    const f = bboxFilter.split(",").map(Number);
    box = [Math.max(box[0], f[0]), Math.max(box[1], f[1]), Math.min(box[2], f[2]), Math.min(box[3], f[3])];
  }
  if (box[0] > box[2] || box[1] > box[3]) return null;
  return box.map(round6).join(",");
}

// The area parameter -> [[lat, lon], ...] (Leaflet's order): "polyline:<encoded>" or "lon,lat,lon,lat,...";
// [] when it is neither.
export function ringFromParam(area) {
  if (area.startsWith(POLYLINE_PREFIX)) return decodePolyline(area.slice(POLYLINE_PREFIX.length)) || [];
  const v = area.split(",").map(Number), ring = [];
  for (let i = 0; i + 1 < v.length; i += 2) ring.push([v[i + 1], v[i]]);
  return ring;
}

// A drawn ring -> the area parameter: the plain lon,lat list, for one a person can read and edit.
export function ringParam(latlngs) {
  return latlngs.map((ll) => round6(ll.lng) + "," + round6(ll.lat)).join(",");
}

// A drawn ring -> the area parameter as the page writes it: the encoded polyline, about a third of the plain
// list's length once in a URL, so that the API's 500 corners fit in one.
export function ringPolylineParam(latlngs) {
  return POLYLINE_PREFIX + encodePolyline(latlngs.map((ll) => [ll.lat, ll.lng]));
}

// The marker clusterer's size steps, for the server's bubbles to look like its own.
export function clusterSize(count) {
  return count < 10 ? "small" : count < 100 ? "medium" : "large";
}

// ctx: map, settings, M, text, state, status, vocab(), colours(), actions {openSite, highlight, setFilters}.
export function createLayers(ctx) {
  const { map, settings, M, text, state, status } = ctx;
  const colour = (genre) => ctx.colours()[genre] || NO_COLOUR;
  const genreLabels = (genres, sep) => (genres || []).map((g) => text.termLabel(ctx.vocab(), "genre", g)).join(sep);

  // ---- basemaps and CRS
  const controlLayers = (window[settings.layerControl + "_layers"] || {}).base_layers || {};
  const basemaps = {};
  Object.values(controlLayers).forEach((layer) => {
    if (layer.options && layer.options.layerKey) basemaps[layer.options.layerKey] = layer;
  });
  const defaultBasemap = Object.keys(basemaps)[0];

  // Bubbles split and fan out without animation where the map zooms without one (the reader asked for less motion).
  const siteCluster = L.markerClusterGroup({ showCoverageOnHover: false, spiderfyOnMaxZoom: true, maxClusterRadius: 40,
    animate: map.options.zoomAnimation !== false });
  map.addLayer(siteCluster);
  // The server's clusters ("view" mode): one bubble per grid cell, drawn like the clusterer's own.
  const serverClusters = L.layerGroup().addTo(map);
  const nearLayer = L.layerGroup().addTo(map);
  const accuracyLayer = L.layerGroup().addTo(map);
  const drawnLayer = window[settings.drawnLayer] || L.featureGroup().addTo(map);

  function applyCrs(layer) {
    if (!WenchengCRS.applyCrs(map, layer)) return;
    status.crs = WenchengCRS.isGcj(map) ? "GCJ02" : "EPSG3857";
    // Clusters were built on the old projection's pixels.
    const all = siteCluster.getLayers();
    if (siteCluster._processQueue) siteCluster._processQueue();
    siteCluster.clearLayers();
    siteCluster.addLayers(all);
  }

  // The URL names the basemap unless it is the default.
  function rememberBasemap(key) {
    state.layer = key && key !== defaultBasemap ? key : null;
    ctx.writeUrl();
  }

  function useBasemap(key) {
    const target = basemaps[key];
    if (!target) return false;
    Object.keys(basemaps).forEach((k) => {
      if (k !== key && map.hasLayer(basemaps[k])) map.removeLayer(basemaps[k]);
    });
    if (!map.hasLayer(target)) map.addLayer(target);
    applyCrs(target);
    rememberBasemap(key);
    return true;
  }

  map.on("baselayerchange", (e) => {
    applyCrs(e.layer);
    rememberBasemap(e.layer.options && e.layer.options.layerKey);
  });

  // ---- sites
  function siteIcon(feature) {
    const first = (feature.properties.genres || [])[0];
    const vocab = ctx.vocab();
    const dot = el("span", "scout-site-dot", first && vocab ? text.label(vocab.genre[first]).charAt(0) : "");
    dot.style.background = colour(first);
    dot.setAttribute("data-site-id", feature.id);
    return L.divIcon({ html: dot, className: "scout-site-icon", iconSize: [22, 22], iconAnchor: [11, 11] });
  }

  function siteMarker(f) {
    const p = f.properties;
    const marker = L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
      icon: siteIcon(f), title: text.primaryName(p), alt: text.primaryName(p), keyboard: true,
    });
    marker.feature = f;
    marker.on("click", () => ctx.actions.openSite(f.id, { from: "map" }));
    marker.on("mouseover", () => ctx.actions.highlight(f.id, "map"));
    marker.on("mouseout", () => ctx.actions.highlight(null));
    return marker;
  }

  // Leaflet.markercluster ends a zoom animation from a queue, 300 ms later; run that now, while the markers it
  // refers to still exist (else it trips over removed ones: "'_leaflet_id' in undefined").
  function clearSites() {
    if (siteCluster._processQueue) siteCluster._processQueue();
    siteCluster.clearLayers();
    serverClusters.clearLayers();
  }

  // Markers for these features, clustered in the page; returns {id: marker}.
  function drawSites(features) {
    const markers = {};
    siteCluster.addLayers(features.map((f) => (markers[f.id] = siteMarker(f))));
    fanBases();
    return markers;
  }

  function clusterIcon(count) {
    const div = el("div");
    div.appendChild(el("span", null, count));
    return L.divIcon({ html: div, className: "marker-cluster marker-cluster-" + clusterSize(count) + " scout-server-cluster",
      iconSize: L.point(40, 40) });
  }

  function drawServerClusters(clusters) {
    clusters.forEach((c) => {
      const bounds = L.latLngBounds([c.bbox[1], c.bbox[0]], [c.bbox[3], c.bbox[2]]);
      const bubble = L.marker([c.lat, c.lon], { icon: clusterIcon(c.count), keyboard: true,
        title: format(M.clusterTitle, { n: c.count }) });
      bubble.clusterBounds = bounds;
      bubble.on("click", () => whenStill(map, () => {
        // Members at (nearly) one point: zoom to where the server lists them one by one.
        const ne = map.latLngToContainerPoint(bounds.getNorthEast()), sw = map.latLngToContainerPoint(bounds.getSouthWest());
        if (ne.distanceTo(sw) < 4) map.setView(bounds.getCenter(), Math.max(map.getZoom() + 1, settings.membersZoom));
        else map.fitBounds(bounds, { padding: [30, 30] });
      }));
      serverClusters.addLayer(bubble);
    });
  }

  // The view as viewBox() wants it.
  function paddedView() {
    const b = map.getBounds().pad(0.25);
    return viewBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], map.getZoom(), state.filters.bbox);
  }

  // The marker of a site, or the server cluster holding it (feature: from the list), lit up.
  function highlightSite(marker, feature) {
    if (!marker) {
      if (!feature) return;
      const at = L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
      serverClusters.eachLayer((bubble) => {
        if (bubble.clusterBounds.contains(at) && bubble.getElement()) bubble.getElement().classList.add("is-highlighted");
      });
      return;
    }
    const shown = siteCluster.getVisibleParent(marker);
    const icon = shown && shown.getElement ? shown.getElement() : null;
    if (icon) icon.classList.add("is-highlighted");
  }

  function showAccuracy(feature) {
    accuracyLayer.clearLayers();
    if (!feature) return;
    const latlng = L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
    L.circle(latlng, { radius: feature.properties.coord_accuracy_m, color: "#555", weight: 1, dashArray: "4 4",
      fillOpacity: 0.04, interactive: false }).addTo(accuracyLayer);
  }

  // ---- filters shown on the map
  function drawArea() {
    drawnLayer.clearLayers();
    if (!state.filters.area) return;
    L.polygon(ringFromParam(state.filters.area), { ...FILTER_SHAPE, fillOpacity: 0.08 }).addTo(drawnLayer);
  }

  function drawNear() {
    nearLayer.clearLayers();
    if (!state.filters.near) return;
    const v = state.filters.near.split(",").map(Number);
    const radius = parseFloat(state.filters.radius_km || "10") * 1000;
    L.circle([v[1], v[0]], { ...FILTER_SHAPE, radius, dashArray: "6 4", fillOpacity: 0.05, interactive: false })
      .addTo(nearLayer);
    L.circleMarker([v[1], v[0]], { radius: 5, color: FILTER_SHAPE.color, fillOpacity: 1, interactive: false }).addTo(nearLayer);
  }

  // ---- outline, bases, suggestions, legend
  function drawOutline(fc) {
    const layer = L.geoJSON(fc, { style: OUTLINE_STYLE, interactive: false }).addTo(map);
    // At once: an animated first fit would still be under way when the results are fitted, and would undo that.
    const bounds = layer.getBounds();
    if (state.view || !bounds.isValid()) return;
    // A phone's margin is narrower: the county fills its width.
    map.fitBounds(bounds, { ...fitPadding(map, bounds, window.matchMedia(SMALL_SCREEN).matches ? 12 : 24), animate: false });
  }

  // A flag standing on its point, so the sites clustered at the same point stay visible below it.  Fanned out
  // by (dx, dy) pixels when other bases share the point, with a leader line from the flag's foot to the point.
  const BASE_W = 26, BASE_H = 34;
  function baseIcon(p, dx = 0, dy = 0) {
    const box = el("span", "scout-base-mark");
    const badge = el("span", "scout-base-badge", p.number);
    badge.style.background = colour(p.genres[0]);
    badge.setAttribute("data-base-number", p.number);
    box.appendChild(badge);
    if (dx || dy) {
      const leader = el("span", "scout-base-leader");
      leader.style.width = Math.hypot(dx, dy) + "px";
      leader.style.transform = "rotate(" + Math.atan2(-dy, -dx) + "rad)";
      box.appendChild(leader);
    }
    return L.divIcon({ html: box, className: "scout-base-icon", iconSize: [BASE_W, BASE_H],
      iconAnchor: [BASE_W / 2 - dx, BASE_H - dy], popupAnchor: [0, -30] });
  }

  // Where on screen the sites' markers and bubbles stand at the map's zoom (their middles), from the clusterer's
  // tree rather than from the icons it has drawn: during its glide the old zoom's icons still stand, and it draws
  // none outside the view.  A marker's parents go one zoom up each; the one for this zoom is what shows.
  function siteSpots() {
    const zoom = Math.min(Math.round(map.getZoom()), siteCluster._maxZoom);
    const shown = new Set();
    siteCluster.eachLayer((marker) => {
      let visible = marker;
      for (let c = marker.__parent; c && c._zoom >= zoom; c = c.__parent) visible = c;
      shown.add(visible);
    });
    // A bubble fanned out (spiderfied): its markers stand round it, at their own places on the legs.
    if (siteCluster._spiderfied) siteCluster._spiderfied.getAllChildMarkers().forEach((m) => shown.add(m));
    serverClusters.eachLayer((bubble) => shown.add(bubble));
    return [...shown].map((layer) => map.latLngToLayerPoint(layer.getLatLng()));
  }

  // Bases closer than a flag's width on screen are spread round their shared point, at every zoom, and no badge
  // stands on a site's marker (else that site could not be clicked).  The badge's middle is 19 px above the foot.
  let basesLayer = null;
  const BADGE = { x: 2, y: -19, half: 19 };
  function fanBases() {
    if (!basesLayer) return;
    const markers = basesLayer.getLayers();
    const points = markers.map((m) => map.latLngToLayerPoint(m.getLatLng()));
    const near = BASE_W + 8;
    const size = map.getSize(), topLeft = map.containerPointToLayerPoint([0, 0]);
    const view = { left: topLeft.x, top: topLeft.y, right: topLeft.x + size.x, bottom: topLeft.y + size.y };
    const offsets = clearOfSites(points, fanOffsets(points, near, near * 1.45), siteSpots(), BADGE, near, view);
    offsets.forEach(({ dx, dy }, i) => {
      if (markers[i].fanned === dx + "," + dy) return;  // unchanged: keep the element (a hover, a focus)
      markers[i].fanned = dx + "," + dy;
      markers[i].setIcon(baseIcon(markers[i].feature.properties, dx, dy));
    });
  }

  function basePopup(p) {
    const box = el("div", "scout-popup");
    box.appendChild(el("h3", null, p.number + ". " + text.primaryName(p)));
    box.appendChild(el("p", "scout-popup-secondary", text.secondaryName(p)));
    box.appendChild(el("p", null, genreLabels(p.genres, " / ")));
    box.appendChild(el("p", "scout-popup-towns", text.towns(p)));
    // Where the badge stands and where that comes from, as one sentence for the public (as a site's details).
    box.appendChild(el("p", "scout-popup-accuracy", text.pick(p, "provenance")));
    const show = el("button", "scout-link-button", text.labelled(M.base, text.primaryName(p)));
    show.type = "button";
    show.addEventListener("click", () => {
      ctx.actions.setFilters({ base: p.slug });
      map.closePopup();
    });
    box.appendChild(show);
    return box;
  }

  function drawBases(fc) {
    basesLayer = L.geoJSON(fc, {
      pointToLayer: (f, latlng) => L.marker(latlng, { icon: baseIcon(f.properties), title: text.primaryName(f.properties),
        keyboard: true, zIndexOffset: 1000 }),
      onEachFeature: (f, layer) => layer.bindPopup(basePopup(f.properties)),
    }).addTo(map);
    fanBases();
    // Again whenever the view or the bubbles change (unchanged badges are left as they are).
    map.on("zoomend moveend", fanBases);
    siteCluster.on("animationend spiderfied unspiderfied", fanBases);
    status.basesDrawn = fc.features.length;
    addLegend(fc.features, basesLayer);
  }

  // Planners also see the suggestions waiting for review.
  function drawSuggestions(fc) {
    L.geoJSON(fc, {
      pointToLayer: (f, latlng) => L.marker(latlng, { icon: L.divIcon({ html: el("span", "scout-suggestion-dot", "?"),
        className: "scout-site-icon", iconSize: [22, 22], iconAnchor: [11, 11] }), title: M.suggestion }),
      onEachFeature: (f, layer) => {
        const box = el("div");
        box.appendChild(el("strong", null, f.properties.name ? text.labelled(M.suggestion, f.properties.name) : M.suggestion));
        box.appendChild(el("p", null, f.properties.message));
        const a = el("a", null, M.review);
        a.href = f.properties.review_url;
        box.appendChild(a);
        layer.bindPopup(box);
      },
    }).addTo(map);
  }

  // The bases with their number, colour and theme, and switches for the two point layers.
  function addLegend(features, basesLayer) {
    const legend = L.control({ position: "bottomleft" });
    legend.onAdd = () => {
      const box = el("details", "scout-legend leaflet-control");
      // Open only where there is room for it beside the results (a tall desktop screen); else one click away.
      box.open = window.matchMedia("(min-width: 761px) and (min-height: 900px)").matches;
      box.appendChild(el("summary", null, M.legend));
      const list = el("ol", "scout-legend-bases");
      features.forEach((f) => {
        const p = f.properties, li = el("li");
        const badge = el("span", "scout-legend-badge", p.number);
        badge.style.background = colour(p.genres[0]);
        li.appendChild(badge);
        li.appendChild(el("span", null, genreLabels(p.genres, " / ") + " · " + text.towns(p)));
        list.appendChild(li);
      });
      box.appendChild(list);
      const key = el("p", "scout-legend-key");
      const dot = el("span", "scout-legend-dot", text.zh ? "自" : "N");
      dot.style.background = colour("nature");
      key.appendChild(dot);
      key.appendChild(el("span", null, M.legendSite));
      box.appendChild(key);
      [[M.showBases, [basesLayer]], [M.showSites, [siteCluster, serverClusters]]].forEach(([title, layers]) => {
        const label = el("label", "scout-legend-toggle"), input = el("input");
        input.type = "checkbox";
        input.checked = true;
        input.addEventListener("change", () => {
          layers.forEach((layer) => { if (input.checked) map.addLayer(layer); else map.removeLayer(layer); });
        });
        label.appendChild(input);
        label.appendChild(el("span", null, " " + title));
        box.appendChild(label);
      });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    legend.addTo(map);
  }

  return { siteCluster, serverClusters, drawnLayer, useBasemap, clearSites, drawSites, drawServerClusters, paddedView,
    highlightSite, showAccuracy, drawArea, drawNear, drawOutline, drawBases, drawSuggestions };
}
