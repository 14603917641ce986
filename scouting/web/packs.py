"""Location packs: JSON API, share page, print view, and exports (of a pack or of any filter)."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote

import segno
from flask import Blueprint, Response, current_app, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import facts, geo, packs
from ..errors import InvalidParameter, UnsupportedMediaType
from ..formats.export import EXPORT_FORMATS, ExportItem, export
from ..formats.geojson import site_feature
from ..formats.svg import locator_svg
from ..i18n import LANGUAGES, current_language
from ..photos import photo_json, photos_by_site
from ..request_args import search_args
from ..search import count_sites, iter_sites, parse_site_query
from .api import json_response
from .auth import limiter, site_limit
from .offline import estimate_context, offline_basemap
from .photos import photo_store
from .security import absolute_url
from .session import get_session

bp = Blueprint("packs", __name__)


def _share_url(pack) -> str:
    """The pack's link on the public address (PUBLIC_URL; see security.public_base); outside a request (the CLI
    making a pack zip) PUBLIC_URL and the path, else the path alone: a made-up host ("localhost") printed on
    paper would send a crew nowhere, a relative link is at least honest."""
    if has_request_context():
        return absolute_url("packs.pack_page", token=pack.token)
    path = current_app.url_map.bind("").build("packs.pack_page", {"token": pack.token})
    return (current_app.config.get("PUBLIC_URL") or "").rstrip("/") + path


def _json_body():
    if not request.is_json:
        raise UnsupportedMediaType("send the pack as application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidParameter("body", "is not valid JSON")
    return data


def _with_etag(response: Response, pack) -> Response:
    response.headers["ETag"] = f'"{pack.version}"'
    return response


@bp.post("/api/packs")
# Each pack issues an edit token and stores rows: enough for a crew's afternoon, not for filling the database.
@limiter.limit(site_limit("30 per minute; 1000 per day"))
def create_pack():
    session = get_session()
    # Only a name on a list is taken from the cookie here, never the right to change a pack (the edit token).
    owner = current_user.id if current_user.is_authenticated else None
    pack, edit_token = packs.create_pack(session, _json_body(), owner_id=owner)
    body = packs.pack_json(pack, _share_url(pack)) | {"edit_token": edit_token}
    response = json_response(body, 201)
    response.headers["Location"] = url_for("packs.show_pack", token=pack.token)
    return _with_etag(response, pack)


@bp.get("/api/packs/<token>")
def show_pack(token: str):
    session = get_session()
    pack = packs.get_pack(session, token)
    return _with_etag(json_response(packs.pack_json(pack, _share_url(pack), packs.pack_hits(session, pack))), pack)


def _editable(token: str):
    session = get_session()
    pack = packs.get_pack(session, token, allow_expired=True)
    packs.authorise_edit(pack, request.headers.get("X-Edit-Token"))
    packs.check_version(pack, request.headers.get("If-Match"), packs.pack_json(pack, _share_url(pack)))
    return session, pack


@bp.patch("/api/packs/<token>")
def update_pack(token: str):
    session, pack = _editable(token)
    pack = packs.update_pack(session, pack, _json_body())
    return _with_etag(json_response(packs.pack_json(pack, _share_url(pack))), pack)


@bp.delete("/api/packs/<token>")
def delete_pack(token: str):
    session, pack = _editable(token)
    packs.delete_pack(session, pack)
    return Response(status=204)


def _attachment(name: str, extension: str) -> str:
    """Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name).strip("_") or "wencheng-scout"
    return f"attachment; filename=\"{safe}.{extension}\"; filename*=UTF-8''{quote(name + '.' + extension, safe='')}"


def _export_format() -> str:
    fmt = request.args.get("format", "geojson")
    if fmt not in (*EXPORT_FORMATS, "zip"):
        raise InvalidParameter("format", f"unknown format {fmt!r}; valid formats are {', '.join((*EXPORT_FORMATS, 'zip'))}")
    return fmt


@bp.get("/api/packs/<token>/export")
def export_pack(token: str):
    fmt = _export_format()
    extra = sorted(set(request.args) - {"format"})
    if extra:
        raise InvalidParameter(extra[0], "unknown parameter; the only parameter is format")
    session = get_session()
    pack = packs.get_pack(session, token)
    items = packs.pack_hits(session, pack)
    if fmt == "zip":
        body = packs.pack_archive(session, pack, items, photo_store(), print_view)
        return Response(body, mimetype="application/zip", headers={"Content-Disposition": _attachment(pack.name, "zip")})
    out = export(items, fmt, pack.name)
    return Response(out.chunks, mimetype=out.mimetype,
                    headers={"Content-Disposition": _attachment(pack.name, out.extension)})


@bp.get("/api/sites/export")
def export_sites():
    fmt = _export_format()
    if fmt == "zip":
        raise InvalidParameter("format", "zip is for packs; a filter exports as geojson, kml, gpx, gpkg or csv")
    args = {k: v for k, v in search_args(request.args).items() if k != "format"}
    query = parse_site_query(args)
    total = count_sites(get_session(), query)  # also answers 400 (an unknown base) before streaming starts
    maker = current_app.extensions["scouting"]["sessionmaker"]  # the stream runs after the request context
    out = export(_streamed_items(maker, query), fmt, "文成外景 Wencheng sites")
    return Response(out.chunks, mimetype=out.mimetype,
                    headers={"Content-Disposition": _attachment("wencheng-sites", out.extension),
                             "X-Total-Count": str(total)})


def _streamed_items(maker, query):
    """The export's sites, read with a session of its own that is closed when the stream ends or is dropped."""
    session = maker()
    try:
        for hit in iter_sites(session, query):
            yield ExportItem(hit=hit)
    finally:
        session.close()


# --------------------------------------------------------------------------- pages

@bp.get("/my/packs")
def my_packs():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for("packs.my_packs")))
    items = packs.packs_of(get_session(), current_user.id)
    return render_template("my_packs.html", packs=items, today=packs.today())


def _sun_rows(items, day: date) -> dict[int, list]:
    return {i.hit.site.id: geo.sun_day(i.hit.lon, i.hit.lat, day).events for i in items}


def _qr(share_url: str) -> dict:
    """The share link's QR code, inline SVG for the screen and PNG for paper.  A QR code of a relative link would
    lead nowhere: made only with the public address (PUBLIC_URL); without it the pages say why there is none."""
    if "://" not in share_url:
        return {"qr_svg": "", "qr_png": ""}
    code = segno.make(share_url, error="m")
    return {"qr_svg": code.svg_inline(scale=4, dark="#1d3b2a"), "qr_png": code.png_data_uri(scale=8, border=4)}


def _edit_messages() -> dict[str, str]:
    """What the pack page's editor (static/js/pack/page.js) shows, in the page's language.  The API's problem
    details name fields for programs; these say the same to a person."""
    return {
        "name": _("Pack name"), "description": _("Description"), "shootDate": _("Shooting date"),
        "note": _("Note (shot ideas, dates)"), "moveUp": _("Move up"), "moveDown": _("Move down"),
        "remove": _("Remove"), "addSite": _("Add a site to the pack"), "searchSites": _("Search sites by name"),
        "add": _("Add"), "inPack": _("Already in the pack"), "noMatch": _("No site matches “%(q)s”.", q="{q}"),
        "save": _("Save changes"), "cancel": _("Cancel"), "saving": _("Saving…"), "copied": _("Copied"),
        "loading": _("Loading…"),
        "conflict": _("Someone changed this pack after you started editing. Nothing you typed is lost: “Save mine "
                      "anyway” replaces their changes with yours, or cancel to see theirs."),
        "overwrite": _("Save mine anyway"),
        "forbidden": _("The edit key kept in this browser does not fit this pack: the changes cannot be saved."),
        "gone": _("This pack no longer exists."),
        "needName": _("Give the pack a name (at most 200 characters)."),
        "needSite": _("A pack needs at least one site (at most 200)."),
        "badNote": _("A note is too long (at most 2,000 characters) or holds characters that cannot be stored."),
        "badDescription": _("The description is too long (at most 5,000 characters) or holds characters that "
                            "cannot be stored."),
        "badDate": _("The shooting date cannot be used: choose a date on the calendar."),
        "tooMany": _("Too many requests: wait a moment and try again."),
        "offline": _("No connection to the server."),
        "failed": _("The server did not accept the request (%(status)s).", status="{status}"),
    }


def _site_view(item, label: str) -> dict:
    """What the pack pages show of one site, in the page's language: names, coordinates as copied, navigation
    links, the accuracy sentence, seasons, access notes (or that they are not translated) and public provenance."""
    hit, site = item.hit, item.hit.site
    gcj_lon, gcj_lat = geo.wgs84_to_gcj02(hit.lon, hit.lat)
    feature = site_feature(hit)["properties"]
    return {
        "name": site.name_zh if label == "zh" else (site.name_en or site.name_zh),
        "other_name": site.name_en if label == "zh" else (site.name_zh if site.name_en else None),
        "wgs84": f"{hit.lat:.6f}, {hit.lon:.6f}", "gcj02": f"{gcj_lat:.6f}, {gcj_lon:.6f}",
        "navigation": geo.navigation_links(hit.lon, hit.lat, site.name_zh),
        "accuracy": packs.accuracy_sentence(site.coord_accuracy_m, site.position_method, feature["approximate"], label),
        "seasons": packs.seasons_text(site.best_seasons, label),
        "access": packs.local_text(site, "access_notes", label),
        # The public provenance sentence, when the site features carry one (never staff notes).
        "provenance": feature.get("provenance_" + label),
    }


def _page_context(pack, items, session=None):
    session = session or get_session()
    day = pack.shoot_date or packs.today()
    label = "zh" if current_language() == "zh_CN" else "en"
    return {
        "view": {i.hit.site.id: _site_view(i, label) for i in items},
        "no_qr_reason": _("No QR code: this server has no public web address set, so a code would lead nowhere. "
                          "Ask the administrator to set it."),
        "languages": LANGUAGES,
        "pack": pack, "items": items, "day": day, "sun": _sun_rows(items, day),
        "gcj": {i.hit.site.id: geo.wgs84_to_gcj02(i.hit.lon, i.hit.lat) for i in items},
        "locators": {i.hit.site.id: locator_svg(session, i.hit.lon, i.hit.lat) for i in items},
        "share_url": _share_url(pack), "lang": current_language(), "label": label, **_qr(_share_url(pack)),
        # Each facility with how it is known, and an elevation that says when it is the site's, not the point's.
        "facilities": {i.hit.site.id: [facts.label(e, label) for e in i.hit.site.facility_facts()] for i in items},
        "elevation": {i.hit.site.id: facts.elevation_text(i.hit.site.elevation_m, i.hit.site.position_method, label)
                      for i in items},
    }


def print_view(pack, items, language_switch: bool = False) -> str:
    """The pack's print view as HTML.  Needs the app context only (no request): the CLI renders it too.  The
    language switch is for the page served here; a copy in a zip has no server to switch with."""
    return render_template("pack_print.html", **_page_context(pack, items), language_switch=language_switch)


@bp.get("/packs/<token>")
def pack_page(token: str):
    session = get_session()
    pack = packs.get_pack(session, token)
    items = packs.pack_hits(session, pack)
    from ..maps import build_pack_map

    parts = build_pack_map(url_for("packs.show_pack", token=pack.token), current_app.config.get("TIANDITU_KEY"),
                           offline_basemap())
    by_site = photos_by_site(session, [i.hit.site.id for i in items])
    return render_template("pack.html", **_page_context(pack, items), **parts, edit_messages=_edit_messages(),
                           formats=(*EXPORT_FORMATS, "zip"), **estimate_context(session, pack, items),
                           photos={site_id: [photo_json(p) for p in ps] for site_id, ps in by_site.items()})


@bp.get("/packs/<token>/print")
def pack_print(token: str):
    session = get_session()
    pack = packs.get_pack(session, token)
    return print_view(pack, packs.pack_hits(session, pack), language_switch=True)
