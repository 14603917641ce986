"""Installable and offline: the web app manifest, the service worker (/sw.js), and saving a pack for offline.

Who may keep what: every answer says whether it was made for anyone (`X-Scout-Audience: public`) or for a
signed-in user or token holder (`private`).  The worker keeps public answers in one cache and private ones in
another, which it empties as soon as the site answers anonymously again (after signing out, or when the session
ended elsewhere): one person's answers are never served to the next.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import offline, packs
from ..i18n import current_language
from ..maps import Basemap
from ..photos import photos_by_site, public_url, thumb_url
from .api import json_response
from .photos import photo_store
from .security import absolute_url, offline_tile_origin
from .session import get_session

bp = Blueprint("offline", __name__)

AUDIENCE_HEADER = "X-Scout-Audience"
THEME_COLOUR = "#1d3b2a"
# The pack's page, print view, data, the county outline and the offline list, uncompressed: measured 44 kB for a
# one-site pack and 97 kB for ten; counted a little generously.
PAGES_BASE_BYTES = 64 * 1024
PAGES_PER_SITE_BYTES = 8 * 1024
SW_SOURCE = Path(__file__).resolve().parent.parent.parent / "static" / "sw.js"
ICON_SIZES = (192, 512)
IMAGE_SUFFIXES = {".png", ".svg", ".gif"}
PATH_SAMPLE = "x"  # a path parameter for url_for where only the path's prefix or its page's links are wanted
# Static files that pages link to: everything the map and pack pages need without a network.
_STATIC_LINK = re.compile(r"""(?:src|href)=["']([^"']*/static/[^"'?#]+)["']""")


@bp.after_app_request
def _mark_audience(response: Response) -> Response:
    if request.endpoint == "static":  # the same for everyone; and no session lookup (nor Vary: Cookie) for it
        return response
    signed_in = request.headers.get("Authorization") or current_user.is_authenticated
    response.headers[AUDIENCE_HEADER] = "private" if signed_in else "public"
    return response


# --------------------------------------------------------------------------- manifest and icons

@bp.get("/manifest.webmanifest")
def manifest():
    zh = current_language() == "zh_CN"
    icons = [{"src": url_for("static", filename=f"icons/icon-{size}.png"), "sizes": f"{size}x{size}",
              "type": "image/png", "purpose": "any"} for size in ICON_SIZES]
    icons.append({"src": url_for("static", filename="icons/icon-maskable-512.png"), "sizes": "512x512",
                  "type": "image/png", "purpose": "maskable"})
    icons.append({"src": url_for("static", filename="icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"})
    body = {
        "name": _("Wencheng Scout"),
        "short_name": _("Scout"),
        "description": _("Micro-film locations of Wencheng County, on a map that works in the field"),
        "lang": "zh-CN" if zh else "en",
        "start_url": url_for("pages.index"),
        "scope": url_for("pages.index"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": icons,
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


# --------------------------------------------------------------------------- the service worker

def _shell_urls() -> list[str]:
    """The app shell: every static file the map page and a pack page link, plus their styles, icons and Leaflet's
    images (read from the rendered pages' headers, so a script added to a page is added here too)."""
    from ..i18n import js_messages
    from ..maps import build_map, build_pack_map

    # Every part of each page, not the header alone: the map's ES modules are linked from its body.
    pages = [*build_map(None, current_language(), js_messages()).values(),
             *build_pack_map(url_for("packs.show_pack", token=PATH_SAMPLE), None).values()]
    urls = set(_STATIC_LINK.findall("".join(pages)))
    static = Path(current_app.static_folder)
    for name in ("css/scout.css", "css/pack.css", "js/offline.js", "js/pack/page.js", "js/field/queue.js", "js/field/field.js",
                 "favicon.svg", "icons/icon.svg",
                 *(f"icons/icon-{size}.png" for size in ICON_SIZES)):
        urls.add(url_for("static", filename=name))
    # The images the vendored styles point at (markers, control icons), from each package the pages use.
    vendor = url_for("static", filename="vendor/")
    packages = {url[len(vendor):].split("/", 1)[0] for url in urls if url.startswith(vendor)}
    for package in packages:
        for path in sorted((static / "vendor" / package).rglob("*")):
            if path.suffix in IMAGE_SUFFIXES and path.is_file():
                urls.add(url_for("static", filename=path.relative_to(static).as_posix()))
    return sorted(urls)


def _static_path(url: str) -> Path:
    prefix = url_for("static", filename="")
    return Path(current_app.static_folder) / url[len(prefix):]


def worker_settings() -> dict:
    """What the worker needs, with a version that changes whenever a shell file or the worker itself changes."""
    cache = current_app.extensions["scouting"]
    if "offline_shell" not in cache:
        shell = _shell_urls()
        digest = hashlib.sha256(SW_SOURCE.read_bytes())
        for url in shell:
            digest.update(url.encode())
            path = _static_path(url)
            digest.update(path.read_bytes() if path.is_file() else b"-")
        cache["offline_shell"] = {"version": digest.hexdigest()[:16], "shell": shell}
    return cache["offline_shell"] | {
        "tileOrigin": offline_tile_origin(current_app.config.get("OFFLINE_TILE_URL")),
        # Pages kept for offline use: the map, the offline packs list, pack pages and the field page (a signed-in
        # answer: kept privately, gone at sign-out); never forms or other staff pages.
        "pages": [url_for("pages.index"), url_for("offline.saved_packs"), url_for("field.page")],
        "pagePrefix": url_for("packs.pack_page", token=PATH_SAMPLE)[:-len(PATH_SAMPLE)],
        "api": url_for("api.list_sites").rsplit("/sites", 1)[0] + "/",
        "audienceHeader": AUDIENCE_HEADER,
    }


def offline_basemap() -> Basemap | None:
    """The configured tile source whose terms allow offline copies, as the pack page's first basemap (what the
    crew sees there is what a saved pack holds)."""
    template = current_app.config.get("OFFLINE_TILE_URL")
    if not template:
        return None
    return Basemap("offline", _("Offline basemap"), (template,), current_app.config["OFFLINE_TILE_ATTRIBUTION"],
                   subdomains="", max_zoom=offline.DETAIL_ZOOMS[-1] + 2)


@bp.get("/sw.js")
def service_worker():
    """The worker from the site's root, so its scope is the whole site; never cached by HTTP (the browser then
    compares it byte for byte on each visit and installs a new deployment's shell)."""
    source = f"const SCOUT_OFFLINE = {json.dumps(worker_settings())};\n" + SW_SOURCE.read_text(encoding="utf-8")
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


# --------------------------------------------------------------------------- saving a pack for offline

def pack_plan(session, pack, items) -> tuple[offline.OfflinePlan, list[str], int]:
    """The plan for a pack and the same-origin URLs it saves: its page, print view, data and its photos."""
    by_site = photos_by_site(session, [item.hit.site.id for item in items])
    photos = [photo for item in items for photo in by_site.get(item.hit.site.id, [])]

    store = photo_store()
    # The offline packs list too: it is where a crew finds its packs without a connection.
    urls = [url_for("packs.pack_page", token=pack.token), url_for("packs.pack_print", token=pack.token),
            url_for("packs.show_pack", token=pack.token), url_for("api.boundary"), url_for("offline.saved_packs")]
    photo_bytes = 0
    for photo in photos:
        urls += [public_url(photo), thumb_url(photo)]
        for kind in ("public", "thumb"):
            path = store.path(kind, photo.token, photo.ext)
            photo_bytes += os.path.getsize(path) if path.is_file() else 0
    config = current_app.config
    pages_bytes = PAGES_BASE_BYTES + PAGES_PER_SITE_BYTES * len(items)
    plan = offline.plan_pack([(i.hit.lon, i.hit.lat) for i in items], pages_bytes + photo_bytes,
                             avg_tile_bytes=int(config["OFFLINE_TILE_AVG_BYTES"]),
                             budget_bytes=int(config["OFFLINE_PACK_BUDGET_MB"]) * 1024 * 1024,
                             with_tiles=bool(config.get("OFFLINE_TILE_URL")), frame=offline.boundary_frame(session))
    return plan, urls, len(photos)


def estimate_context(session, pack, items) -> dict:
    """The estimate the pack page shows before anything is saved."""
    plan, _urls, photo_count = pack_plan(session, pack, items)
    return {"offline": {
        "plan": plan, "photos": photo_count, "tiles": bool(current_app.config.get("OFFLINE_TILE_URL")),
        "mb": offline.megabytes(plan.total_bytes), "budget_mb": offline.megabytes(plan.budget_bytes),
        "plan_url": url_for("offline.pack_offline", token=pack.token),
    }}


@bp.get("/api/packs/<token>/offline")
def pack_offline(token: str):
    session = get_session()
    pack = packs.get_pack(session, token)
    items = packs.pack_hits(session, pack)
    plan, urls, _count = pack_plan(session, pack, items)
    template = current_app.config.get("OFFLINE_TILE_URL")
    return json_response({
        "id": pack.token, "name": pack.name, "page": url_for("packs.pack_page", token=pack.token),
        "share_url": absolute_url("packs.pack_page", token=pack.token),
        "urls": urls,
        "tiles": [offline.tile_url(template, *t) for t in plan.tiles] if template else [],
        "zooms": list(plan.zooms), "left_out": list(plan.left_out),
        "estimate": {"tile_bytes": plan.tile_bytes, "other_bytes": plan.other_bytes, "total_bytes": plan.total_bytes,
                     "budget_bytes": plan.budget_bytes, "within_budget": plan.within_budget, "is_estimate": True},
    })


@bp.get("/offline")
def saved_packs():
    """The packs saved on this device: listed by offline.js from the browser's caches (the server never knows)."""
    return render_template("offline.html", lang=current_language())
