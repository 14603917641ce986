"""The read API: JSON, WGS-84, GeoJSON (RFC 7946)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, current_app, g, request, url_for

from .. import bases, checks, facts, sites, vocab
from ..details import parse_day, site_details
from ..errors import DatabaseUnavailable, InvalidParameter, PreconditionRequired, UnsupportedMediaType
from ..formats.geojson import base_feature, boundary_feature, feature_collection, site_feature
from ..request_args import search_args
from ..search import ResultCache, data_version, database_health, parse_cluster_query, parse_site_query
from ..site_pages import SitePages
from .auth import api_user, whoami
from .security import public_request_url
from .session import get_session

api = Blueprint("api", __name__)


def json_response(body, status: int = 200, mimetype: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=mimetype)


def geojson_response(body) -> Response:
    return json_response(body, mimetype="application/geo+json")


@api.get("/api/sites")
def list_sites():
    query = parse_site_query(search_args(request.args))
    session = get_session()
    version = data_version(session)
    etag = _answer_etag(version)
    if (known := _tag_client_has(etag)) is not None:
        return _not_modified(known)
    matched, features = _pages().page(session, query, version)
    links = [{"rel": "self", "type": "application/geo+json", "href": public_request_url()}]
    if query.offset + len(features) < matched:
        links.append(_page_link("next", query.offset + query.limit))
    if query.offset > 0:
        links.append(_page_link("prev", max(0, query.offset - query.limit)))
    response = geojson_response(feature_collection(
        features, numberMatched=matched, numberReturned=len(features), links=links))
    response.set_etag(etag)
    return response


def _page_link(rel: str, offset: int) -> dict:
    args = dict(request.args.lists()) | {"offset": [str(offset)]}  # repeated parameters kept as given
    return {"rel": rel, "type": "application/geo+json",
            "href": public_request_url(with_query=False) + "?" + urlencode(args, doseq=True)}


# Read endpoints answer with an ETag and "revalidate every time": a browser that has the answer gets a
# bodiless 304, and no one is served a stale answer after a write.
REVALIDATED = {"api.list_sites", "api.site_facets", "api.site_clusters", "api.list_bases", "api.boundary",
               "api.vocabulary", "api.show_site", "api.show_site_details"}


def _deploy_fingerprint() -> str:
    """Changes with the app's code and message catalogues (a deploy), and is the same in every worker."""
    package = Path(__file__).resolve().parents[1]
    files = sorted((str(path.relative_to(package)), path.stat().st_size, path.stat().st_mtime_ns)
                   for path in package.rglob("*") if path.suffix in (".py", ".mo"))
    return hashlib.blake2b(repr(files).encode(), digest_size=8).hexdigest()


DEPLOY_FINGERPRINT = _deploy_fingerprint()


def _answer_etag(version: tuple) -> str:
    """The ETag of an answer made only from its URL (on the public address), the data and the code: known before
    the answer is made, so a client that has it gets its 304 for one primary-key read, and nobody hashes a page
    (SHA-1 of a 250 KB radius page was 8% of its time, see bench/analysis.md)."""
    key = f"{DEPLOY_FINGERPRINT}|{version}|{public_request_url()}"
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _tag_client_has(etag: str) -> str | None:
    """The tag in If-None-Match that names `etag`, plain or as compressed ("…:gzip", see scouting.web._compress)."""
    return next((tag for tag in request.if_none_match.as_set(include_weak=True) if tag.split(":", 1)[0] == etag), None)


def _not_modified(etag: str) -> Response:
    response = Response(status=304)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


@api.after_request
def _revalidate(response: Response) -> Response:
    if request.method not in ("GET", "HEAD") or request.endpoint not in REVALIDATED or response.status_code != 200:
        return response
    response.headers.setdefault("Cache-Control", "no-cache")
    if "ETag" not in response.headers:
        response.add_etag()  # a hash of the body
    return response.make_conditional(request)


def _cache() -> ResultCache:
    return current_app.extensions["scouting"].setdefault("result_cache", ResultCache())


def _pages() -> SitePages:
    return current_app.extensions["scouting"].setdefault("site_pages", SitePages(_cache()))


@api.get("/api/sites/facets")
def site_facets():
    """Counts per genre/terrain/facility/base for the filters; for an empty result, the count without each filter."""
    query = parse_site_query(search_args(request.args))
    return json_response(_cache().facet_summary(get_session(), query))


@api.get("/api/sites/clusters")
def site_clusters():
    """The matches inside `bbox` as grid cells for `zoom`: clusters (count, mean position, bbox) and single sites."""
    query, zoom = parse_cluster_query(search_args(request.args))
    result = _cache().cluster_sites(get_session(), query, zoom)
    return json_response({
        "bbox": list(query.bbox), "zoom": result.zoom, "cellSize": result.cell_deg,
        "numberMatched": result.number_matched,
        "clusters": [{"count": c.count, "lon": round(c.lon, 6), "lat": round(c.lat, 6), "bbox": list(c.bbox)}
                     for c in result.clusters],
        "features": [{"type": "Feature", "id": m.id, "geometry": {"type": "Point", "coordinates": [m.lon, m.lat]},
                      "properties": {"name_zh": m.name_zh, "name_en": m.name_en, "genres": list(m.genres)}}
                     for m in result.markers],
    })


@api.get("/api/sites/<int:site_id>")
def show_site(site_id: int):
    hit = sites.site_or_404(get_session(), site_id)
    response = geojson_response(site_feature(hit))
    response.headers["ETag"] = f'"{hit.site.version}"'
    return response


@api.get("/api/sites/<int:site_id>/details")
def show_site_details(site_id: int):
    unknown = sorted(set(request.args) - {"date"})
    if unknown:
        raise InvalidParameter(unknown[0], "unknown parameter; the only parameter is date=YYYY-MM-DD")
    staff = whoami() is not None and whoami().can_edit_sites()
    body = site_details(sites.site_or_404(get_session(), site_id), parse_day(request.args.get("date")), include_staff=staff)
    if staff:
        body["history_url"] = url_for("planner.history", site_id=site_id)
        body["edit_url"] = url_for("planner.edit", site_id=site_id)
        body["field_url"] = url_for("field.page", site=site_id)
    response = json_response(body)
    response.headers["Cache-Control"] = "private, no-store" if staff else "no-cache"
    return response


@api.get("/api/bases")
def list_bases():
    session = get_session()
    counts = _cache().get(session, ("base counts",), lambda: bases.site_counts(session))
    features = [base_feature(b, x, y, counts.get(b.id, 0)) for b, x, y in bases.find_bases(session)[1]]
    return geojson_response(feature_collection(features, numberMatched=len(features), numberReturned=len(features)))


@api.get("/api/boundary")
def boundary():
    features = [boundary_feature(b, wkt) for b, wkt in bases.boundaries(get_session())]
    return geojson_response(feature_collection(features))


@api.get("/api/vocabulary")
def vocabulary():
    return json_response(vocab.as_json() | facts.as_json())


@api.get("/healthz")
def healthz():
    dialect = current_app.extensions["scouting"]["dialect"]
    try:
        sites = database_health(get_session())
    except DatabaseUnavailable as err:
        return json_response({"status": "unavailable", "database": dialect.label, "detail": err.detail}, 503)
    except Exception as err:  # any driver error means the database is not usable now
        current_app.logger.warning("health check failed: %s", err)
        return json_response({"status": "unavailable", "database": dialect.label,
                              "detail": "the database did not answer"}, 503)
    return json_response({"status": "ok", "database": dialect.label, "sites": sites})


# --------------------------------------------------------------------------- writes (planners, by API token)

def _feature_body() -> dict:
    if not request.is_json:
        raise UnsupportedMediaType("send the site as application/json (a GeoJSON Feature)")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidParameter("body", "is not valid JSON")
    return data


def _flag(name: str) -> bool:
    return checks.flag(request.args.get(name), name)


def _if_match() -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired("send If-Match with the ETag of the version you edited (GET the site first)")
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise InvalidParameter("If-Match", f"{header!r} is not an ETag of this API") from None


def _site_response(site_id: int, status: int = 200) -> Response:
    hit = sites.site_or_404(get_session(), site_id)
    response = geojson_response(site_feature(hit, include_staff=True))
    response.status_code = status
    response.headers["ETag"] = f'"{hit.site.version}"'
    return response


@api.post("/api/sites")
@api_user()
def create_site():
    raw = sites.feature_to_raw(_feature_body(), request.args.get("datum", "wgs84"))
    site = sites.create_site(get_session(), raw, g.api_user.username, _flag("confirm_outside"))
    response = _site_response(site.id, 201)
    response.headers["Location"] = url_for("api.show_site", site_id=site.id)
    return response


@api.patch("/api/sites/<int:site_id>")
@api_user()
def update_site(site_id: int):
    expected = _if_match()
    raw = sites.feature_to_raw(_feature_body(), request.args.get("datum", "wgs84"), partial=True)
    sites.update_site(get_session(), site_id, raw, expected, g.api_user.username, _flag("confirm_outside"))
    return _site_response(site_id)


@api.delete("/api/sites/<int:site_id>")
@api_user()
def delete_site(site_id: int):
    sites.delete_site(get_session(), site_id, _if_match(), g.api_user.username)
    return Response(status=204)


@api.post("/api/sites/<int:site_id>/undelete")
@api_user()
def undelete_site(site_id: int):
    sites.undelete_site(get_session(), site_id, g.api_user.username)
    return _site_response(site_id)


@api.post("/api/sites/<int:site_id>/restore")
@api_user()
def restore_site(site_id: int):
    body = _feature_body()
    revision = body.get("revision") if isinstance(body, dict) else None
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise InvalidParameter("revision", "send {\"revision\": <id from the history>}")
    sites.restore_revision(get_session(), site_id, revision, _if_match(), g.api_user.username)
    return _site_response(site_id)


@api.get("/api/sites/<int:site_id>/history")
@api_user()
def site_history(site_id: int):
    revisions = sites.site_history(get_session(), site_id)
    return json_response({"site_id": site_id, "revisions": [
        {"id": r.id, "version": r.version, "action": r.action, "actor": r.actor,
         "changed_at": r.changed_at.isoformat(), "changed_fields": r.changed_fields, "before": r.before, "after": r.after}
        for r in revisions]})


@api.get("/api/openapi.json")
def openapi_json():
    from .api_openapi import api_document

    slugs = bases.base_slugs(get_session())
    return json_response(api_document(slugs))
