/* A pack's share page map: the county outline and the pack's sites numbered in pack order.
 * Names and notes are put on the page as text, never as HTML. */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(url + " answered " + r.status);
      return r.json();
    });
  }

  // The site's name in the page's language first, the other one second (a site may lack an English name).
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  function names(p) {
    return zh ? [p.name_zh, p.name_en] : [p.name_en || p.name_zh, p.name_en ? p.name_zh : null];
  }

  function mount(map, settings) {
    var status = { ready: false, sitesDrawn: 0 };
    window.WenchengPack.state = status;
    map.on("baselayerchange", function (e) { WenchengCRS.applyCrs(map, e.layer); });
    var markers = L.featureGroup().addTo(map);
    Promise.all([getJSON(settings.boundary), getJSON(settings.pack)]).then(function (results) {
      var outline = L.geoJSON(results[0], { style: { color: "#c0392b", weight: 2, dashArray: "6 4", fillOpacity: 0.02 },
        interactive: false }).addTo(map);
      // Sites whose numbers would cover each other at this zoom (the same township seat, or a few hundred
      // metres apart seen from afar) share one marker listing their numbers; regrouped when the zoom changes.
      var sites = results[1].sites;
      function marker(fs) {
        var numbers = fs.map(function (f) { return f.properties.pack_position; }).join("·");
        var badge = el("span", "pack-marker", numbers);
        badge.setAttribute("data-site-ids", fs.map(function (f) { return f.id; }).join(","));
        var width = 16 + 8 * numbers.length;
        var at = fs[0].geometry.coordinates;
        var m = L.marker([at[1], at[0]], {
          icon: L.divIcon({ html: badge, className: "pack-marker-icon", iconSize: [width, 24], iconAnchor: [width / 2, 12] }),
          title: fs.map(function (f) { return f.properties.pack_position + ". " + names(f.properties)[0]; }).join(" / ")
        });
        var popup = el("div");
        fs.forEach(function (f) {
          var p = f.properties;
          popup.appendChild(el("strong", null, p.pack_position + ". " + names(p)[0]));
          if (names(p)[1]) popup.appendChild(el("div", null, names(p)[1]));
          if (p.pack_note) popup.appendChild(el("p", null, p.pack_note));
        });
        m.bindPopup(popup);
        return m;
      }
      function draw() {
        var groups = [];  // {point, sites}: each site joins the first group whose marker it would overlap
        sites.forEach(function (f) {
          var c = f.geometry.coordinates, point = map.latLngToLayerPoint([c[1], c[0]]);
          var group = groups.filter(function (g) { return g.point.distanceTo(point) < 28; })[0];
          if (group) group.sites.push(f); else groups.push({ point: point, sites: [f] });
        });
        markers.clearLayers();
        groups.forEach(function (g) { markers.addLayer(marker(g.sites)); });
      }
      status.sitesDrawn = results[1].sites.length;
      map.invalidateSize();  // the page laid itself out after the map was made
      // Show the sites with some of the county around them (all of it when they share one point).
      var bounds = sites.length ? L.geoJSON({ type: "FeatureCollection", features: sites }).getBounds().pad(0.3)
        : outline.getBounds();
      if (bounds.getNorthEast().distanceTo(bounds.getSouthWest()) < 5000) bounds = outline.getBounds();
      map.fitBounds(bounds, { maxZoom: 13 });
      draw();
      map.on("zoomend", draw);
      status.ready = true;
    }).catch(function (err) {
      // Told in the page's language; the technical reason goes to the console.
      var box = document.getElementById("pack-map-error");
      if (box) box.textContent = box.getAttribute("data-message");
      if (window.console) console.warn(err);
    });
  }

  window.WenchengPack = { mount: mount, state: null };
})();
