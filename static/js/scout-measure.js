/* Measure a distance or an area on the map, with Leaflet.draw's line and polygon tools.
 *
 * Replaces leaflet-measure, whose templates are compiled with `new Function` when it loads: that needs
 * 'unsafe-eval' in the Content-Security-Policy, which this app does not allow.  Leaflet.draw shows the
 * running length or area while drawing; a finished measurement stays on the map with its figure until
 * cleared.  Measurements never reach the filters: they are kept away from the map's draw:created event.
 */
(function () {
  "use strict";

  function measuringTool(Base, onDone) {
    return Base.extend({
      // Leaflet.draw announces a finished shape with map.fire("draw:created"), which the area filter
      // listens to.  A measurement hands its shape to onDone instead.
      _fireCreatedEvent: function () {
        onDone(this._poly.getLatLngs().slice());
      },
    });
  }

  function lineLength(latlngs) {
    var total = 0;
    for (var i = 1; i < latlngs.length; i++) total += latlngs[i - 1].distanceTo(latlngs[i]);
    return total;
  }

  function button(container, className, title, text, onClick) {
    var a = L.DomUtil.create("a", className, container);
    a.href = "#";
    a.setAttribute("role", "button");
    a.title = title;
    a.setAttribute("aria-label", title);
    a.textContent = text;
    L.DomEvent.on(a, "click", function (e) {
      L.DomEvent.preventDefault(e);
      L.DomEvent.stopPropagation(e);
      onClick();
    });
    return a;
  }

  var MeasureControl = L.Control.extend({
    options: { position: "topleft", messages: {} },

    onAdd: function (map) {
      var M = this.options.messages;
      var results = L.featureGroup().addTo(map);
      var style = { color: "#c0392b", weight: 3, dashArray: "6 4", fill: true, fillOpacity: 0.08 };
      var active = null;

      function show(layer, text) {
        layer.addTo(results).bindTooltip(text, { permanent: true, direction: "center", className: "scout-measure-result" });
      }
      var Line = measuringTool(L.Draw.Polyline, function (latlngs) {
        show(L.polyline(latlngs, style), L.GeometryUtil.readableDistance(lineLength(latlngs), true));
      });
      var Area = measuringTool(L.Draw.Polygon, function (latlngs) {
        show(L.polygon(latlngs, style), L.GeometryUtil.readableArea(L.GeometryUtil.geodesicArea(latlngs), true));
      });
      function start(Tool, options) {
        if (active) active.disable();
        active = new Tool(map, L.extend({ shapeOptions: style, metric: true }, options));
        active.enable();
        window.WenchengMeasure.active = active;
      }

      var container = L.DomUtil.create("div", "leaflet-bar leaflet-control scout-measure");
      button(container, "scout-measure-line", M.measureDistance, "📏", function () { start(Line, { showLength: true }); });
      button(container, "scout-measure-area", M.measureArea, "⬠", function () {
        start(Area, { showArea: true, showLength: true, allowIntersection: false });
      });
      button(container, "scout-measure-clear", M.clearMeasurements, "✕", function () {
        if (active) active.disable();
        results.clearLayers();
      });
      L.DomEvent.disableClickPropagation(container);
      this.results = results;
      return container;
    },
  });

  window.WenchengMeasure = {
    active: null,  // the tool being drawn with (for tests)
    add: function (map, options) {
      var control = new MeasureControl(options).addTo(map);
      map.scoutMeasure = control;
      return control;
    },
  };
})();
