/* Loading the results: the facets' count decides how sites reach the map and the list, every match
 * ("all" mode, clustered in the page) up to settings.clusterThreshold, else the server's clusters for the
 * view and the list of the sites in view, a page at a time ("view" mode).  Requests that a newer one has
 * replaced are dropped (sequence numbers) or cancelled (AbortController).
 */
import { fetchAll, getJSON } from "./api.js";
import { debounce } from "./dom.js";
import { stateParams } from "./state.js";

// ctx: map, settings, state, status, layers, list, pack, failure(err), writeUrl().  params: the filter parameters.
export function createResults(ctx, params) {
  const { map, settings, state, status, layers, list, pack } = ctx;
  let markers = {};
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
  // options.fit: fit the map to the results (after a filter change; main.js skips it once the user moved the map).
  function refresh(options = {}) {
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
        if (seq !== requestSeq) return;
        if (options.fit) ctx.actions.fitResults(data.features);  // first, so the markers are drawn at the new view
        drawAll(data.features);
      });
    }).catch((err) => {
      if (seq !== requestSeq) return undefined;
      // A filter the server refuses is left out (and named); the others still apply.
      if (ctx.actions.dropRefusedFilter(err)) return refresh(options);
      list.setCount(ctx.failure(err));
      list.showEmpty(null, ctx.failure(err));
    }).then(() => {
      status.loading -= 1;
      if (seq === requestSeq) status.ready = true;
    });
  }

  return { refresh, reloadView, loadMore, prefetchFirstView, markers: () => markers };
}
