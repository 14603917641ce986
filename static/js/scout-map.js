/* Wencheng Scout: the director's map.
 *
 * The page URL is the whole state: filters (the API's own parameter names), the selected site,
 * the basemap, the map view and the sun date.  Opening a URL and clicking in the panel take the
 * same path: state -> URL -> API request -> map + list.
 *
 * Every string that comes from the data is put on the page as text (textContent), never as HTML.
 * Data and API are WGS-84; Chinese (GCJ-02) basemaps are handled by scout-crs.js.
 */
(function () {
  "use strict";

  var FILTER_PARAMS = ["genre", "terrain", "facility", "facility_status", "base", "q", "bbox", "area", "near", "radius_km",
    "elev_min", "elev_max"];
  var PAGE_PARAMS = ["site", "layer", "map", "date"];
  var LIST_PARAMS = { genre: true, terrain: true, facility: true, facility_status: true };
  // The filters an empty result can offer to clear, by the facets API's names.
  var FILTER_OF_PARAM = { genre: "genre", terrain: "terrain", facility: "facility", facility_status: "facility",
    base: "base", q: "q",
    bbox: "bbox", area: "area", near: "near", radius_km: "near", elev_min: "elevation", elev_max: "elevation" };

  var GENRE_COLOURS = {
    costume: "#b03a2e", ming_qing: "#7d5a3c", period: "#5d6d7e", youth: "#d35400", wedding: "#c2185b",
    ethnic: "#117a65", red: "#c0392b", nature: "#1e8449", religious: "#7d3c98", wuxia: "#283747",
    historical: "#9a7d0a", documentary: "#2c3e50", commercial: "#1f618d", fashion: "#ad1457",
    public_welfare: "#239b56", music_video: "#6c3483"
  };

  // ------------------------------------------------------------------ small helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function byId(id) { return document.getElementById(id); }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  function getJSON(url, signal) {
    // The API's links start with the site's public address (SCOUTING_PUBLIC_URL); the page asks its own origin,
    // whichever name it was opened under (connect-src 'self').
    var own = new URL(url, window.location.href);
    url = own.pathname + own.search;
    return fetch(url, { headers: { Accept: "application/json" }, signal: signal }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error(body.detail || (url + " answered " + r.status));
        return body;
      });
    });
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function round6(x) { return Math.round(x * 1e6) / 1e6; }

  function formatDistance(metres, M) {
    return metres >= 1000 ? (metres / 1000).toFixed(metres >= 10000 ? 0 : 1) + " " + M.km : Math.round(metres) + " " + M.m;
  }

  // ------------------------------------------------------------------ URL state

  function readUrl() {
    var params = new URLSearchParams(window.location.search);
    var state = { filters: {}, site: null, layer: null, view: null, date: null };
    FILTER_PARAMS.forEach(function (name) {
      var value = params.get(name);
      if (value !== null && value !== "") state.filters[name] = value;
    });
    if (params.get("site") && /^\d+$/.test(params.get("site"))) state.site = parseInt(params.get("site"), 10);
    state.layer = params.get("layer");
    var view = (params.get("map") || "").split("/").map(Number);
    if (view.length === 3 && view.every(isFinite)) state.view = { zoom: view[0], lat: view[1], lng: view[2] };
    if (/^\d{4}-\d{2}-\d{2}$/.test(params.get("date") || "")) state.date = params.get("date");
    return state;
  }

  function stateParams(state, includePage) {
    var params = new URLSearchParams();
    FILTER_PARAMS.forEach(function (name) {
      if (state.filters[name]) params.set(name, state.filters[name]);
    });
    if (!includePage) return params;
    if (state.site) params.set("site", state.site);
    if (state.layer) params.set("layer", state.layer);
    if (state.view) params.set("map", [state.view.zoom, state.view.lat.toFixed(5), state.view.lng.toFixed(5)].join("/"));
    if (state.date) params.set("date", state.date);
    return params;
  }

  function writeUrl(state) {
    var query = stateParams(state, true).toString();
    var url = window.location.pathname + (query ? "?" + query : "");
    if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, "", url);
    // Language links keep the state.
    document.querySelectorAll("[data-lang]").forEach(function (a) {
      var p = stateParams(state, true);
      p.set("lang", a.getAttribute("data-lang"));
      a.setAttribute("href", window.location.pathname + "?" + p.toString());
    });
  }

  // ------------------------------------------------------------------ the app

  function mount(map, settings) {
    var M = settings.messages;
    var zh = settings.lang === "zh_CN";
    var state = readUrl();
    // mode: "all" (every match loaded, clustered in the page) or "view" (above settings.clusterThreshold:
    // the server clusters what is in view, the list pages through it).
    var status = { ready: false, loading: 0, sitesDrawn: 0, numberMatched: null, basesDrawn: 0, crs: "EPSG3857",
      mode: "all", clustersDrawn: 0, numberInView: null };
    var vocab = null;
    var bases = {};
    var markers = {};
    var requestSeq = 0;
    var viewSeq = 0;
    var viewAbort = null;
    var listFeatures = {};
    var detailSeq = 0;
    var highlighted = null;

    // The `lang` switch parameter has done its work (the server remembers it in a cookie).
    if (new URLSearchParams(window.location.search).has("lang")) writeUrl(state);

    function label(term) { return term ? (zh ? term.zh : term.en) : ""; }
    function primaryName(p) { return zh ? p.name_zh : p.name_en; }
    function secondaryName(p) { return zh ? p.name_en : p.name_zh; }
    function localText(p, field) { return (zh ? p[field + "_zh"] : p[field + "_en"]) || p[field + "_zh"] || p[field + "_en"] || ""; }
    function termLabel(kind, slug) { return vocab && vocab[kind][slug] ? label(vocab[kind][slug]) : slug; }

    function accuracyText(p) {
      var text = "±" + formatDistance(p.coord_accuracy_m, M);
      if (p.approximate) text = M.approximate + ", " + text;
      var method = zh ? p.position_method_zh : p.position_method_en;
      return method ? text + " (" + method + ")" : text;
    }

    // ---------------------------------------------------------------- basemaps and CRS

    var controlLayers = (window[settings.layerControl + "_layers"] || {}).base_layers || {};
    var basemaps = {};
    Object.keys(controlLayers).forEach(function (name) {
      var layer = controlLayers[name];
      if (layer.options && layer.options.layerKey) basemaps[layer.options.layerKey] = layer;
    });

    function currentBasemapKey() {
      var key = null;
      Object.keys(basemaps).forEach(function (k) { if (map.hasLayer(basemaps[k])) key = k; });
      return key;
    }

    function applyCrs(layer) {
      if (!WenchengCRS.applyCrs(map, layer)) return;
      status.crs = WenchengCRS.isGcj(map) ? "GCJ02" : "EPSG3857";
      // Clusters were built on the old projection's pixels.
      var all = siteCluster.getLayers();
      if (siteCluster._processQueue) siteCluster._processQueue();
      siteCluster.clearLayers();
      siteCluster.addLayers(all);
    }

    function useBasemap(key) {
      var target = basemaps[key];
      if (!target) return false;
      Object.keys(basemaps).forEach(function (k) {
        if (k !== key && map.hasLayer(basemaps[k])) map.removeLayer(basemaps[k]);
      });
      if (!map.hasLayer(target)) map.addLayer(target);
      applyCrs(target);
      state.layer = key === Object.keys(basemaps)[0] ? null : key;
      writeUrl(state);
      return true;
    }

    map.on("baselayerchange", function (e) {
      applyCrs(e.layer);
      var key = e.layer.options && e.layer.options.layerKey;
      state.layer = key && key !== Object.keys(basemaps)[0] ? key : null;
      writeUrl(state);
    });

    // ---------------------------------------------------------------- layers

    var siteCluster = L.markerClusterGroup({ showCoverageOnHover: false, spiderfyOnMaxZoom: true, maxClusterRadius: 40 });
    map.addLayer(siteCluster);
    // The server's clusters ("view" mode): one bubble per grid cell, drawn like the clusterer's own.
    var serverClusters = L.layerGroup().addTo(map);
    var nearLayer = L.layerGroup().addTo(map);
    var accuracyLayer = L.layerGroup().addTo(map);
    var drawnLayer = window[settings.drawnLayer] || L.featureGroup().addTo(map);

    function siteIcon(feature) {
      var p = feature.properties;
      var first = (p.genres || [])[0];
      var dot = el("span", "scout-site-dot", first && vocab ? label(vocab.genre[first]).charAt(0) : "");
      dot.style.background = GENRE_COLOURS[first] || "#555";
      dot.setAttribute("data-site-id", feature.id);
      return L.divIcon({ html: dot, className: "scout-site-icon", iconSize: [22, 22], iconAnchor: [11, 11] });
    }

    function baseIcon(p) {
      var badge = el("span", "scout-base-badge", p.number);
      badge.style.background = GENRE_COLOURS[p.genres[0]] || "#555";
      // A flag standing on its point, so the sites clustered at the same point stay visible below it.
      return L.divIcon({ html: badge, className: "scout-base-icon", iconSize: [26, 34], iconAnchor: [13, 34],
        popupAnchor: [0, -30] });
    }

    function basePopup(feature) {
      var p = feature.properties;
      var box = el("div", "scout-popup");
      box.appendChild(el("h3", null, p.number + ". " + primaryName(p)));
      box.appendChild(el("p", "scout-popup-secondary", secondaryName(p)));
      box.appendChild(el("p", null, (p.genres || []).map(function (g) { return termLabel("genre", g); }).join(" / ")));
      box.appendChild(el("p", null, (p.towns || []).join("、")));
      box.appendChild(el("p", "scout-popup-accuracy", M.accuracy + ": " + accuracyText(p)));
      var show = el("button", "scout-link-button", M.base + ": " + primaryName(p));
      show.type = "button";
      show.addEventListener("click", function () {
        setFilters({ base: p.slug });
        map.closePopup();
      });
      box.appendChild(show);
      return box;
    }

    // ---------------------------------------------------------------- form <-> state

    var form = byId("scout-filters");
    form.addEventListener("submit", function (e) { e.preventDefault(); });

    function formFromState() {
      form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        var selected = (state.filters[box.name] || "").split(",");
        box.checked = selected.indexOf(box.value) >= 0;
        var chip = box.closest(".scout-chip");  // the "verified only" toggle is not a chip
        if (chip) chip.classList.toggle("is-checked", box.checked);
      });
      byId("scout-q").value = state.filters.q || "";
      byId("scout-base").value = state.filters.base || "";
      byId("scout-elev-min").value = state.filters.elev_min || "";
      byId("scout-elev-max").value = state.filters.elev_max || "";
      if (state.filters.radius_km) byId("scout-radius").value = state.filters.radius_km;
      var near = state.filters.near;
      byId("scout-near-point").textContent = near ? near.split(",").reverse().join(", ") : "";
      byId("scout-clear-near").hidden = !near;
      byId("scout-clear-area").hidden = !state.filters.area;
    }

    function stateFromForm() {
      var filters = {};
      Object.keys(LIST_PARAMS).forEach(function (name) {
        var values = [];
        form.querySelectorAll("input[name=" + name + "]:checked").forEach(function (b) { values.push(b.value); });
        if (values.length) filters[name] = values.join(",");
      });
      var q = byId("scout-q").value.trim();
      if (q) filters.q = q;
      if (byId("scout-base").value) filters.base = byId("scout-base").value;
      if (byId("scout-elev-min").value !== "") filters.elev_min = byId("scout-elev-min").value;
      if (byId("scout-elev-max").value !== "") filters.elev_max = byId("scout-elev-max").value;
      ["near", "area", "bbox"].forEach(function (name) { if (state.filters[name]) filters[name] = state.filters[name]; });
      if (filters.near) filters.radius_km = byId("scout-radius").value || "10";
      state.filters = filters;
    }

    function setFilters(changes) {
      Object.keys(changes).forEach(function (k) {
        if (changes[k] === null || changes[k] === "") delete state.filters[k];
        else state.filters[k] = String(changes[k]);
      });
      if (!state.filters.near) delete state.filters.radius_km;
      formFromState();
      refresh();
    }

    var onFormChange = function () { stateFromForm(); formFromState(); refresh(); };
    form.addEventListener("change", function (e) {
      if (e.target.id === "scout-q") return;
      onFormChange();
    });
    byId("scout-q").addEventListener("input", debounce(onFormChange, 300));
    byId("scout-reset").addEventListener("click", function () {
      state.filters = {};
      drawnLayer.clearLayers();
      formFromState();
      refresh();
    });

    // Near a point: a click on the map (its latlng is WGS-84 whatever the basemap) or the device's location.
    function setNear(lng, lat) {
      setFilters({ near: round6(lng) + "," + round6(lat), radius_km: byId("scout-radius").value || "10" });
    }
    byId("scout-pick-point").addEventListener("click", function () {
      setCount(M.pickPoint);
      map.getContainer().classList.add("is-picking");
      map.once("click", function (e) {
        map.getContainer().classList.remove("is-picking");
        setNear(e.latlng.lng, e.latlng.lat);
      });
    });
    byId("scout-my-location").addEventListener("click", function () {
      if (!navigator.geolocation) { setCount(M.locateFailed); return; }
      setCount(M.locating);
      navigator.geolocation.getCurrentPosition(function (pos) {
        setNear(pos.coords.longitude, pos.coords.latitude);
      }, function () { setCount(M.locateFailed); }, { timeout: 10000 });
    });
    byId("scout-clear-near").addEventListener("click", function () { setFilters({ near: null, radius_km: null }); });

    // Inside an area drawn with the Draw plugin.
    function ringParam(layer) {
      var ring = layer.getLatLngs()[0];
      return ring.map(function (ll) { return round6(ll.lng) + "," + round6(ll.lat); }).join(",");
    }
    map.on("draw:created", function (e) {
      drawnLayer.clearLayers();
      drawnLayer.addLayer(e.layer);
      setFilters({ area: ringParam(e.layer) });
    });
    byId("scout-draw-polygon").addEventListener("click", function () { new L.Draw.Polygon(map, { allowIntersection: false }).enable(); });
    byId("scout-draw-rectangle").addEventListener("click", function () { new L.Draw.Rectangle(map).enable(); });
    byId("scout-clear-area").addEventListener("click", function () { drawnLayer.clearLayers(); setFilters({ area: null }); });

    function drawAreaFromState() {
      drawnLayer.clearLayers();
      if (!state.filters.area) return;
      var v = state.filters.area.split(",").map(Number), ring = [];
      for (var i = 0; i + 1 < v.length; i += 2) ring.push([v[i + 1], v[i]]);
      L.polygon(ring, { color: "#1f618d", weight: 2, fillOpacity: 0.08 }).addTo(drawnLayer);
    }

    function drawNearFromState() {
      nearLayer.clearLayers();
      if (!state.filters.near) return;
      var v = state.filters.near.split(",").map(Number);
      var radius = parseFloat(state.filters.radius_km || "10") * 1000;
      L.circle([v[1], v[0]], { radius: radius, color: "#1f618d", weight: 2, dashArray: "6 4", fillOpacity: 0.05,
        interactive: false }).addTo(nearLayer);
      L.circleMarker([v[1], v[0]], { radius: 5, color: "#1f618d", fillOpacity: 1, interactive: false }).addTo(nearLayer);
    }

    // ---------------------------------------------------------------- results

    function setCount(text) { byId("scout-count").textContent = text; }

    function facetsUrl(query) { return settings.api.facets + (query.toString() ? "?" + query.toString() : ""); }

    // The first view's facets (and, when the URL gives the view, its clusters and list) are asked for at
    // once, beside the vocabulary, bases and outline they are drawn with, instead of after them.
    var prefetched = null;
    function prefetchFirstView() {
      var query = stateParams(state, false);
      prefetched = { query: query.toString(), facets: getJSON(facetsUrl(query)) };
      prefetched.facets.catch(function () { /* reported where it is used */ });
      var request = state.view ? viewRequest() : null;
      if (request) {
        prefetched.view = { clustersUrl: request.clustersUrl, data: fetchView(request) };
        prefetched.view.data.catch(function () { /* reported where it is used */ });
      }
    }

    function fetchAll(url, features) {
      features = features || [];
      return getJSON(url).then(function (page) {
        features.push.apply(features, page.features);
        var next = (page.links || []).filter(function (l) { return l.rel === "next"; })[0];
        return next ? fetchAll(next.href, features) : { features: features, numberMatched: page.numberMatched };
      });
    }

    // The facets' count decides how sites reach the map: every match (clustered in the page) up to
    // settings.clusterThreshold, else only the server's clusters for the view and a page of the list.
    function refresh() {
      writeUrl(state);
      drawAreaFromState();
      drawNearFromState();
      var query = stateParams(state, false);
      var seq = ++requestSeq;
      status.loading += 1;
      status.ready = false;
      var sitesUrl = settings.api.sites + "?" + query.toString() + (query.toString() ? "&" : "") + "limit=" + settings.pageSize;
      var facets = prefetched && prefetched.facets && prefetched.query === query.toString() ? prefetched.facets :
        getJSON(facetsUrl(query));
      if (prefetched) prefetched.facets = null;
      return facets.then(function (facets) {
        if (seq !== requestSeq) return;  // a newer request has replaced this one
        showFacets(facets);
        status.numberMatched = facets.numberMatched;
        setCount(facets.numberMatched === 1 ? M.oneSiteMatches : format(M.sitesMatch, { n: facets.numberMatched }));
        if (facets.numberMatched > settings.clusterThreshold) {
          status.mode = "view";
          return loadView();
        }
        status.mode = "all";
        cancelView();
        return fetchAll(sitesUrl).then(function (data) {
          if (seq !== requestSeq) return;
          drawSites(data);
        });
      }).catch(function (err) {
        if (seq !== requestSeq) return;
        setCount(M.loadFailed + " " + err.message);
        showEmpty(null, err.message);
      }).then(function () {
        status.loading -= 1;
        if (seq === requestSeq) status.ready = true;
      });
    }

    function siteMarker(f) {
      var p = f.properties;
      var marker = L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
        icon: siteIcon(f), title: primaryName(p), alt: primaryName(p), keyboard: true
      });
      marker.feature = f;
      marker.on("click", function () { openSite(f.id, { from: "map" }); });
      marker.on("mouseover", function () { highlight(f.id, "map"); });
      marker.on("mouseout", function () { highlight(null); });
      markers[f.id] = marker;
      return marker;
    }

    // Leaflet.markercluster ends a zoom animation from a queue, 300 ms later; run that now, while the markers it
    // refers to still exist (else it trips over removed ones: "'_leaflet_id' in undefined").
    function clearSiteLayers() {
      if (siteCluster._processQueue) siteCluster._processQueue();
      siteCluster.clearLayers();
      serverClusters.clearLayers();
    }

    function drawSites(data) {
      clearSiteLayers();
      markers = {};
      listFeatures = {};
      var list = byId("scout-results");
      list.textContent = "";
      byId("scout-results-note").hidden = true;
      byId("scout-more").hidden = true;
      var layers = data.features.map(function (f) {
        list.appendChild(resultItem(f));
        return siteMarker(f);
      });
      siteCluster.addLayers(layers);
      status.sitesDrawn = layers.length;
      status.clustersDrawn = 0;
      status.numberInView = null;
      data.features.forEach(function (f) { if (inDraft(f.id)) draftNames[f.id] = primaryName(f.properties); });
      renderDraft();
      if (state.site) markActive(state.site);
    }

    // ---------------------------------------------------------------- "view" mode: the server clusters

    // The view to ask about: the map's bounds plus a quarter on each side (so a small pan shows no empty
    // edge), inside the world and inside a bbox filter if there is one.  Null when nothing is left.
    function viewBox() {
      var b = map.getBounds().pad(0.25);
      // Snapped outwards to half-tile steps: nearby views (a small pan, another screen size) ask the same
      // question, which the server and the browser have answered already.
      var step = 180 / Math.pow(2, map.getZoom());
      var snap = function (v, up) { return (up ? Math.ceil(v / step) : Math.floor(v / step)) * step; };
      var box = [Math.max(-180, snap(b.getWest())), Math.max(-90, snap(b.getSouth())), Math.min(180, snap(b.getEast(), true)),
        Math.min(90, snap(b.getNorth(), true))];
      if (state.filters.bbox) {
        var f = state.filters.bbox.split(",").map(Number);
        box = [Math.max(box[0], f[0]), Math.max(box[1], f[1]), Math.min(box[2], f[2]), Math.min(box[3], f[3])];
      }
      if (box[0] > box[2] || box[1] > box[3]) return null;
      return box.map(round6).join(",");
    }

    function cancelView() {
      viewSeq += 1;
      if (viewAbort) viewAbort.abort();
      viewAbort = null;
    }

    // The two requests for a view: its clusters and the first page of its list (null: nothing in view).
    function viewRequest() {
      var box = viewBox();
      if (box === null) return null;
      var params = stateParams(state, false);
      params.set("bbox", box);
      var listUrl = settings.api.sites + "?" + params.toString() + "&limit=" + settings.listPageSize;
      params.set("zoom", map.getZoom());
      return { clustersUrl: settings.api.clusters + "?" + params.toString(), listUrl: listUrl };
    }

    function fetchView(request, signal) {
      return Promise.all([getJSON(request.clustersUrl, signal), getJSON(request.listUrl, signal)]);
    }

    function loadView() {
      cancelView();
      var seq = viewSeq;
      var request = viewRequest();
      if (request === null) { drawView({ clusters: [], features: [], numberMatched: 0 }, { features: [], numberMatched: 0, links: [] }); return Promise.resolve(); }
      var pending;
      if (prefetched && prefetched.view && prefetched.view.clustersUrl === request.clustersUrl) {
        pending = prefetched.view.data;
      } else {
        viewAbort = window.AbortController ? new AbortController() : null;
        pending = fetchView(request, viewAbort ? viewAbort.signal : undefined);
      }
      if (prefetched) prefetched.view = null;
      status.loading += 1;
      status.ready = false;
      return pending.then(function (results) {
        if (seq !== viewSeq) return;  // the map moved on meanwhile
        drawView(results[0], results[1]);
      }).catch(function (err) {
        if (seq !== viewSeq || err.name === "AbortError") return;
        setCount(M.loadFailed + " " + err.message);
      }).then(function () {
        status.loading -= 1;
        if (seq === viewSeq) status.ready = true;
      });
    }

    var reloadView = debounce(function () { if (status.mode === "view") loadView(); }, 250);

    function clusterIcon(count) {
      var size = count < 10 ? "small" : count < 100 ? "medium" : "large";  // the clusterer's own steps
      var div = el("div");
      div.appendChild(el("span", null, count));
      return L.divIcon({ html: div, className: "marker-cluster marker-cluster-" + size + " scout-server-cluster",
        iconSize: L.point(40, 40) });
    }

    function drawView(clusters, page) {
      clearSiteLayers();
      markers = {};
      clusters.clusters.forEach(function (c) {
        var bounds = L.latLngBounds([c.bbox[1], c.bbox[0]], [c.bbox[3], c.bbox[2]]);
        var bubble = L.marker([c.lat, c.lon], { icon: clusterIcon(c.count), keyboard: true,
          title: format(M.clusterTitle, { n: c.count }) });
        bubble.clusterBounds = bounds;
        bubble.on("click", function () {
          // Members at (nearly) one point: zoom to where the server lists them one by one.
          if (map.latLngToContainerPoint(bounds.getNorthEast()).distanceTo(map.latLngToContainerPoint(bounds.getSouthWest())) < 4) {
            map.setView(bounds.getCenter(), Math.max(map.getZoom() + 1, settings.membersZoom));
          } else {
            map.fitBounds(bounds, { padding: [30, 30] });
          }
        });
        serverClusters.addLayer(bubble);
      });
      siteCluster.addLayers(clusters.features.map(siteMarker));
      clusters.features.forEach(function (f) { if (inDraft(f.id)) draftNames[f.id] = primaryName(f.properties); });
      status.clustersDrawn = clusters.clusters.length;
      status.sitesDrawn = clusters.features.length;
      status.numberInView = page.numberMatched;
      listFeatures = {};
      byId("scout-results").textContent = "";
      appendPage(page);
      renderDraft();
      if (state.site) markActive(state.site);
    }

    function appendPage(page) {
      var list = byId("scout-results");
      page.features.forEach(function (f) {
        listFeatures[f.id] = f;
        list.appendChild(resultItem(f));
      });
      var shown = Object.keys(listFeatures).length;
      var note = byId("scout-results-note");
      note.hidden = false;
      note.textContent = page.numberMatched === 0 ? M.noneInView : shown < page.numberMatched ?
        format(M.listInView, { shown: shown, n: page.numberMatched }) : format(M.allInView, { n: page.numberMatched });
      var next = (page.links || []).filter(function (l) { return l.rel === "next"; })[0];
      var more = byId("scout-more");
      more.hidden = !next;
      more.onclick = next ? function () {
        var seq = viewSeq;
        more.disabled = true;
        status.loading += 1;
        getJSON(next.href).then(function (nextPage) {
          if (seq === viewSeq) appendPage(nextPage);
        }).catch(function (err) { setCount(M.loadFailed + " " + err.message); }).then(function () {
          more.disabled = false;
          status.loading -= 1;
        });
      } : null;
    }

    function resultItem(f) {
      var p = f.properties;
      var li = el("li");
      var button = el("button", "scout-result");
      button.type = "button";
      button.setAttribute("data-site-id", f.id);
      button.appendChild(el("span", "scout-result-name", primaryName(p)));
      button.appendChild(el("span", "scout-result-secondary", secondaryName(p)));
      var meta = (p.genres || []).map(function (g) { return termLabel("genre", g); }).join(" · ");
      if (p.distance_m !== undefined) meta = formatDistance(p.distance_m, M) + " · " + meta;
      button.appendChild(el("span", "scout-result-meta", meta));
      button.appendChild(el("span", "scout-result-accuracy", "±" + formatDistance(p.coord_accuracy_m, M)));
      button.addEventListener("click", function () { openSite(f.id, { from: "list" }); });
      button.addEventListener("mouseenter", function () { highlight(f.id, "list"); });
      button.addEventListener("mouseleave", function () { highlight(null); });
      button.addEventListener("focus", function () { highlight(f.id, "list"); });
      button.addEventListener("blur", function () { highlight(null); });
      li.appendChild(button);
      return li;
    }

    // Hovering a list item lights up its marker (or the cluster holding it), and the other way round.
    function highlight(id, from) {
      document.querySelectorAll(".is-highlighted").forEach(function (n) { n.classList.remove("is-highlighted"); });
      highlighted = id;
      if (id === null) return;
      var item = document.querySelector('.scout-result[data-site-id="' + id + '"]');
      if (item) {
        item.classList.add("is-highlighted");
        if (from === "map") item.scrollIntoView({ block: "nearest" });
      }
      var marker = markers[id];
      if (!marker) {
        var f = listFeatures[id];
        if (!f) return;
        var at = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
        serverClusters.eachLayer(function (bubble) {
          if (bubble.clusterBounds.contains(at) && bubble.getElement()) bubble.getElement().classList.add("is-highlighted");
        });
        return;
      }
      var shown = siteCluster.getVisibleParent(marker);
      var icon = shown && shown.getElement ? shown.getElement() : null;
      if (icon) icon.classList.add("is-highlighted");
    }

    function markActive(id) {
      document.querySelectorAll(".is-active").forEach(function (n) { n.classList.remove("is-active"); });
      var item = document.querySelector('.scout-result[data-site-id="' + id + '"]');
      if (item) item.classList.add("is-active");
      var marker = markers[id];
      var icon = marker && marker.getElement ? marker.getElement() : null;
      if (icon) icon.classList.add("is-active");
    }

    function showFacets(facets) {
      document.querySelectorAll(".scout-chip").forEach(function (chip) {
        var counts = facets.counts[chip.getAttribute("data-vocab")] || {};
        var n = counts[chip.getAttribute("data-term")] || 0;
        chip.querySelector(".scout-chip-count").textContent = n;
        chip.classList.toggle("is-empty", n === 0);
      });
      var select = byId("scout-base");
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.value || !bases[option.value]) return;
        option.textContent = bases[option.value].number + ". " + primaryName(bases[option.value]) + " (" +
          (facets.counts.base[option.value] || 0) + ")";
      });
      showEmpty(facets.numberMatched === 0 ? facets.without || {} : null);
    }

    // An empty result says so and offers to clear the filter that removed the most.
    function showEmpty(without, error) {
      var box = byId("scout-empty");
      box.textContent = "";
      if (!without && !error) { box.hidden = true; return; }
      box.hidden = false;
      box.appendChild(el("p", null, error ? M.loadFailed + " " + error : M.noSites));
      var best = null;
      Object.keys(without || {}).forEach(function (name) {
        if (best === null || without[name] > without[best]) best = name;
      });
      if (best !== null && without[best] > 0) {
        var clear = el("button", "scout-relax", format(M.clearFilter, { filter: M[best] || best, n: without[best] }));
        clear.type = "button";
        clear.setAttribute("data-filter", best);
        clear.addEventListener("click", function () {
          var changes = {};
          Object.keys(FILTER_OF_PARAM).forEach(function (param) { if (FILTER_OF_PARAM[param] === best) changes[param] = null; });
          if (best === "area") drawnLayer.clearLayers();
          setFilters(changes);
        });
        box.appendChild(clear);
      }
      var all = el("button", "scout-relax-all", M.clearAll);
      all.type = "button";
      all.addEventListener("click", function () { byId("scout-reset").click(); });
      box.appendChild(all);
    }

    // ---------------------------------------------------------------- details

    var detail = byId("scout-detail");
    var detailBody = byId("scout-detail-body");
    byId("scout-detail-close").addEventListener("click", closeSite);
    detail.addEventListener("keydown", function (e) { if (e.key === "Escape") closeSite(); });

    function closeSite() {
      detail.hidden = true;
      accuracyLayer.clearLayers();
      var previous = state.site;
      state.site = null;
      writeUrl(state);
      document.querySelectorAll(".is-active").forEach(function (n) { n.classList.remove("is-active"); });
      var item = previous && document.querySelector('.scout-result[data-site-id="' + previous + '"]');
      if (item) item.focus();
    }

    function openSite(id, options) {
      options = options || {};
      state.site = id;
      writeUrl(state);
      markActive(id);
      var url = settings.api.site + "/" + id + "/details" + (state.date ? "?date=" + state.date : "");
      var seq = ++detailSeq;
      status.loading += 1;
      return getJSON(url).then(function (d) {
        if (seq !== detailSeq) return;  // another site was opened meanwhile
        renderDetail(d);
        detail.hidden = false;
        if (options.from !== "url") detail.focus();
        var f = d.feature, latlng = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
        accuracyLayer.clearLayers();
        L.circle(latlng, { radius: f.properties.coord_accuracy_m, color: "#555", weight: 1, dashArray: "4 4",
          fillOpacity: 0.04, interactive: false }).addTo(accuracyLayer);
        var marker = markers[id];
        if (options.from === "list" && document.body.classList.contains("panel-open")) setPanelOpen(false);
        if (marker && options.from === "list") {
          // The zoom may end after another site was opened: only the current one is marked.
          siteCluster.zoomToShowLayer(marker, function () { if (state.site === id) markActive(id); });
        } else if (!marker && options.from === "list" && status.mode === "view") {
          // Inside a server cluster: zoom to where it stands alone (the view reloads and marks it).
          map.setView(latlng, Math.max(map.getZoom(), settings.membersZoom));
        }
      }).catch(function (err) {
        if (seq !== detailSeq) return;
        detailBody.textContent = "";
        detailBody.appendChild(el("p", "scout-error", M.loadFailed + " " + err.message));
        detail.hidden = false;
      }).then(function () { status.loading -= 1; });
    }

    function copyRow(labelText, lat, lng) {
      var row = el("div", "scout-coord");
      row.appendChild(el("span", "scout-coord-label", labelText));
      var value = lat.toFixed(6) + ", " + lng.toFixed(6);
      var code = el("code", "scout-coord-value", value);
      row.appendChild(code);
      var button = el("button", "scout-copy", M.copy);
      button.type = "button";
      button.addEventListener("click", function () {
        var done = function () { button.textContent = M.copied; setTimeout(function () { button.textContent = M.copy; }, 1500); };
        if (navigator.clipboard) navigator.clipboard.writeText(value).then(done, function () {});
      });
      row.appendChild(button);
      return row;
    }

    function section(title) {
      var s = el("section", "scout-detail-section");
      s.appendChild(el("h3", null, title));
      return s;
    }

    function definition(list, term, value) {
      if (value === null || value === undefined || value === "") return;
      list.appendChild(el("dt", null, term));
      list.appendChild(el("dd", null, value));
    }

    // Each facility with how it is known, worded by the server (label_zh/label_en): only a verified one gets its
    // pictogram as a plain fact; a reported one is marked "?", one verified absent is struck through.
    function facilityList(entries) {
      var list = el("ul", "scout-facilities");
      entries.forEach(function (e) {
        var li = el("li", "scout-facility scout-facility-" + e.status);
        li.setAttribute("data-facility", e.facility);
        li.setAttribute("data-status", e.status);
        var mark = e.status === "verified_present" ? ((vocab && vocab.facilityIcons[e.facility]) || "•")
          : e.status === "reported" ? "?" : "✕";
        var icon = el("span", "scout-facility-icon", mark);
        icon.setAttribute("aria-hidden", "true");
        li.appendChild(icon);
        li.appendChild(el("span", "scout-facility-label", zh ? e.label_zh : e.label_en));
        if (e.status === "reported" && e.source) li.title = e.source;
        list.appendChild(li);
      });
      return list;
    }

    function renderDetail(d) {
      var f = d.feature, p = f.properties;
      detailBody.textContent = "";
      detailBody.setAttribute("data-site-id", f.id);
      var title = el("h2", null, primaryName(p));
      title.id = "scout-detail-title";
      detailBody.appendChild(title);
      detailBody.appendChild(el("p", "scout-detail-secondary", secondaryName(p)));
      if (p.base) detailBody.appendChild(el("p", "scout-detail-base", (zh ? p.base_name_zh : p.base_name_en) || p.base));
      var packButton = el("button", "scout-pack-toggle", inDraft(f.id) ? M.removeFromPack : M.addToPack);
      packButton.type = "button";
      packButton.setAttribute("data-site-id", f.id);
      packButton.setAttribute("aria-pressed", inDraft(f.id) ? "true" : "false");
      packButton.addEventListener("click", function () { toggleInDraft(f.id, primaryName(p)); });
      detailBody.appendChild(packButton);

      var photos = section(M.photos);
      if (!d.photos.length) photos.appendChild(el("p", "scout-muted", M.noPhotos));
      else {
        var strip = el("div", "scout-photos");
        d.photos.forEach(function (ph) {
          // Thumbnail linking to the full public copy; every value set as a property, never as markup.
          var link = el("a", "scout-photo");
          link.href = ph.url;
          link.target = "_blank";
          link.rel = "noopener noreferrer";
          if (ph.caption) link.title = ph.caption;
          var img = el("img");
          var scale = Math.min(1, 320 / Math.max(ph.width, ph.height, 1));
          img.src = ph.thumb_url;
          img.alt = ph.caption || M.photos;
          img.width = Math.round(ph.width * scale);
          img.height = Math.round(ph.height * scale);
          img.loading = "lazy";
          img.decoding = "async";
          img.style.maxWidth = "100%";
          img.style.height = "auto";
          link.appendChild(img);
          strip.appendChild(link);
        });
        photos.appendChild(strip);
      }
      detailBody.appendChild(photos);

      var tags = el("ul", "scout-tags");
      (p.genres || []).forEach(function (g) { tags.appendChild(el("li", "scout-tag scout-tag-genre", termLabel("genre", g))); });
      (p.terrain || []).forEach(function (t) { tags.appendChild(el("li", "scout-tag", termLabel("terrain", t))); });
      detailBody.appendChild(tags);
      if ((p.facility_status || []).length) detailBody.appendChild(facilityList(p.facility_status));

      var facts = el("dl", "scout-facts");
      // The server words it: at an estimated point it says the elevation is the site's, not the point's.
      definition(facts, M.elevationM, zh ? p.elevation_label_zh : p.elevation_label_en);
      definition(facts, M.seasons, (p.best_seasons || []).map(function (s) { return termLabel("season", s); }).join("、"));
      definition(facts, M.accuracy, accuracyText(p));
      if (!p.verified) definition(facts, "⚠", M.unverified);
      detailBody.appendChild(facts);
      var source = el("details", "scout-source");
      source.appendChild(el("summary", null, M.source));
      source.appendChild(el("p", null, p.coord_source));
      if (p.facts_source) source.appendChild(el("p", null, p.facts_source));
      detailBody.appendChild(source);

      // Staff-only notes and the history reach the page only for a signed-in planner.
      if (p.permit_notes || p.contact_notes || d.history_url) {
        var staff = section(M.staffOnly);
        if (p.permit_notes) staff.appendChild(el("p", "scout-permit", M.permits + ": " + p.permit_notes));
        if (p.contact_notes) staff.appendChild(el("p", "scout-contact", M.contacts + ": " + p.contact_notes));
        [[d.edit_url, M.edit, "scout-edit"], [d.history_url, M.history, "scout-history"]].forEach(function (link) {
          if (!link[0]) return;
          var a = el("a", link[2], link[1]);
          a.href = link[0];
          staff.appendChild(a);
          staff.appendChild(document.createTextNode(" "));
        });
        detailBody.appendChild(staff);
      }

      var suggest = el("a", "scout-suggest-correction", M.suggestCorrection);
      suggest.href = settings.api.suggest + "?site=" + f.id;
      detailBody.appendChild(suggest);

      var description = localText(p, "description");
      if (description) { var ds = section(M.description); ds.appendChild(el("p", null, description)); detailBody.appendChild(ds); }
      var access = localText(p, "access_notes");
      if (access) { var as = section(M.access); as.appendChild(el("p", null, access)); detailBody.appendChild(as); }

      var pos = section(M.position);
      pos.appendChild(copyRow("WGS-84 (lat, lon)", d.coordinates.wgs84[1], d.coordinates.wgs84[0]));
      pos.appendChild(copyRow("GCJ-02 (lat, lon)", d.coordinates.gcj02[1], d.coordinates.gcj02[0]));
      var nav = el("p", "scout-navigate");
      nav.appendChild(el("span", null, M.navigate + ": "));
      [["amap", M.amap], ["baidu", M.baidu]].forEach(function (pair) {
        var a = el("a", "scout-nav-" + pair[0], pair[1]);
        a.href = d.navigation[pair[0]];
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        nav.appendChild(a);
        nav.appendChild(document.createTextNode(" "));
      });
      pos.appendChild(nav);
      var seat = d.from_county_seat;
      pos.appendChild(el("p", "scout-from-seat", M.fromSeat + ": " + formatDistance(seat.distance_m, M) + ", " +
        (zh ? seat.compass_zh : seat.compass_en) + " (" + Math.round(seat.bearing_deg) + "°)"));
      detailBody.appendChild(pos);

      detailBody.appendChild(sunSection(d.sun, f.id));
    }

    function sunSection(sun, id) {
      var s = section(M.sun);
      var dateLabel = el("label", "scout-sun-date");
      dateLabel.appendChild(el("span", null, M.date + " "));
      var input = el("input");
      input.type = "date";
      input.value = sun.date;
      input.id = "scout-sun-date";
      input.addEventListener("change", function () {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(input.value)) return;
        state.date = input.value;
        openSite(id, { from: "date" });
      });
      dateLabel.appendChild(input);
      s.appendChild(dateLabel);
      if (sun.polar) {
        s.appendChild(el("p", null, sun.polar === "day" ? M.polarDay : M.polarNight));
        return s;
      }
      var table = el("table", "scout-sun");
      var body = el("tbody");
      sun.events.forEach(function (e) {
        var tr = el("tr");
        tr.setAttribute("data-event", e.name);
        tr.appendChild(el("th", null, M["sun_" + e.name] || e.name));
        tr.appendChild(el("td", null, e.time.slice(11, 16)));
        tr.appendChild(el("td", null, M.azimuth + " " + Math.round(e.azimuth_deg) + "°"));
        body.appendChild(tr);
      });
      table.appendChild(body);
      s.appendChild(table);
      s.appendChild(el("p", "scout-muted", M.flatHorizon));
      return s;
    }

    // ---------------------------------------------------------------- the pack being put together

    // A draft pack lives in this browser (localStorage) until "create share link" sends it.
    var PACK_KEY = "wenchengScout.packDraft";
    var draft = (function () {
      try { return JSON.parse(window.localStorage.getItem(PACK_KEY)) || { items: [] }; } catch (e) { return { items: [] }; }
    })();
    var draftNames = {};

    function saveDraft() {
      try { window.localStorage.setItem(PACK_KEY, JSON.stringify(draft)); } catch (e) { /* private mode: keep in memory */ }
      renderDraft();
    }

    function inDraft(id) { return draft.items.some(function (i) { return i.id === id; }); }

    function toggleInDraft(id, name) {
      if (inDraft(id)) draft.items = draft.items.filter(function (i) { return i.id !== id; });
      else draft.items.push({ id: id, note: "" });
      if (name) draftNames[id] = name;
      saveDraft();
    }

    function renderDraft() {
      var box = byId("scout-pack"), list = byId("scout-pack-items");
      box.hidden = draft.items.length === 0;
      byId("scout-pack-count").textContent = "(" + draft.items.length + ")";
      list.textContent = "";
      draft.items.forEach(function (item, index) {
        var li = el("li", "scout-pack-item");
        li.setAttribute("data-site-id", item.id);
        var marker = markers[item.id];
        var name = draftNames[item.id] || (marker ? primaryName(marker.feature.properties) : "#" + item.id);
        li.appendChild(el("span", "scout-pack-name", name));
        var note = el("textarea", "scout-pack-note");
        note.rows = 2;
        note.maxLength = 2000;
        note.placeholder = M.noteFor;
        note.setAttribute("aria-label", M.noteFor + ": " + name);
        note.value = item.note || "";
        note.addEventListener("input", function () {
          item.note = note.value;
          try { window.localStorage.setItem(PACK_KEY, JSON.stringify(draft)); } catch (e) { /* ignore */ }
        });
        li.appendChild(note);
        var tools = el("span", "scout-pack-tools");
        [[M.moveUp, "↑", -1], [M.moveDown, "↓", 1]].forEach(function (spec) {
          var b = el("button", null, spec[1]);
          b.type = "button";
          b.title = spec[0];
          b.setAttribute("aria-label", spec[0] + ": " + name);
          b.disabled = index + spec[2] < 0 || index + spec[2] >= draft.items.length;
          b.addEventListener("click", function () {
            var other = index + spec[2];
            draft.items[index] = draft.items[other];
            draft.items[other] = item;
            saveDraft();
          });
          tools.appendChild(b);
        });
        var remove = el("button", null, "×");
        remove.type = "button";
        remove.title = M.remove;
        remove.setAttribute("aria-label", M.remove + ": " + name);
        remove.addEventListener("click", function () { toggleInDraft(item.id); });
        tools.appendChild(remove);
        li.appendChild(tools);
        list.appendChild(li);
      });
      byId("scout-pack-name").value = draft.name || "";
      byId("scout-pack-shoot").value = draft.shoot_date || "";
      byId("scout-pack-expires").value = draft.expires_on || "";
      document.querySelectorAll(".scout-pack-toggle").forEach(function (b) {
        var id = +b.getAttribute("data-site-id");
        b.textContent = inDraft(id) ? M.removeFromPack : M.addToPack;
        b.setAttribute("aria-pressed", inDraft(id) ? "true" : "false");
      });
    }

    ["name", "shoot", "expires"].forEach(function (field) {
      byId("scout-pack-" + field).addEventListener("change", function (e) {
        draft[{ name: "name", shoot: "shoot_date", expires: "expires_on" }[field]] = e.target.value;
        saveDraft();
      });
    });
    byId("scout-pack-clear").addEventListener("click", function () {
      draft = { items: [] };
      byId("scout-pack-result").textContent = "";
      saveDraft();
    });
    byId("scout-pack-create").addEventListener("click", function () {
      var result = byId("scout-pack-result");
      draft.name = byId("scout-pack-name").value.trim();
      if (!draft.name) { result.textContent = M.packNeedsName; byId("scout-pack-name").focus(); return; }
      var notes = {};
      draft.items.forEach(function (i) { if (i.note && i.note.trim()) notes[i.id] = i.note.trim(); });
      var body = { name: draft.name, site_ids: draft.items.map(function (i) { return i.id; }), notes: notes };
      if (draft.shoot_date) body.shoot_date = draft.shoot_date;
      if (draft.expires_on) body.expires_on = draft.expires_on;
      fetch(settings.api.packs, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.detail || r.status); return b; }); })
        .then(function (pack) {
          // The edit token is shown once: keep it in this browser so its maker can change the pack later.
          try {
            var tokens = JSON.parse(window.localStorage.getItem("wenchengScout.editTokens") || "{}");
            tokens[pack.id] = pack.edit_token;
            window.localStorage.setItem("wenchengScout.editTokens", JSON.stringify(tokens));
          } catch (e) { /* ignore */ }
          result.textContent = M.packCreated + " ";
          var a = el("a", "scout-pack-link", pack.share_url);
          a.href = pack.share_url;
          result.appendChild(a);
        })
        .catch(function (err) { result.textContent = M.loadFailed + " " + err.message; });
    });

    // ---------------------------------------------------------------- legend

    // The ten bases with their number, colour and theme, and switches for the two point layers.
    function addLegend(features, basesLayer) {
      var legend = L.control({ position: "bottomleft" });
      legend.onAdd = function () {
        var box = el("details", "scout-legend leaflet-control");
        box.open = window.matchMedia("(min-width: 761px)").matches;
        box.appendChild(el("summary", null, M.legend));
        var list = el("ol", "scout-legend-bases");
        features.forEach(function (f) {
          var p = f.properties, li = el("li");
          var badge = el("span", "scout-legend-badge", p.number);
          badge.style.background = GENRE_COLOURS[p.genres[0]] || "#555";
          li.appendChild(badge);
          li.appendChild(el("span", null, p.genres.map(function (g) { return termLabel("genre", g); }).join(" / ") +
            " · " + (p.towns || []).join("、")));
          list.appendChild(li);
        });
        box.appendChild(list);
        var key = el("p", "scout-legend-key");
        var dot = el("span", "scout-legend-dot", zh ? "自" : "N");
        dot.style.background = GENRE_COLOURS.nature;
        key.appendChild(dot);
        key.appendChild(el("span", null, M.legendSite));
        box.appendChild(key);
        [[M.showBases, [basesLayer]], [M.showSites, [siteCluster, serverClusters]]].forEach(function (pair) {
          var label = el("label", "scout-legend-toggle"), input = el("input");
          input.type = "checkbox";
          input.checked = true;
          input.addEventListener("change", function () {
            pair[1].forEach(function (layer) { if (input.checked) map.addLayer(layer); else map.removeLayer(layer); });
          });
          label.appendChild(input);
          label.appendChild(el("span", null, " " + pair[0]));
          box.appendChild(label);
        });
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      };
      legend.addTo(map);
    }

    // ---------------------------------------------------------------- phone layout

    var toggle = byId("scout-panel-toggle");
    // On a phone the panel slides over the map; choosing a site closes it so the map shows the site.
    function setPanelOpen(open) {
      document.body.classList.toggle("panel-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      setTimeout(function () { map.invalidateSize(); }, 50);
    }
    toggle.addEventListener("click", function () { setPanelOpen(!document.body.classList.contains("panel-open")); });

    // ---------------------------------------------------------------- start

    // In "view" mode the map is not ready from the moment it starts moving until the new view's clusters are in.
    map.on("movestart zoomstart", function () { if (status.mode === "view") status.ready = false; });
    map.on("moveend", function () {
      var c = map.getCenter();
      state.view = { zoom: map.getZoom(), lat: c.lat, lng: c.lng };
      writeUrl(state);
      if (status.mode === "view") status.ready = false;
      reloadView();
    });

    var vocabReady = getJSON(settings.api.vocabulary).then(function (v) {
      vocab = { genre: {}, terrain: {}, facility: {}, season: {}, facilityIcons: v.facility_icons || {} };
      v.genres.forEach(function (t) { vocab.genre[t.slug] = t; });
      v.terrain.forEach(function (t) { vocab.terrain[t.slug] = t; });
      v.facilities.forEach(function (t) { vocab.facility[t.slug] = t; });
      v.seasons.forEach(function (t) { vocab.season[t.slug] = t; });
    });

    var outline = getJSON(settings.api.boundary).then(function (fc) {
      var layer = L.geoJSON(fc, { style: { color: "#c0392b", weight: 2, dashArray: "6 4", fillOpacity: 0.02 },
        interactive: false }).addTo(map);
      if (!state.view && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
    });

    var basesReady = Promise.all([vocabReady, getJSON(settings.api.bases)]).then(function (results) {
      var fc = results[1];
      var select = byId("scout-base");
      fc.features.forEach(function (f) {
        bases[f.properties.slug] = f.properties;
        var option = el("option", null, f.properties.number + ". " + primaryName(f.properties));
        option.value = f.properties.slug;
        select.appendChild(option);
      });
      var basesLayer = L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          return L.marker(latlng, { icon: baseIcon(f.properties), title: primaryName(f.properties), keyboard: true,
            zIndexOffset: 1000 });
        },
        onEachFeature: function (f, layer) { layer.bindPopup(basePopup(f)); }
      }).addTo(map);
      status.basesDrawn = fc.features.length;
      addLegend(fc.features, basesLayer);
    });

    // Planners also see the suggestions waiting for review.
    if (settings.api.suggestions) {
      getJSON(settings.api.suggestions).then(function (fc) {
        L.geoJSON(fc, {
          pointToLayer: function (f, latlng) {
            return L.marker(latlng, { icon: L.divIcon({ html: el("span", "scout-suggestion-dot", "?"), className: "scout-site-icon",
              iconSize: [22, 22], iconAnchor: [11, 11] }), title: M.suggestion });
          },
          onEachFeature: function (f, layer) {
            var box = el("div");
            box.appendChild(el("strong", null, M.suggestion + (f.properties.name ? ": " + f.properties.name : "")));
            box.appendChild(el("p", null, f.properties.message));
            var a = el("a", null, M.review);
            a.href = f.properties.review_url;
            box.appendChild(a);
            layer.bindPopup(box);
          }
        }).addTo(map);
      }).catch(function () { /* the review list still has them */ });
    }

    // At once, not animated: the first view's data is asked for right below, for this view.
    if (state.view) map.setView([state.view.lat, state.view.lng], state.view.zoom, { animate: false });
    if (state.layer) useBasemap(state.layer);
    prefetchFirstView();

    Promise.all([vocabReady, basesReady, outline]).then(function () {
      formFromState();
      return refresh();
    }).then(function () {
      if (state.site) openSite(state.site, { from: "url" });
    }).catch(function (err) {
      setCount(M.loadFailed + " " + err.message);
    });

    var app = { map: map, state: state, status: status, draft: function () { return draft; }, useBasemap: useBasemap, openSite: openSite,
      setFilters: setFilters, markers: function () { return markers; }, cluster: siteCluster, serverClusters: serverClusters };
    window.WenchengScout.app = app;
    window.WenchengScout.state = status;
    return app;
  }

  window.WenchengScout = { mount: mount, state: null, app: null };
})();
