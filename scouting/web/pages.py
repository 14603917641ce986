"""HTML pages: the director's map."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from .. import vocab
from ..i18n import LANGUAGES, current_language, js_messages
from ..maps import build_map

pages = Blueprint("pages", __name__)


@pages.get("/")
def index():
    # The page is the same for every URL: static/js/map/ reads the filters, view and selection from the
    # query string, so a shared link and a click in the panel take one code path.
    language = current_language()
    planner = current_user.is_authenticated and current_user.can_edit_sites()
    # Building the folium map takes longer than the rest of the page: it is the same for every visitor of
    # one language and role, so it is built once per process.
    cache = current_app.extensions["scouting"].setdefault("map_parts", {})
    key = (language, planner, request.script_root)
    if key not in cache:
        cache[key] = build_map(current_app.config.get("TIANDITU_KEY"), language, js_messages(),
                               url_for("planner.suggestions_geojson") if planner else None)
    parts = cache[key]
    return render_template(
        "map.html", **parts, lang=language, languages=LANGUAGES, label="zh" if language == "zh_CN" else "en",
        genres=vocab.GENRES.values(), terrain=vocab.TERRAIN.values(), facilities=vocab.FACILITIES.values(),
        facility_icons=vocab.FACILITY_ICONS, genre_colours=vocab.GENRE_COLOURS,
    )
