"""The folium map builder: base layers, controls and plugins, with every asset served from static/vendor/.

folium's defaults load Leaflet, jQuery, Bootstrap and each plugin's files from CDNs.  They are
replaced on each instance (never on the class, which would change every map in the process) by
local files.  Feature data is not embedded: the map's modules (static/js/map/, entry main.js) fetch it
from the JSON API.  What the page needs to know of the API's rules (the filter parameters) is passed to
it from scouting/search.py, never copied into the script.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import folium
from branca.element import MacroElement
from flask import current_app, url_for
from flask_babel import gettext as _
from folium import plugins
from folium.elements import JSCSSMixin
from folium.utilities import JsCode
from jinja2 import Template

from .request_args import LIST_PARAMETERS
from .search import FILTER_PARAMETERS, MEMBERS_ZOOM

# The county seat (大峃镇, from reference/places.csv) and a zoom that shows the whole county.
WENCHENG_CENTER = (27.7922, 120.0878)
WENCHENG_ZOOM = 11
REDUCED_MOTION = "(prefers-reduced-motion: reduce)"  # the media query of a reader who asked for less motion


def N_(message: str) -> str:
    """Mark a string for translation where it is defined; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Basemap:
    key: str            # the `layer=` value in page URLs
    name: str           # English source string, translated at render time
    urls: tuple[str, ...]  # one tile layer, or a base and a label layer drawn together
    attribution: str
    coord_system: str = "wgs84"  # "gcj02": tiles are offset; the map shifts every overlay to match
    subdomains: str = "abc"
    max_zoom: int = 18
    needs_key: bool = False


_TIANDITU = ("https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=%s"
             "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
_TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a>'
_AMAP_ATTR = '&copy; <a href="https://www.amap.com/">高德地图 Amap</a>'

BASEMAPS = (
    Basemap("osm", N_("OpenStreetMap"), ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",),
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
            subdomains="", max_zoom=19),
    Basemap("satellite", N_("Satellite (Esri)"),
            ("https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",),
            "Tiles &copy; Esri &mdash; Esri, Maxar, Earthstar Geographics", subdomains="", max_zoom=18),
    Basemap("topo", N_("Topographic (OpenTopoMap)"), ("https://{s}.tile.opentopomap.org/{z}/{x}/{y}.png",),
            'Map data &copy; OpenStreetMap contributors, SRTM | style &copy; <a href="https://opentopomap.org">OpenTopoMap</a> '
            "(CC-BY-SA)", max_zoom=17),
    Basemap("tianditu", N_("Tianditu map (天地图)"), (_TIANDITU % ("vec", "vec"), _TIANDITU % ("cva", "cva")),
            _TIANDITU_ATTR, subdomains="01234567", needs_key=True),
    Basemap("tianditu-img", N_("Tianditu imagery (天地图影像)"), (_TIANDITU % ("img", "img"), _TIANDITU % ("cia", "cia")),
            _TIANDITU_ATTR, subdomains="01234567", needs_key=True),
    Basemap("amap", N_("Amap (高德地图)"),
            ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",),
            _AMAP_ATTR, coord_system="gcj02", subdomains="1234"),
    Basemap("amap-satellite", N_("Amap imagery (高德影像)"),
            ("https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",),
            _AMAP_ATTR, coord_system="gcj02", subdomains="1234"),
)

# Every host a basemap loads tiles from (the browser tests block exactly these).
TILE_HOSTS = {
    "tile.openstreetmap.org", "server.arcgisonline.com",
    *(f"{s}.tile.opentopomap.org" for s in "abc"),
    *(f"t{s}.tianditu.gov.cn" for s in range(8)),
    *(f"webrd0{s}.is.autonavi.com" for s in range(1, 5)),
    *(f"webst0{s}.is.autonavi.com" for s in range(1, 5)),
}


class ScoutLayers(JSCSSMixin, MacroElement):
    """County outline, bases, clustered sites, filters and details: static/js/map/ on the JSON API.

    The map's code is ES modules, which the browser runs deferred, after this inline script: the script
    mounts at once when main.js is already there, else leaves the map and settings for main.js to mount.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            {% for url in this.preload_urls %}<link rel="modulepreload" href="{{ url }}">
            {% endfor %}<script type="module" src="{{ this.module_url }}"></script>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function (scout, map, settings) {
              if (scout.mount) scout.mount(map, settings);
              else scout.pending = [map, settings];
            })(window.WenchengScout || (window.WenchengScout = {state: null, app: null}),
               {{ this._parent.get_name() }}, {{ this.settings|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, settings: dict, module_url: str, preload_urls: list[str], js: list[tuple[str, str]],
                 css: list[tuple[str, str]]):
        super().__init__()
        self._name = "ScoutLayers"
        self.settings = settings
        self.module_url = module_url
        # Every module fetched at once, beside the classic scripts, not when its importer has arrived.
        self.preload_urls = preload_urls
        self.default_js = js
        self.default_css = css


class MeasureTool(JSCSSMixin, MacroElement):
    """Distance and area measuring (static/js/scout-measure.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            WenchengMeasure.add({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, options: dict, js: list[tuple[str, str]]):
        super().__init__()
        self._name = "MeasureTool"
        self.options = options
        self.default_js = js


class PackLayer(JSCSSMixin, MacroElement):
    """A pack's sites on its share page, fetched from the pack API."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            WenchengPack.mount({{ this._parent.get_name() }}, {{ this.settings|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, settings: dict, js: list[tuple[str, str]]):
        super().__init__()
        self._name = "PackLayer"
        self.settings = settings
        self.default_js = js


def _vendor(path: str) -> str:
    return url_for("static", filename=f"vendor/{path}")


def _local_assets(element, js: dict[str, str], css: dict[str, str]):
    """Point a folium element's JS/CSS at static/vendor/ (per instance, never on the class)."""
    element.default_js = [(name, _vendor(path)) for name, path in js.items()]
    element.default_css = [(name, _vendor(path)) for name, path in css.items()]
    return element


def _add_basemap(fmap: folium.Map, basemap: Basemap, tianditu_key: str | None, show: bool) -> None:
    options = {"layer_key": basemap.key, "coord_system": basemap.coord_system, "max_zoom": basemap.max_zoom,
               "attr": basemap.attribution}
    if basemap.subdomains:
        options["subdomains"] = basemap.subdomains
    urls = [u.replace("{key}", tianditu_key or "") for u in basemap.urls]
    if len(urls) == 1:
        folium.TileLayer(urls[0], name=_(basemap.name), overlay=False, control=True, show=show, **options).add_to(fmap)
        return
    # A map and its label tiles switch together as one base layer.
    group = folium.FeatureGroup(name=_(basemap.name), overlay=False, control=True, show=show, layer_key=basemap.key,
                                coord_system=basemap.coord_system)
    for url in urls:
        folium.TileLayer(url, overlay=True, control=False, **options).add_to(group)
    group.add_to(fmap)


def _new_map(tianditu_key: str | None, first: Basemap | None = None) -> folium.Map:
    """A map centred on Wencheng with local Leaflet and every basemap the configuration allows."""
    # An explicit zoom range: with no tile layer on the map for a moment (while basemaps swap) Leaflet's
    # max zoom would be Infinity, and the marker clusterer would loop over every zoom level forever.
    # A reader who asked their system for less motion (prefers-reduced-motion) gets zooms and fades without
    # animation (WCAG 2.3.3); the browser decides, as the page loads.
    still = JsCode(f"!matchMedia({json.dumps(REDUCED_MOTION)}).matches")
    fmap = folium.Map(location=WENCHENG_CENTER, zoom_start=WENCHENG_ZOOM, tiles=None, control_scale=True,
                      zoom_control=True, min_zoom=3, max_zoom=19, zoom_animation=still, fade_animation=still,
                      marker_zoom_animation=still)
    _local_assets(fmap, {"leaflet": "leaflet/leaflet.js"}, {"leaflet_css": "leaflet/leaflet.css"})
    basemaps = ([first] if first else []) + [b for b in BASEMAPS if tianditu_key or not b.needs_key]
    for i, basemap in enumerate(basemaps):
        _add_basemap(fmap, basemap, tianditu_key, show=i == 0)
    return fmap


def _parts(fmap: folium.Map) -> dict[str, str]:
    root = fmap.get_root()
    root.render()
    return {"map_header": root.header.render(), "map_body": root.html.render(), "map_script": root.script.render()}


def build_pack_map(pack_api_url: str, tianditu_key: str | None, offline_basemap: Basemap | None = None) -> dict[str, str]:
    """The pack page's map: the pack's sites, numbered in pack order (static/js/pack-map.js).  With an offline
    basemap (a tile source that allows offline copies) it is the first layer shown: a saved pack holds its tiles."""
    fmap = _new_map(tianditu_key, offline_basemap)
    folium.LayerControl(position="topright", collapsed=True).add_to(fmap)
    PackLayer({"pack": pack_api_url, "boundary": url_for("api.boundary")},
              js=[("gcoord", _vendor("gcoord/gcoord.global.prod.js")),
                  ("scout_crs", url_for("static", filename="js/scout-crs.js")),
                  ("pack_map", url_for("static", filename="js/pack-map.js"))]).add_to(fmap)
    return _parts(fmap)


def build_map(tianditu_key: str | None, language: str, messages: dict[str, str],
              suggestions_url: str | None = None) -> dict[str, str]:
    """The map's three parts for templates/map.html: header (CSS/JS links), body (the div), script."""
    fmap = _new_map(tianditu_key)

    drawn = folium.FeatureGroup(name=_("Drawn area"), control=False).add_to(fmap)
    draw = plugins.Draw(
        feature_group=drawn, position="topleft",
        draw_options={"polyline": False, "circle": False, "marker": False, "circlemarker": False,
                      "polygon": {"allowIntersection": False, "showArea": True}, "rectangle": {}},
        edit_options={"edit": False, "remove": False},
    )
    _local_assets(draw, {"leaflet_draw_js": "draw/leaflet.draw.js"}, {"leaflet_draw_css": "draw/leaflet.draw.css"})
    draw.add_to(fmap)

    fullscreen = plugins.Fullscreen(position="topleft", title=_("Full screen"), title_cancel=_("Exit full screen"))
    _local_assets(fullscreen, {"Control.Fullscreen.js": "fullscreen/Control.FullScreen.js"},
                  {"Control.FullScreen.css": "fullscreen/Control.FullScreen.css"})
    fullscreen.add_to(fmap)

    locate = plugins.LocateControl(position="topleft", strings={"title": _("Show my location")}, flyTo=True,
                                   showPopup=False)
    _local_assets(locate, {"Control_locate_min_js": "locate/L.Control.Locate.min.js"},
                  {"Control_locate_min_css": "locate/L.Control.Locate.min.css"})
    locate.add_to(fmap)

    # Our own measuring tool on Leaflet.draw (loaded above): leaflet-measure needs 'unsafe-eval'.
    MeasureTool({"messages": {"measureDistance": _("Measure a distance"), "measureArea": _("Measure an area"),
                              "clearMeasurements": _("Clear the measurements")}},
                js=[("scout_measure", url_for("static", filename="js/scout-measure.js"))]).add_to(fmap)

    minimap_tiles = folium.TileLayer(BASEMAPS[0].urls[0], attr=BASEMAPS[0].attribution)
    minimap = plugins.MiniMap(tile_layer=minimap_tiles, position="bottomright", toggle_display=True,
                              zoom_level_offset=-5, width=140, height=140)
    _local_assets(minimap, {"Control_MiniMap_js": "minimap/Control.MiniMap.min.js"},
                  {"Control_MiniMap_css": "minimap/Control.MiniMap.min.css"})
    minimap.add_to(fmap)

    layer_control = folium.LayerControl(position="topright", collapsed=True).add_to(fmap)

    settings = {
        "lang": language,
        "messages": messages,
        "drawnLayer": drawn.get_name(),
        "layerControl": layer_control.get_name(),
        "center": WENCHENG_CENTER,
        "miniMap": minimap.get_name(),
        # A view a link gives is kept inside these (a degree and a half round the county) and the map's zoom range.
        "viewBounds": [[WENCHENG_CENTER[0] - 1.5, WENCHENG_CENTER[1] - 1.5], [WENCHENG_CENTER[0] + 1.5, WENCHENG_CENTER[1] + 1.5]],
        "listParams": list(LIST_PARAMETERS),
        "api": {
            "sites": url_for("api.list_sites"),
            "facets": url_for("api.site_facets"),
            "clusters": url_for("api.site_clusters"),
            "packs": url_for("packs.create_pack"),
            "suggest": url_for("planner.suggest"),
            "site": url_for("api.show_site", site_id=0).rsplit("/0", 1)[0],
            "bases": url_for("api.list_bases"),
            "boundary": url_for("api.boundary"),
            "vocabulary": url_for("api.vocabulary"),
        },
        "pageSize": 1000,
        # Above this many matches the page stops loading every site: the server clusters the view
        # (/api/sites/clusters) and the list pages through the sites in view.
        "clusterThreshold": 2000,
        "listPageSize": 100,
        "membersZoom": MEMBERS_ZOOM,
        # Each filter's URL parameters, e.g. near: [near, radius_km] (the URL state and "clear this filter").
        "filters": {name: list(params) for name, params in FILTER_PARAMETERS.items()},
    }
    if suggestions_url:
        settings["api"]["suggestions"] = suggestions_url
    ScoutLayers(
        settings,
        js=[("markercluster", _vendor("markercluster/leaflet.markercluster.js")),
            ("gcoord", _vendor("gcoord/gcoord.global.prod.js")),
            ("scout_crs", url_for("static", filename="js/scout-crs.js"))],
        module_url=url_for("static", filename="js/map/main.js"),
        preload_urls=[url_for("static", filename=f"js/map/{path.name}")
                      for path in sorted((Path(current_app.static_folder) / "js" / "map").glob("*.js"))
                      if path.name != "main.js"],
        css=[("markercluster_css", _vendor("markercluster/MarkerCluster.css")),
             ("markercluster_default_css", _vendor("markercluster/MarkerCluster.Default.css"))],
    ).add_to(fmap)

    return _parts(fmap)
