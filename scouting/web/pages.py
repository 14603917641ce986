"""HTML pages: the director's map."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for
from flask_login import current_user

from .. import vocab
from ..i18n import LANGUAGES, current_language, js_messages
from ..maps import build_map

pages = Blueprint("pages", __name__)


@pages.get("/")
def index():
    # The page is the same for every URL: scout-map.js reads the filters, view and selection from the
    # query string, so a shared link and a click in the panel take one code path.
    language = current_language()
    planner = current_user.is_authenticated and current_user.can_edit_sites()
    parts = build_map(current_app.config.get("TIANDITU_KEY"), language, js_messages(),
                      url_for("planner.suggestions_geojson") if planner else None)
    return render_template(
        "map.html", **parts, lang=language, languages=LANGUAGES, label="zh" if language == "zh_CN" else "en",
        genres=vocab.GENRES.values(), terrain=vocab.TERRAIN.values(), facilities=vocab.FACILITIES.values(),
        facility_icons=vocab.FACILITY_ICONS,
    )
