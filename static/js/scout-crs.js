/* Chinese basemaps on a WGS-84 map, shared by the director's map and the pack page.
 *
 * Amap tiles are drawn in GCJ-02.  While such a basemap is shown the map uses a CRS that projects
 * through WGS-84 -> GCJ-02, so every overlay, drawn shape and click lines up with the tiles while
 * the coordinates the code sees (and sends) stay WGS-84.  A tile layer says which datum it is in
 * with the option coordSystem: "gcj02".
 */
(function () {
  "use strict";

  function wgsToGcj(lng, lat) { return gcoord.transform([lng, lat], gcoord.WGS84, gcoord.GCJ02); }

  // The inverse by fixed-point iteration on gcoord's forward transform.  gcoord's own inverse loops
  // until it converges, which it never does at the edge of its China box; ten steps reach < 1 mm.
  function gcjToWgs(lng, lat) {
    var x = lng, y = lat;
    for (var i = 0; i < 10; i++) {
      var g = wgsToGcj(x, y), dx = g[0] - lng, dy = g[1] - lat;
      x -= dx;
      y -= dy;
      if (Math.abs(dx) < 1e-9 && Math.abs(dy) < 1e-9) break;
    }
    return [x, y];
  }

  var MERCATOR = L.Projection.SphericalMercator;
  var GCJ_CRS = L.extend({}, L.CRS.EPSG3857, {
    code: "GCJ02-3857",
    projection: {
      bounds: MERCATOR.bounds,
      project: function (latlng) {
        var g = wgsToGcj(latlng.lng, latlng.lat);
        return MERCATOR.project(L.latLng(g[1], g[0]));
      },
      unproject: function (point) {
        var g = MERCATOR.unproject(point);
        var w = gcjToWgs(g.lng, g.lat);
        return L.latLng(w[1], w[0]);
      }
    }
  });

  // Use the CRS that fits `layer`; returns true when it changed.  Leaflet has no public CRS
  // switch: resetting the view re-projects every layer.
  function applyCrs(map, layer) {
    var wantGcj = !!(layer && layer.options && layer.options.coordSystem === "gcj02");
    var crs = wantGcj ? GCJ_CRS : L.CRS.EPSG3857;
    if (map.options.crs === crs) return false;
    var center = map.getCenter(), zoom = map.getZoom();
    map.options.crs = crs;
    map._resetView(center, zoom, true);
    return true;
  }

  function isGcj(map) { return map.options.crs === GCJ_CRS; }

  window.WenchengCRS = { applyCrs: applyCrs, isGcj: isGcj, wgsToGcj: wgsToGcj, gcjToWgs: gcjToWgs };
})();
