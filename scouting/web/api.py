"""The read API: JSON, WGS-84, GeoJSON (RFC 7946)."""
from __future__ import annotations

from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, current_app, request
from sqlalchemy import func, select

from .. import get_session, vocab
from ..details import parse_day, site_details
from ..errors import DatabaseUnavailable, InvalidParameter, NotFound
from ..formats.geojson import base_feature, boundary_feature, feature_collection, site_feature
from ..models import Boundary, Site, ThemedBase
from ..search import count_sites, facet_counts, find_sites, get_site, parse_site_query, relaxations

api = Blueprint("api", __name__)


def json_response(body, status: int = 200, mimetype: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=mimetype)


def geojson_response(body) -> Response:
    return json_response(body, mimetype="application/geo+json")


@api.get("/api/sites")
def list_sites():
    query = parse_site_query(request.args)
    results = find_sites(get_session(), query)
    features = [site_feature(hit) for hit in results.hits]
    links = [{"rel": "self", "type": "application/geo+json", "href": request.url}]
    if query.offset + len(features) < results.number_matched:
        links.append(_page_link("next", query.offset + query.limit))
    if query.offset > 0:
        links.append(_page_link("prev", max(0, query.offset - query.limit)))
    return geojson_response(feature_collection(
        features, numberMatched=results.number_matched, numberReturned=len(features), links=links))


def _page_link(rel: str, offset: int) -> dict:
    args = request.args.to_dict() | {"offset": str(offset)}
    return {"rel": rel, "type": "application/geo+json", "href": request.base_url + "?" + urlencode(args)}


@api.get("/api/sites/facets")
def site_facets():
    """Counts per genre/terrain/facility/base for the filters; for an empty result, the count without each filter."""
    query = parse_site_query(request.args)
    session = get_session()
    matched = count_sites(session, query)
    body = {"numberMatched": matched, "counts": facet_counts(session, query)}
    if matched == 0:
        body["without"] = relaxations(session, query)
    return json_response(body)


def _site_or_404(site_id: int):
    hit = get_site(get_session(), site_id)
    if hit is None:
        raise NotFound(f"there is no site with id {site_id}")
    return hit


@api.get("/api/sites/<int:site_id>")
def show_site(site_id: int):
    return geojson_response(site_feature(_site_or_404(site_id)))


@api.get("/api/sites/<int:site_id>/details")
def show_site_details(site_id: int):
    unknown = sorted(set(request.args) - {"date"})
    if unknown:
        raise InvalidParameter(unknown[0], "unknown parameter; the only parameter is date=YYYY-MM-DD")
    return json_response(site_details(_site_or_404(site_id), parse_day(request.args.get("date"))))


@api.get("/api/bases")
def list_bases():
    session = get_session()
    counts = dict(session.execute(select(Site.base_id, func.count()).group_by(Site.base_id)).all())
    rows = session.execute(
        select(ThemedBase, func.ST_X(ThemedBase.geom), func.ST_Y(ThemedBase.geom)).order_by(ThemedBase.number))
    features = [base_feature(b, x, y, counts.get(b.id, 0)) for b, x, y in rows]
    return geojson_response(feature_collection(features, numberMatched=len(features), numberReturned=len(features)))


@api.get("/api/boundary")
def boundary():
    rows = get_session().execute(select(Boundary, func.ST_AsText(Boundary.geom)).order_by(Boundary.id))
    features = [boundary_feature(b, wkt) for b, wkt in rows]
    return geojson_response(feature_collection(features))


@api.get("/api/vocabulary")
def vocabulary():
    return json_response(vocab.as_json())


@api.get("/healthz")
def healthz():
    dialect = current_app.extensions["scouting"]["dialect"]
    try:
        session = get_session()
        # A spatial function proves the extension is loaded, not just that the file opens.
        session.execute(select(func.ST_AsText(func.ST_GeomFromText("POINT(120 27.8)", 4326)))).scalar_one()
        sites = session.scalar(select(func.count()).select_from(Site))
    except DatabaseUnavailable as err:
        return json_response({"status": "unavailable", "database": dialect.label, "detail": err.detail}, 503)
    except Exception as err:  # any driver error means the database is not usable now
        current_app.logger.warning("health check failed: %s", err)
        return json_response({"status": "unavailable", "database": dialect.label,
                              "detail": "the database did not answer"}, 503)
    return json_response({"status": "ok", "database": dialect.label, "sites": sites})
