/* Wencheng Scout map layers: county outline, themed bases and sites, fetched from the JSON API.
 * Every string that comes from the data is put on the page as text (textContent), never as HTML. */
(function () {
  "use strict";

  // One colour per theme genre; the base badge also carries the base's number, so colour is never the only cue.
  var GENRE_COLOURS = {
    costume: "#b03a2e", ming_qing: "#7d5a3c", period: "#6c7a89", youth: "#e67e22", wedding: "#d6336c",
    ethnic: "#16a085", red: "#c0392b", nature: "#2e8b57", religious: "#8e44ad", wuxia: "#34495e",
    historical: "#a67c00", documentary: "#2c3e50", commercial: "#1f77b4", fashion: "#ff69b4",
    public_welfare: "#27ae60", music_video: "#9b59b6"
  };

  function colourOf(genres) {
    return (genres && GENRE_COLOURS[genres[0]]) || "#555555";
  }

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

  // Follow the API's `next` links until every matching feature has arrived.
  function getAllFeatures(url, features) {
    features = features || [];
    return getJSON(url).then(function (page) {
      features.push.apply(features, page.features);
      var next = (page.links || []).filter(function (l) { return l.rel === "next"; })[0];
      return next ? getAllFeatures(next.href, features) : { features: features, numberMatched: page.numberMatched };
    });
  }

  function accuracyText(p) {
    var metres = p.coord_accuracy_m;
    var amount = metres >= 1000 ? "±" + (metres / 1000).toFixed(metres % 1000 ? 1 : 0) + " km" : "±" + metres + " m";
    return (p.approximate ? "位置为近似 approximate, " : "") + amount + " · " + (p.position_method_zh || "") +
      " " + (p.position_method_en || "");
  }

  function sitePopup(feature, vocab) {
    var p = feature.properties;
    var box = el("div", "scout-popup");
    box.appendChild(el("h3", null, p.name_zh));
    box.appendChild(el("p", "scout-popup-en", p.name_en));
    if (p.base_name_zh) box.appendChild(el("p", "scout-popup-base", p.base_name_zh + " · " + p.base_name_en));
    var genres = (p.genres || []).map(function (g) {
      var t = vocab.genres[g];
      return t ? t.zh + " " + t.en : g;
    });
    if (genres.length) box.appendChild(el("p", "scout-popup-genres", genres.join(" / ")));
    box.appendChild(el("p", "scout-popup-accuracy", accuracyText(p)));
    return box;
  }

  function basePopup(feature) {
    var p = feature.properties;
    var box = el("div", "scout-popup");
    box.appendChild(el("h3", null, p.number + ". " + p.name_zh));
    box.appendChild(el("p", "scout-popup-en", p.name_en));
    box.appendChild(el("p", "scout-popup-genres", (p.genre_labels || []).map(function (g) {
      return g.zh + " " + g.en;
    }).join(" / ")));
    box.appendChild(el("p", null, (p.towns || []).join("、")));
    box.appendChild(el("p", "scout-popup-accuracy", accuracyText(p)));
    return box;
  }

  function baseIcon(p) {
    var badge = el("span", "scout-base-badge", p.number);
    badge.style.background = colourOf(p.genres);
    badge.title = p.name_zh + " · " + p.name_en;
    return L.divIcon({ html: badge, className: "scout-base-icon", iconSize: [26, 26], iconAnchor: [13, 13] });
  }

  function setStatus(text) {
    var node = document.getElementById("scout-status");
    if (node) node.textContent = text;
  }

  function mount(map, settings) {
    var state = { sitesDrawn: 0, basesDrawn: 0, numberMatched: null, ready: false };
    var accuracyCircle = null;

    var vocabReady = getJSON(settings.api.vocabulary).then(function (v) {
      var index = { genres: {} };
      v.genres.forEach(function (t) { index.genres[t.slug] = t; });
      return index;
    });

    var outline = getJSON(settings.api.boundary).then(function (fc) {
      var layer = L.geoJSON(fc, {
        style: { color: "#c0392b", weight: 2, dashArray: "6 4", fillOpacity: 0.03 },
        interactive: false
      }).addTo(map);
      if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
    });

    var bases = getJSON(settings.api.bases).then(function (fc) {
      L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          return L.marker(latlng, { icon: baseIcon(f.properties), title: f.properties.name_zh, keyboard: true });
        },
        onEachFeature: function (f, layer) { layer.bindPopup(basePopup(f)); }
      }).addTo(map);
      state.basesDrawn = fc.features.length;
    });

    var sites = Promise.all([vocabReady, getAllFeatures(settings.api.sites + "?limit=" + settings.pageSize)])
      .then(function (results) {
        var vocab = results[0], data = results[1];
        L.geoJSON({ type: "FeatureCollection", features: data.features }, {
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, {
              radius: 7, weight: 2, color: "#ffffff", fillColor: colourOf(f.properties.genres), fillOpacity: 0.9,
              className: "scout-site scout-site-" + f.id
            });
          },
          onEachFeature: function (f, layer) {
            layer.bindPopup(sitePopup(f, vocab));
            layer.on("popupopen", function () {
              // Show how far the real place may be from the marker.
              accuracyCircle = L.circle(layer.getLatLng(), {
                radius: f.properties.coord_accuracy_m, color: "#555", weight: 1, dashArray: "4 4",
                fillOpacity: 0.05, interactive: false
              }).addTo(map);
            });
            layer.on("popupclose", function () {
              if (accuracyCircle) { map.removeLayer(accuracyCircle); accuracyCircle = null; }
            });
          }
        }).addTo(map);
        state.sitesDrawn = data.features.length;
        state.numberMatched = data.numberMatched;
      });

    Promise.all([outline, bases, sites]).then(function () {
      state.ready = true;
      setStatus(state.sitesDrawn + " 个外景地 sites · " + state.basesDrawn + " 个基地 bases");
    }).catch(function (err) {
      setStatus("数据加载失败 Could not load the data: " + err.message);
      throw err;
    });

    window.WenchengScout.state = state;
    return state;
  }

  window.WenchengScout = { mount: mount, state: null };
})();
