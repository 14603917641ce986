"""Language: zh-CN first, English second (Flask-Babel).

The choice comes from `?lang=` (remembered in a cookie for a year), else the cookie, else the
browser's Accept-Language, else zh-CN.  Source strings are English; translations/zh_CN holds Chinese.
"""
from __future__ import annotations

from flask import Flask, Response, g, has_request_context, request
from flask_babel import Babel, gettext

from . import vocab

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"
COOKIE = "lang"


def _normalise(value: str | None) -> str | None:
    if not value:
        return None
    value = value.replace("-", "_")
    if value.lower().startswith("zh"):
        return "zh_CN"
    if value.lower().startswith("en"):
        return "en"
    return None


def select_locale() -> str:
    if not has_request_context():  # the CLI rendering a pack's print view: the language a first visit gets
        return DEFAULT_LANGUAGE
    chosen = _normalise(request.args.get("lang")) or _normalise(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return _normalise(best) or DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    Babel(app, locale_selector=select_locale)

    @app.after_request
    def _remember_language(response: Response) -> Response:
        chosen = _normalise(request.args.get("lang"))
        if chosen and chosen != _normalise(request.cookies.get(COOKIE)):
            response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                                secure=request.is_secure)
        return response

    @app.context_processor
    def _html_lang() -> dict[str, str]:
        # <html lang> of the pages that follow the reader's language: screen readers and fonts pick by it.
        return {"html_lang": html_lang(current_language()), "lang_tag": html_lang, "term_label": term_label}


def html_lang(language: str) -> str:
    """The BCP 47 tag of one of LANGUAGES, for <html lang>."""
    return "zh-CN" if language == "zh_CN" else "en"


# The vocabularies a page may name a term of, by the names templates use.
_VOCABULARIES = {"genre": vocab.GENRES, "terrain": vocab.TERRAIN, "facility": vocab.FACILITIES,
                 "season": vocab.SEASONS, "position_method": vocab.POSITION_METHODS}


def term_label(vocabulary: str, slug: str) -> str:
    """A vocabulary term's label in the request's language (a page never shows the slug); an unknown slug as is."""
    term = _VOCABULARIES[vocabulary].get(slug)
    if term is None:
        return slug
    return term.zh if current_language() == "zh_CN" else term.en


def current_language() -> str:
    if "scout_lang" not in g:
        g.scout_lang = select_locale()
    return g.scout_lang


def js_messages() -> dict[str, str]:
    """UI strings the map's JavaScript shows, translated for the request's language."""
    _ = gettext
    return {
        "loading": _("Loading…"),
        "loadFailed": _("Could not load the data:"),
        "sitesMatch": _("%(n)s sites match", n="{n}"),
        "oneSiteMatches": _("1 site matches"),
        "noSites": _("No site matches these filters."),
        "clearFilter": _("Clear “%(filter)s” (%(n)s sites)", filter="{filter}", n="{n}"),
        "clearAll": _("Clear all filters"),
        "genre": _("Genre"), "terrain": _("Terrain"), "facility": _("Facilities"), "base": _("Base"),
        "q": _("Search"), "bbox": _("Map box"), "area": _("Drawn area"), "near": _("Near a point"),
        "elevation": _("Elevation"),
        "approximate": _("approximate"),
        "accuracy": _("Position accuracy"),
        "elevationM": _("Elevation"),
        "seasons": _("Best seasons"),
        "description": _("Description"),
        "access": _("Access"),
        "position": _("Position"),
        "copy": _("Copy"),
        "copied": _("Copied"),
        "navigate": _("Navigate"),
        "baidu": _("Baidu Maps"),
        "fromSeat": _("From the county seat"),
        "sun": _("Sun"),
        "date": _("Date"),
        "close": _("Close"),
        "photos": _("Photos"),
        "noPhotos": _("No photos yet."),
        "source": _("Source"),
        "sourceNotes": _("Source notes (staff only)"),
        "unverified": _("Not yet verified on the ground"),
        "pickPoint": _("Click the map to choose the point…"),
        "locating": _("Finding your location…"),
        "locateFailed": _("Your location is not available."),
        "polarDay": _("The sun does not set on this date."),
        "polarNight": _("The sun does not rise on this date."),
        "sun_blue_morning_start": _("Morning blue hour begins"),
        "sun_blue_morning_end": _("Morning golden hour begins"),
        "sun_sunrise": _("Sunrise"),
        "sun_golden_morning_end": _("Morning golden hour ends"),
        "sun_noon": _("Solar noon"),
        "sun_golden_evening_start": _("Evening golden hour begins"),
        "sun_sunset": _("Sunset"),
        "sun_blue_evening_start": _("Evening blue hour begins"),
        "sun_blue_evening_end": _("Evening blue hour ends"),
        "azimuth": _("azimuth"),
        "km": _("km"),
        "m": _("m"),
        "legend": _("Legend"),
        "legendSite": _("A site: coloured by its first genre, marked with that genre's first letter"),
        "showBases": _("Themed bases"),
        "showSites": _("Sites"),
        "addToPack": _("Add to pack"),
        "removeFromPack": _("Remove from pack"),
        "noteFor": _("Note (shot ideas, dates)"),
        "moveUp": _("Move up"),
        "moveDown": _("Move down"),
        "remove": _("Remove"),
        "packCreated": _("Share link created:"),
        "packNeedsName": _("Give the pack a name first."),
        "staffOnly": _("Staff only"),
        "permits": _("Permits"),
        "contacts": _("Contacts"),
        "history": _("History and restore"),
        "edit": _("Edit this site"),
        "verifyOnSite": _("Verify on site"),
        "suggestCorrection": _("Suggest a correction"),
        "suggestion": _("Suggestion"),
        "review": _("Review"),
        "flatHorizon": _("Times for a flat horizon; mountains delay sunrise and advance sunset."),
        "listInView": _("The first %(shown)s of %(n)s sites in this map view", shown="{shown}", n="{n}"),
        "allInView": _("%(n)s sites in this map view", n="{n}"),
        "noneInView": _("No matching site in this map view: zoom out or move the map."),
        "clusterTitle": _("%(n)s sites here: click to zoom in", n="{n}"),
        # A failed request, told in the page's language (never the server's English detail or a parameter name).
        "badFilter": _("The filter “%(filter)s” has a value that cannot be used: change or clear it.", filter="{filter}"),
        "notFound": _("It is not there any more."),
        "tooMany": _("Too many requests: wait a moment and try again."),
        "serverUnavailable": _("The server is not available just now: try again soon."),
        "offline": _("No connection to the server."),
        "requestFailed": _("The server did not accept the request (%(status)s).", status="{status}"),
        "pageError": _("Something went wrong on this page: reload it."),
        "tooLong": _("The drawn area has too many corners for a link: draw it with fewer corners."),
        "droppedFilters": _("The filter “%(filters)s” in this link could not be used and was left out; the other "
                            "filters apply.", filters="{filters}"),
        "listSeparator": _(", "),
        "moreTools": _("More map tools"),
        # Joining words and labels with the language's own punctuation (zh: "：", "，", "（…）").
        "labelled": _("%(label)s: %(value)s", label="{label}", value="{value}"),
        "withCount": _("%(label)s (%(n)s)", label="{label}", n="{n}"),
        "accuracyWithin": _("±%(distance)s", distance="{distance}"),
        "accuracyApproximate": _("approximate, %(accuracy)s", accuracy="{accuracy}"),
        "accuracyMethod": _("%(accuracy)s (%(method)s)", accuracy="{accuracy}", method="{method}"),
        "fromSeatLine": _("%(distance)s, %(compass)s (%(bearing)s°)", distance="{distance}", compass="{compass}",
                          bearing="{bearing}"),
        "coordWgs84": _("WGS-84 (lat, lon)"),
        "coordGcj02": _("GCJ-02 (lat, lon)"),
        "amapName": _("Amap"),
        # A text the record has only in the other language is shown marked as such, never passed off as this one.
        "untranslated": _("No English version yet; the Chinese text:"),
    }
