/* The position picker of the site form: a click or a drag writes WGS-84 into the form. */
(function () {
  "use strict";
  // After a refused save: each summary link moves the focus to its field, and the first field with an error has it.
  function target(link) {
    var el = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    return el && el.tagName === "FIELDSET" ? (el.querySelector("input, select, textarea") || el) : el;
  }
  var links = document.querySelectorAll(".scout-error-summary a[href^='#']");
  Array.prototype.forEach.call(links, function (link) {
    link.addEventListener("click", function (event) {
      var el = target(link);
      if (!el) return;
      event.preventDefault();
      el.focus();
      el.scrollIntoView({ block: "center" });
    });
  });
  var first = links.length ? target(links[0]) : null;
  if (first) first.focus();
  else if (document.getElementById("error-summary")) document.getElementById("error-summary").focus();
})();

(function () {
  "use strict";
  var box = document.getElementById("site-form-map");
  if (!box || !window.L) return;
  var lon = document.getElementById("lon"), lat = document.getElementById("lat"), datum = document.getElementById("datum");
  var map = L.map(box).setView([27.79, 120.09], 10);
  L.tileLayer(box.getAttribute("data-tiles"), { maxZoom: 19, attribution: "&copy; OpenStreetMap contributors" }).addTo(map);
  fetch(box.getAttribute("data-boundary")).then(function (r) { return r.json(); }).then(function (fc) {
    L.geoJSON(fc, { style: { color: "#c0392b", weight: 2, dashArray: "6 4", fillOpacity: 0.02 }, interactive: false }).addTo(map);
  });
  var marker = null;

  function set(latlng) {
    // A picked point is WGS-84 (this map's basemap is OpenStreetMap).
    datum.value = "wgs84";
    lon.value = latlng.lng.toFixed(7);
    lat.value = latlng.lat.toFixed(7);
    place(latlng);
  }

  function place(latlng) {
    if (!marker) {
      marker = L.marker(latlng, { draggable: true, keyboard: true }).addTo(map);
      marker.on("dragend", function () { set(marker.getLatLng()); });
    } else {
      marker.setLatLng(latlng);
    }
  }

  map.on("click", function (e) { set(e.latlng); });
  var x = parseFloat(lon.value), y = parseFloat(lat.value);
  if (isFinite(x) && isFinite(y) && datum.value === "wgs84") {
    place(L.latLng(y, x));
    map.setView([y, x], 13);
  }
})();
