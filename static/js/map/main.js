/* Wencheng Scout: the director's map.  Wires the modules together and loads the data.
 *
 * The page's inline script (scouting/maps.py) runs before this deferred module: it calls
 * WenchengScout.mount(map, settings) when the module is already here, else leaves the pair in
 * WenchengScout.pending, which is mounted as soon as the module loads.
 *
 * The shared state is one object, ctx, handed to each module's create function: the URL state, the
 * status the tests read (window.WenchengScout.state), the vocabulary, bases and markers, and each
 * module's operations once it is made (ctx.layers, ctx.list, ctx.pack; ctx.actions for the calls
 * that go round in a circle: a list item opens a site, the detail panel marks the list item).
 * Data and API are WGS-84; Chinese (GCJ-02) basemaps are handled by scout-crs.js.
 */
import { ApiError, getJSON, problemText } from "./api.js";
import { createDetail } from "./detail.js";
import { byId } from "./dom.js";
import { createFilters } from "./filters.js";
import { format, makeText, vocabularyIndex } from "./format.js";
import { createLayers } from "./layers.js";
import { createList } from "./list.js";
import { createPackPanel } from "./pack.js";
import { createResults } from "./results.js";
import { SMALL_SCREEN, fitPadding, panIntoView, trackUserMoves, uncoveredPart, whenStill } from "./sight.js";
import { filterOfParam, filterParams, readState, writeUrl } from "./state.js";


export function mount(map, settings) {
  const params = filterParams(settings.filters);
  const ofParam = filterOfParam(settings.filters);
  const state = readState(window.location.search, params, settings.listParams,
    { minZoom: map.getMinZoom(), maxZoom: map.getMaxZoom(), bounds: settings.viewBounds });
  // mode: "all" (every match loaded, clustered in the page) or "view" (above settings.clusterThreshold:
  // the server clusters what is in view, the list pages through it).
  const status = { ready: false, loading: 0, sitesDrawn: 0, numberMatched: null, basesDrawn: 0, crs: "EPSG3857",
    mode: "all", clustersDrawn: 0, numberInView: null };
  let vocab = null;
  let results = null;  // made below: the markers are the results'
  const M = settings.messages;
  const ctx = {
    map, settings, M, state, status, text: makeText(settings.lang === "zh_CN", M), bases: {},
    vocab: () => vocab,
    colours: () => (vocab ? vocab.genreColours : {}),
    markers: () => results.markers(),
    writeUrl: () => writeUrl(state, params),
    // "Could not load the data: " and why, in the page's language; a fault of the page's own code is logged too.
    failure(err) {
      if (!(err instanceof ApiError)) console.error(err);
      return M.loadFailed + " " + problemText(err, M, filterOfParam(settings.filters));
    },
    actions: {},
  };
  // The `lang` switch parameter has done its work (the server remembers it in a cookie).
  if (new URLSearchParams(window.location.search).has("lang")) ctx.writeUrl();

  ctx.layers = createLayers(ctx);
  ctx.list = createList(ctx);
  ctx.pack = createPackPanel(ctx);
  const filters = createFilters(ctx);
  const detail = createDetail(ctx);
  results = createResults(ctx, params);
  const { layers, list } = ctx;

  // ---- bad state degrades: a filter the link gives twice or the server refuses is left out, and named.
  const notice = byId("scout-notice");
  const dropped = new Set();
  function noteDropped(filterNames) {
    filterNames.forEach((name) => dropped.add(name));
    if (!dropped.size) return;
    const labels = [...dropped].map((name) => M[name] || name);
    byId("scout-notice-text").textContent = format(M.droppedFilters, { filters: labels.join(M.listSeparator) });
    notice.hidden = false;
  }
  byId("scout-notice-close").addEventListener("click", () => { notice.hidden = true; });
  noteDropped(state.dropped.map((param) => ofParam[param]));
  // The server refused one filter's value (400 naming its parameter): leave that filter out and show the rest.
  function dropRefusedFilter(err) {
    const invalid = err instanceof ApiError && err.status === 400 && (err.problem["invalid-params"] || [])[0];
    const name = invalid && ofParam[invalid.name];
    if (!name || !settings.filters[name].some((param) => state.filters[param])) return false;
    settings.filters[name].forEach((param) => { delete state.filters[param]; });
    noteDropped([name]);
    filters.formFromState();
    return true;
  }

  // ---- results in sight: after a filter change the map fits the results, unless the user has moved it.
  let userMoved = Boolean(state.view);  // a link with a view keeps it
  trackUserMoves(map, () => { userMoved = true; });
  layers.siteCluster.on("clusterclick", () => { userMoved = true; });
  // At once, not animated: the markers are drawn for the new view right after.
  function fitResults(features) {
    const bounds = L.latLngBounds(features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]));
    if (userMoved || !bounds.isValid()) return;
    map.fitBounds(bounds, { ...fitPadding(map, bounds, 40), maxZoom: 15, animate: false });
  }

  // ---- phone: the selected site stays in the part of the map the detail drawer leaves free.
  function keepInSight(latlng) {
    const drawer = byId("scout-detail");
    if (drawer.hidden) return;  // closed meanwhile: nothing to keep in sight
    // A zoom or pan still under way (a cluster click, a glide) ends elsewhere: measure where it ends.
    whenStill(map, () => {
      if (!drawer.hidden) panIntoPart(latlng, drawer);
    });
  }

  function panIntoPart(latlng, drawer) {
    const box = map.getContainer().getBoundingClientRect();
    const visible = uncoveredPart(box, drawer.hidden ? null : drawer.getBoundingClientRect());
    const [dx, dy] = panIntoView(map.latLngToContainerPoint(latlng), visible, 30);
    if (dx || dy) map.panBy([dx, dy], { animate: false });
  }

  // ---- small screens: no mini-map, and the map tools behind one "more tools" button.
  if (window.matchMedia(SMALL_SCREEN).matches) {
    const minimap = settings.miniMap && window[settings.miniMap];
    if (minimap) map.removeControl(minimap);
    groupTools(map, M);
  }

  // ---- phone layout: the panel slides over the map; choosing a site closes it so the map shows the site.
  const toggle = byId("scout-panel-toggle");
  function setPanelOpen(open) {
    document.body.classList.toggle("panel-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    setTimeout(() => map.invalidateSize(), 50);
  }
  toggle.addEventListener("click", () => setPanelOpen(!document.body.classList.contains("panel-open")));

  Object.assign(ctx.actions, { dropRefusedFilter, fitResults, keepInSight, refresh: results.refresh, loadMore: results.loadMore, setPanelOpen,
    openSite: detail.openSite, highlight: list.highlight, setFilters: filters.setFilters, clearFilter: filters.clearFilter });

  // ---- start
  // In "view" mode the map is not ready from the moment it starts moving until the new view's clusters are in.
  map.on("movestart zoomstart", () => { if (status.mode === "view") status.ready = false; });
  map.on("moveend", () => {
    const c = map.getCenter();
    state.view = { zoom: map.getZoom(), lat: c.lat, lng: c.lng };
    ctx.writeUrl();
    if (status.mode === "view") status.ready = false;
    results.reloadView();
  });

  const vocabReady = getJSON(settings.api.vocabulary).then((v) => { vocab = vocabularyIndex(v); });
  const outline = getJSON(settings.api.boundary).then(layers.drawOutline);
  const basesReady = Promise.all([vocabReady, getJSON(settings.api.bases)]).then(([, fc]) => {
    list.addBaseOptions(fc.features);
    layers.drawBases(fc);
  });
  if (settings.api.suggestions) {
    getJSON(settings.api.suggestions).then(layers.drawSuggestions).catch(() => { /* the review list still has them */ });
  }

  // At once, not animated: the first view's data is asked for right below, for this view.
  if (state.view) map.setView([state.view.lat, state.view.lng], state.view.zoom, { animate: false });
  if (state.layer) layers.useBasemap(state.layer);
  results.prefetchFirstView();

  // A link that arrives with filters fits the map to its results, as a filter change does; a link that names
  // a view too keeps that view (userMoved).
  Promise.all([vocabReady, basesReady, outline]).then(() => {
    filters.formFromState();
    return results.refresh({ fit: Object.keys(state.filters).length > 0 });
  }).then(() => {
    if (state.site) detail.openSite(state.site, { from: "url" });
  }).catch((err) => {
    list.setCount(ctx.failure(err));
  });

  const app = { map, state, status, draft: ctx.pack.draft, useBasemap: layers.useBasemap, openSite: detail.openSite,
    setFilters: filters.setFilters, markers: ctx.markers, cluster: layers.siteCluster, serverClusters: layers.serverClusters };
  window.WenchengScout.app = app;
  window.WenchengScout.state = status;
  return app;
}

// On a small screen the map's tool buttons (draw, full screen, locate, measure) sit behind one "more tools"
// button, so they do not cover the map; zoom stays out.
function groupTools(map, M) {
  const corner = map.getContainer().querySelector(".leaflet-top.leaflet-left");
  if (!corner) return;
  corner.classList.add("scout-tools-grouped");
  const control = L.control({ position: "topleft" });
  control.onAdd = () => {
    const bar = L.DomUtil.create("div", "leaflet-bar scout-more-tools");
    const button = L.DomUtil.create("a", "", bar);
    button.href = "#";
    button.setAttribute("role", "button");
    button.setAttribute("aria-expanded", "false");
    button.title = M.moreTools;
    button.setAttribute("aria-label", M.moreTools);
    button.textContent = "⋯";
    L.DomEvent.on(button, "click", (e) => {
      L.DomEvent.preventDefault(e);
      L.DomEvent.stopPropagation(e);
      const open = corner.classList.toggle("is-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    return bar;
  };
  control.addTo(map);
  const zoom = corner.querySelector(".leaflet-control-zoom");
  if (zoom) corner.insertBefore(control.getContainer(), zoom.nextSibling);
}

// The page's inline script may have run first (module scripts are deferred) or not yet.
const scout = window.WenchengScout || (window.WenchengScout = { state: null, app: null });
scout.mount = mount;
if (scout.pending) {
  const [map, settings] = scout.pending;
  delete scout.pending;
  mount(map, settings);
}
