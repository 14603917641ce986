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
      // Sites placed at the same point (e.g. the same township seat) share one marker listing their numbers.
      var groups = {};
      results[1].sites.forEach(function (f) {
        var key = f.geometry.coordinates.join(",");
        (groups[key] = groups[key] || []).push(f);
      });
      Object.keys(groups).forEach(function (key) {
        var fs = groups[key];
        var numbers = fs.map(function (f) { return f.properties.pack_position; }).join("·");
        var badge = el("span", "pack-marker", numbers);
        badge.setAttribute("data-site-ids", fs.map(function (f) { return f.id; }).join(","));
        var width = 16 + 8 * numbers.length;
        var marker = L.marker([fs[0].geometry.coordinates[1], fs[0].geometry.coordinates[0]], {
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
        marker.bindPopup(popup);
        markers.addLayer(marker);
      });
      status.sitesDrawn = results[1].sites.length;
      map.invalidateSize();  // the page laid itself out after the map was made
      // Show the sites with some of the county around them (all of it when they share one point).
      var bounds = markers.getLayers().length ? markers.getBounds().pad(0.3) : outline.getBounds();
      if (bounds.getNorthEast().distanceTo(bounds.getSouthWest()) < 5000) bounds = outline.getBounds();
      map.fitBounds(bounds, { maxZoom: 13 });
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
