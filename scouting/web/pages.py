"""HTML pages: the map."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..maps import build_map

pages = Blueprint("pages", __name__)


@pages.get("/")
def index():
    parts = build_map()
    return render_template("map.html", **parts)
