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
import { makeText, vocabularyIndex } from "./format.js";
import { createLayers } from "./layers.js";
import { createList } from "./list.js";
import { createPackPanel } from "./pack.js";
import { createResults } from "./results.js";
import { filterOfParam, filterParams, readState, writeUrl } from "./state.js";

export function mount(map, settings) {
  const params = filterParams(settings.filters);
  const state = readState(window.location.search, params);
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

  // ---- phone layout: the panel slides over the map; choosing a site closes it so the map shows the site.
  const toggle = byId("scout-panel-toggle");
  function setPanelOpen(open) {
    document.body.classList.toggle("panel-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    setTimeout(() => map.invalidateSize(), 50);
  }
  toggle.addEventListener("click", () => setPanelOpen(!document.body.classList.contains("panel-open")));

  Object.assign(ctx.actions, { refresh: results.refresh, loadMore: results.loadMore, setPanelOpen,
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

  Promise.all([vocabReady, basesReady, outline]).then(() => {
    filters.formFromState();
    return results.refresh();
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

// The page's inline script may have run first (module scripts are deferred) or not yet.
const scout = window.WenchengScout || (window.WenchengScout = { state: null, app: null });
scout.mount = mount;
if (scout.pending) {
  const [map, settings] = scout.pending;
  delete scout.pending;
  mount(map, settings);
}
