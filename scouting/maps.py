"""The folium map builder: Leaflet with every asset served from static/vendor/, data fetched from the API.

folium's defaults load Leaflet, jQuery, Bootstrap and fonts from CDNs.  They are replaced on each
instance (never on the class, which would change every map in the process) by local files.
"""
from __future__ import annotations

import folium
from branca.element import MacroElement
from flask import url_for
from folium.elements import JSCSSMixin
from jinja2 import Template

# The county seat (大峃镇, from reference/places.csv) and a zoom that shows the whole county.
WENCHENG_CENTER = (27.7922, 120.0878)
WENCHENG_ZOOM = 11

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


class ScoutLayers(JSCSSMixin, MacroElement):
    """County outline, themed bases and sites, drawn by static/js/scout-map.js from the JSON API."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            WenchengScout.mount({{ this._parent.get_name() }}, {{ this.settings|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, settings: dict, script_url: str):
        super().__init__()
        self._name = "ScoutLayers"
        self.settings = settings
        self.default_js = [("scout_map", script_url)]


def _vendor(path: str) -> str:
    return url_for("static", filename=f"vendor/{path}")


def build_map() -> dict[str, str]:
    """The map's three parts for templates/map.html: header (CSS/JS links), body (the div), script."""
    fmap = folium.Map(location=WENCHENG_CENTER, zoom_start=WENCHENG_ZOOM, tiles=None, control_scale=True,
                      prefer_canvas=False)
    fmap.default_js = [("leaflet", _vendor("leaflet/leaflet.js"))]
    fmap.default_css = [("leaflet_css", _vendor("leaflet/leaflet.css"))]
    folium.TileLayer(OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap", max_zoom=19).add_to(fmap)

    settings = {
        "api": {
            "sites": url_for("api.list_sites"),
            "bases": url_for("api.list_bases"),
            "boundary": url_for("api.boundary"),
            "vocabulary": url_for("api.vocabulary"),
        },
        "pageSize": 1000,
    }
    ScoutLayers(settings, url_for("static", filename="js/scout-map.js")).add_to(fmap)

    root = fmap.get_root()
    root.render()
    return {
        "map_header": root.header.render(),
        "map_body": root.html.render(),
        "map_script": root.script.render(),
    }
