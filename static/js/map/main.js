/* Wencheng Scout: the director's map.  Wires the modules together and loads the data.
 *
 * The page's inline script (scouting/maps.py) runs before this deferred module: it calls
 * WenchengScout.mount(map, settings) when the module is already here, else leaves the pair in
 * WenchengScout.pending, which is mounted as soon as the module loads.
 *
 * The shared state is one object, ctx, handed to each module's create function: the URL state, the
 * status the tests read (window.WenchengScout.state), the vocabulary, bases and markers.
 * Data and API are WGS-84; Chinese (GCJ-02) basemaps are handled by scout-crs.js.
 */
import { ApiError, fetchAll, getJSON, problemText } from "./api.js";
import { createDetail } from "./detail.js";
import { byId, debounce } from "./dom.js";
import { createFilters } from "./filters.js";
import { makeText, vocabularyIndex } from "./format.js";
import { createLayers } from "./layers.js";
import { createList } from "./list.js";
import { createPackPanel } from "./pack.js";
import { filterOfParam, filterParams, readState, stateParams, writeUrl } from "./state.js";

export function mount(map, settings) {
  const params = filterParams(settings.filters);
  const state = readState(window.location.search, params);
  // mode: "all" (every match loaded, clustered in the page) or "view" (above settings.clusterThreshold:
  // the server clusters what is in view, the list pages through it).
  const status = { ready: false, loading: 0, sitesDrawn: 0, numberMatched: null, basesDrawn: 0, crs: "EPSG3857",
    mode: "all", clustersDrawn: 0, numberInView: null };
  let vocab = null;
  let markers = {};
  const M = settings.messages;
  const ctx = {
    map, settings, M, state, status, text: makeText(settings.lang === "zh_CN", M), bases: {},
    vocab: () => vocab,
    colours: () => (vocab ? vocab.genreColours : {}),
    markers: () => markers,
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
  const { layers, list, pack } = ctx;

  // ---- loading: every match ("all") or the server's clusters for the view ("view")
  let requestSeq = 0;
  let viewSeq = 0;
  let viewAbort = null;
  let prefetched = null;
  const facetsUrl = (query) => settings.api.facets + (query.toString() ? "?" + query.toString() : "");

  // The two requests for a view: its clusters and the first page of its list (null: nothing in view).
  function viewRequest() {
    const box = layers.paddedView();
    if (box === null) return null;
    const query = stateParams(state, params, false);
    query.set("bbox", box);
    const listUrl = settings.api.sites + "?" + query.toString() + "&limit=" + settings.listPageSize;
    query.set("zoom", map.getZoom());
    return { clustersUrl: settings.api.clusters + "?" + query.toString(), listUrl };
  }

  function fetchView(request, signal) {
    return Promise.all([getJSON(request.clustersUrl, signal), getJSON(request.listUrl, signal)]);
  }

  // The first view's facets (and, when the URL gives the view, its clusters and list) are asked for at
  // once, beside the vocabulary, bases and outline they are drawn with, instead of after them.
  function prefetchFirstView() {
    const query = stateParams(state, params, false);
    prefetched = { query: query.toString(), facets: getJSON(facetsUrl(query)) };
    prefetched.facets.catch(() => { /* reported where it is used */ });
    const request = state.view ? viewRequest() : null;
    if (request) {
      prefetched.view = { clustersUrl: request.clustersUrl, data: fetchView(request) };
      prefetched.view.data.catch(() => { /* reported where it is used */ });
    }
  }

  function drawAll(features) {
    layers.clearSites();
    markers = layers.drawSites(features);
    list.showAll(features);
    status.sitesDrawn = features.length;
    status.clustersDrawn = 0;
    status.numberInView = null;
    pack.rememberNames(features);
    pack.render();
    if (state.site) list.markActive(state.site);
  }

  function drawView(clusters, page) {
    layers.clearSites();
    layers.drawServerClusters(clusters.clusters);
    markers = layers.drawSites(clusters.features);
    pack.rememberNames(clusters.features);
    status.clustersDrawn = clusters.clusters.length;
    status.sitesDrawn = clusters.features.length;
    status.numberInView = page.numberMatched;
    list.showPage(page);
    pack.render();
    if (state.site) list.markActive(state.site);
  }

  function cancelView() {
    viewSeq += 1;
    if (viewAbort) viewAbort.abort();
    viewAbort = null;
  }

  function loadView() {
    cancelView();
    const seq = viewSeq;
    const request = viewRequest();
    if (request === null) {
      drawView({ clusters: [], features: [], numberMatched: 0 }, { features: [], numberMatched: 0, links: [] });
      return Promise.resolve();
    }
    let pending;
    if (prefetched && prefetched.view && prefetched.view.clustersUrl === request.clustersUrl) {
      pending = prefetched.view.data;
    } else {
      viewAbort = window.AbortController ? new AbortController() : null;
      pending = fetchView(request, viewAbort ? viewAbort.signal : undefined);
    }
    if (prefetched) prefetched.view = null;
    status.loading += 1;
    status.ready = false;
    return pending.then(([clusters, page]) => {
      if (seq !== viewSeq) return;  // the map moved on meanwhile
      drawView(clusters, page);
    }).catch((err) => {
      if (seq !== viewSeq || err.name === "AbortError") return;
      list.setCount(ctx.failure(err));
    }).then(() => {
      status.loading -= 1;
      if (seq === viewSeq) status.ready = true;
    });
  }

  const reloadView = debounce(() => { if (status.mode === "view") loadView(); }, 250);

  // "Show more" under the list of the sites in view.
  function loadMore(href, button) {
    const seq = viewSeq;
    button.disabled = true;
    status.loading += 1;
    getJSON(href).then((nextPage) => {
      if (seq === viewSeq) list.appendPage(nextPage);
    }).catch((err) => list.setCount(ctx.failure(err))).then(() => {
      button.disabled = false;
      status.loading -= 1;
    });
  }

  // The facets' count decides how sites reach the map: every match (clustered in the page) up to
  // settings.clusterThreshold, else only the server's clusters for the view and a page of the list.
  function refresh() {
    ctx.writeUrl();
    layers.drawArea();
    layers.drawNear();
    const query = stateParams(state, params, false);
    const seq = ++requestSeq;
    status.loading += 1;
    status.ready = false;
    const sitesUrl = settings.api.sites + "?" + query.toString() + (query.toString() ? "&" : "") + "limit=" + settings.pageSize;
    const facets = prefetched && prefetched.facets && prefetched.query === query.toString() ? prefetched.facets :
      getJSON(facetsUrl(query));
    if (prefetched) prefetched.facets = null;
    return facets.then((counts) => {
      if (seq !== requestSeq) return undefined;  // a newer request has replaced this one
      list.showFacets(counts);
      if (counts.numberMatched > settings.clusterThreshold) {
        status.mode = "view";
        return loadView();
      }
      status.mode = "all";
      cancelView();
      return fetchAll(sitesUrl).then((data) => {
        if (seq === requestSeq) drawAll(data.features);
      });
    }).catch((err) => {
      if (seq !== requestSeq) return;
      list.setCount(ctx.failure(err));
      list.showEmpty(null, ctx.failure(err));
    }).then(() => {
      status.loading -= 1;
      if (seq === requestSeq) status.ready = true;
    });
  }

  // ---- phone layout: the panel slides over the map; choosing a site closes it so the map shows the site.
  const toggle = byId("scout-panel-toggle");
  function setPanelOpen(open) {
    document.body.classList.toggle("panel-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    setTimeout(() => map.invalidateSize(), 50);
  }
  toggle.addEventListener("click", () => setPanelOpen(!document.body.classList.contains("panel-open")));

  Object.assign(ctx.actions, { refresh, loadMore, setPanelOpen, openSite: detail.openSite, highlight: list.highlight,
    setFilters: filters.setFilters, clearFilter: filters.clearFilter });

  // ---- start
  // In "view" mode the map is not ready from the moment it starts moving until the new view's clusters are in.
  map.on("movestart zoomstart", () => { if (status.mode === "view") status.ready = false; });
  map.on("moveend", () => {
    const c = map.getCenter();
    state.view = { zoom: map.getZoom(), lat: c.lat, lng: c.lng };
    ctx.writeUrl();
    if (status.mode === "view") status.ready = false;
    reloadView();
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
  prefetchFirstView();

  Promise.all([vocabReady, basesReady, outline]).then(() => {
    filters.formFromState();
    return refresh();
  }).then(() => {
    if (state.site) detail.openSite(state.site, { from: "url" });
  }).catch((err) => {
    list.setCount(ctx.failure(err));
  });

  const app = { map, state, status, draft: pack.draft, useBasemap: layers.useBasemap, openSite: detail.openSite,
    setFilters: filters.setFilters, markers: () => markers, cluster: layers.siteCluster, serverClusters: layers.serverClusters };
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
