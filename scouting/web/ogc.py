"""OGC API – Features under /ogc: Part 1 Core (https://docs.ogc.org/is/17-069r4/17-069r4.html), Part 2 CRS by
reference (`crs`, `bbox-crs`: CRS84, EPSG:4326, EPSG:4490 CGCS2000, EPSG:3857; see scouting.crs) and Part 3 Filtering
(queryables, `filter` in CQL2 text or JSON; see scouting.cql).

Two collections: `sites` and `bases`.  The sites' items are the JSON API's query, not a second one:
OGC parameters are checked here, then handed to `search.parse_site_query` and `site_pages` (search.find_site_refs).
JSON (GeoJSON for features) is the default; HTML comes with `f=html` or a browser's Accept header.

Deviations, on purpose: `limit` above 1000 is clamped to 1000 (as the standard asks); there is no
`datetime` parameter (sites have no time dimension) and an unknown parameter is a 400 that names it.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from .. import bases, search, vocab
from ..cql import LANGUAGES, MAX_FILTER, QUERYABLES, parse_filter
from ..crs import CRS84, SUPPORTED, bbox_to_crs84, from_crs84, parse_crs
from ..db import spatial_dialect
from ..errors import InvalidParameter, NotFound
from ..formats.geojson import base_feature, feature_collection, site_feature
from ..i18n import LANGUAGES as PAGE_LANGUAGES
from ..i18n import current_language, term_label
from ..models import Site, ThemedBase
from ..request_args import search_args
from ..search import DEFAULT_LIMIT, FACILITY_STATUSES, MAX_LIMIT, MAX_RADIUS_KM, MAX_TEXT, get_site, parse_site_query
from .api import _cache as result_cache
from .api import _pages as site_pages
from .responses import GEOJSON, HTML, JSON, wants_html
from .security import absolute_url
from .session import get_session

ogc = Blueprint("ogc", __name__)

TITLE = "Wencheng Scout — 文成外景地图"
DESCRIPTION = ("文成县微电影外景拍摄地与十类外景拍摄基地（WGS-84）。 "
               "Shooting locations and the ten themed exterior shooting bases of Wencheng County, Zhejiang (WGS-84).")
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    # The CQL2 classes scouting.cql implements in full; not: property-property, functions, arithmetic,
    # temporal, accent-insensitive comparison and the spatial functions beyond S_INTERSECTS/S_DISJOINT.
    *(CQL2 + c for c in ("cql2-text", "cql2-json", "basic-cql2", "advanced-comparison-operators",
                         "case-insensitive-comparison", "basic-spatial-functions", "basic-spatial-functions-plus",
                         "array-functions")),
    CQL2 + "basic-spatial-operators",  # the drafts' name of basic-spatial-functions, which QGIS 3.32+ looks for
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
FORMATS = ("json", "html")

PAGING = ("bbox", "limit", "offset")
# Parts 2 and 3: output CRS, the bbox's CRS, and a CQL2 filter (for both collections).
EXTENSIONS = ("crs", "bbox-crs", "filter", "filter-lang", "filter-crs")
# The site filters of the JSON API that the OGC API passes through (besides bbox/limit/offset).
SITE_FILTERS = ("genre", "terrain", "facility", "facility_status", "base", "q", "near", "radius_km", "elev_min",
                "elev_max")
# Part 1 filters named as the properties are (/rec/core/fc-filters), so a client that sends property=value for a
# documented parameter (GDAL's OAPIF driver) filters on the server: genres=nature is genre=nature.
PROPERTY_FILTERS = {"genres": "genre", "facilities": "facility"}


class Collection:
    def __init__(self, id: str, title_zh: str, title_en: str, description: str, model, filters: tuple[str, ...]):
        self.id, self.title_zh, self.title_en = id, title_zh, title_en
        self.description, self.model = description, model
        self.parameters = ("f", *PAGING, *EXTENSIONS, *filters)

    @property
    def title(self) -> str:
        return f"{self.title_zh} · {self.title_en}"


COLLECTIONS = {
    "sites": Collection(
        "sites", "外景拍摄地", "Shooting locations",
        "文成县的外景拍摄地：题材、地形、设施、所属基地与海拔。 Wencheng's shooting locations with genre, "
        "terrain, facilities, themed base and elevation; filter with the same parameters as /api/sites.",
        Site, (*SITE_FILTERS, *PROPERTY_FILTERS)),
    "bases": Collection(
        "bases", "外景拍摄基地", "Themed shooting bases",
        "十类外景拍摄基地（2017 年规划）的中心位置。 The centres of the ten themed exterior shooting bases (2017 plan).",
        ThemedBase, ()),
}


# --------------------------------------------------------------------------- negotiation

def _format() -> str:
    f = request.args.get("f")
    if f and f not in FORMATS:
        raise InvalidParameter("f", f"unknown format {f!r}; use json or html")
    return "html" if wants_html() else "json"


def _check_parameters(allowed: tuple[str, ...]) -> None:
    if wants_html():
        allowed = (*allowed, "lang")  # the site's language switch (?lang=en); JSON has no language
    unknown = sorted(k for k in request.args if k not in allowed)
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; valid parameters here are {', '.join(allowed)}")


def _json(body, mimetype: str = JSON) -> Response:
    return Response(orjson.dumps(body), mimetype=mimetype)


def _url(endpoint: str, f: str | None = None, args: dict | None = None, **values) -> str:
    """An absolute URL; `args` are query parameters, kept in order, with f set (or left out)."""
    query = {k: v for k, v in (args or {}).items() if k != "f"}
    if f:
        query["f"] = f
    url = absolute_url(endpoint, **values)
    return url + ("?" + urlencode(query) if query else "")


def _link(rel: str, type_: str, href: str, title: str | None = None) -> dict:
    link = {"rel": rel, "type": type_, "href": href}
    if title:
        link["title"] = title
    return link


def _self_links(fmt: str, endpoint: str, json_type: str = JSON, args: dict | None = None, **values) -> list[dict]:
    """self in the format served, alternate in the other one."""
    as_json = _link("self" if fmt == "json" else "alternate", json_type, _url(endpoint, "json", args, **values),
                    "This document as JSON")
    as_html = _link("self" if fmt == "html" else "alternate", HTML, _url(endpoint, "html", args, **values),
                    "This document as HTML")
    return [as_json, as_html] if fmt == "json" else [as_html, as_json]


def _collection_or_404(collection_id: str) -> Collection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise NotFound(f"there is no collection {collection_id!r}; the collections are {', '.join(COLLECTIONS)}")
    return collection


# --------------------------------------------------------------------------- HTML pages

# The item filters whose values are vocabulary slugs.
VOCABULARY_FILTERS = {"genre": "genre", "genres": "genre", "terrain": "terrain", "facility": "facility",
                      "facilities": "facility"}


def _filter_names() -> dict[str, str]:
    """The items page's parameters as a person reads them (the URL keeps the names)."""
    return {"genre": _("Genre"), "genres": _("Genre"), "terrain": _("Terrain"), "facility": _("Facilities"),
            "facilities": _("Facilities"), "facility_status": _("Facility status"), "base": _("Base"),
            "q": _("Search"), "bbox": _("Map box"), "area": _("Drawn area"), "near": _("Near a point"),
            "radius_km": _("Radius (km)"), "elev_min": _("Lowest elevation (m)"),
            "elev_max": _("Highest elevation (m)"), "limit": _("Per page"), "offset": _("Skipped"),
            "crs": _("Coordinate system"), "bbox-crs": _("Coordinate system of the map box"),
            "filter": _("Filter expression"), "filter-lang": _("Filter language"),
            "filter-crs": _("Coordinate system of the filter")}


def _page(template: str, **context) -> str:
    """An OGC HTML page wholly in the reader's language (zh-CN unless chosen otherwise, as on the rest of the
    site): vocabulary slugs shown by their labels, the way to the same page in the other language."""
    language = current_language()
    zh = language == "zh_CN"
    other = next(code for code in PAGE_LANGUAGES if code != language)

    def distance(metres: float) -> str:
        if metres < 1000:
            return _("about %(n)s m", n=f"{metres:g}")
        return _("about %(n)s km", n=f"{metres / 1000:.1f}".removesuffix(".0"))

    switch = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", other)]
    return render_template(template, zh=zh, label=term_label, distance=distance, filter_names=_filter_names(),
                           paren=("（", "）") if zh else (" (", ")"), comma="，" if zh else ", ",
                           vocabulary_filters=VOCABULARY_FILTERS, other_language=other,
                           other_language_name=PAGE_LANGUAGES[other],
                           other_language_url=request.path + "?" + urlencode(switch), **context)


# --------------------------------------------------------------------------- landing, conformance, API

@ogc.get("/ogc", strict_slashes=False)
def landing():
    _check_parameters(("f",))
    fmt = _format()
    body = {
        "title": TITLE,
        "description": DESCRIPTION,
        "links": [
            *_self_links(fmt, "ogc.landing"),
            _link("service-desc", OPENAPI, _url("ogc.openapi", "json"), "The API definition (OpenAPI 3.0)"),
            _link("service-doc", HTML, _url("ogc.openapi", "html"), "The API documentation"),
            _link("conformance", JSON, _url("ogc.conformance", "json"), "Conformance classes implemented"),
            _link("data", JSON, _url("ogc.collections", "json"), "The feature collections"),
        ],
    }
    if fmt == "html":
        return _page("ogc/landing.html", doc=body, collections=COLLECTIONS.values())
    return _json(body)


@ogc.get("/ogc/conformance")
def conformance():
    _check_parameters(("f",))
    fmt = _format()
    body = {"conformsTo": CONFORMANCE, "links": _self_links(fmt, "ogc.conformance")}
    if fmt == "html":
        return _page("ogc/conformance.html", doc=body)
    return _json(body)


@ogc.get("/ogc/api")
def openapi():
    _check_parameters(("f",))
    fmt = _format()
    doc = openapi_document(bases.base_slugs(get_session()))
    if fmt == "html":
        return _page("ogc/api.html", doc=doc, json_url=_url("ogc.openapi", "json"))
    return _json(doc, OPENAPI)


# --------------------------------------------------------------------------- collections

def _collection_doc(collection: Collection, fmt: str, self_endpoint: bool) -> dict:
    items = {"collection_id": collection.id}
    if self_endpoint:
        links = _self_links(fmt, "ogc.collection", collection_id=collection.id)
    else:
        links = [_link("self", JSON, _url("ogc.collection", "json", collection_id=collection.id)),
                 _link("alternate", HTML, _url("ogc.collection", "html", collection_id=collection.id))]
    links += [
        _link("items", GEOJSON, _url("ogc.items", "json", **items), f"{collection.title_en} as GeoJSON"),
        _link("items", HTML, _url("ogc.items", "html", **items), f"{collection.title_en} as HTML"),
        _link(QUERYABLES_REL, SCHEMA_JSON, _url("ogc.queryables", "json", **items),
              "The properties a filter can use (JSON Schema)"),
    ]
    doc = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "links": links,
        "crs": list(SUPPORTED),
        "storageCrs": CRS84,
    }
    bbox = search.extent(get_session(), collection.model)
    if bbox is not None:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return doc


@ogc.get("/ogc/collections")
def collections():
    _check_parameters(("f",))
    fmt = _format()
    body = {
        "links": _self_links(fmt, "ogc.collections"),
        "collections": [_collection_doc(c, fmt, self_endpoint=False) for c in COLLECTIONS.values()],
    }
    if fmt == "html":
        return _page("ogc/collections.html", doc=body)
    return _json(body)


@ogc.get("/ogc/collections/<collection_id>")
def collection(collection_id: str):
    found = _collection_or_404(collection_id)
    _check_parameters(("f",))
    fmt = _format()
    body = _collection_doc(found, fmt, self_endpoint=True)
    if fmt == "html":
        return _page("ogc/collection.html", doc=body)
    return _json(body)


# --------------------------------------------------------------------------- items

def _paging_args(collection: Collection) -> dict[str, str]:
    """The request's parameters, checked and translated to the JSON API's: 6-number bboxes lose their
    heights, and a limit over the maximum is clamped to it (OGC API – Features /req/core/fc-limit-response-1)."""
    _check_parameters(collection.parameters)
    args = {k: v for k, v in search_args(request.args).items() if k not in ("f", "lang")}  # lists: their union
    bbox = args.get("bbox")
    if bbox and bbox.count(",") == 5:
        parts = bbox.split(",")
        args["bbox"] = ",".join(parts[0:2] + parts[3:5])
    try:
        if int(args.get("limit", "")) > MAX_LIMIT:
            args["limit"] = str(MAX_LIMIT)
    except ValueError:
        pass  # parse_site_query says what is wrong with it
    return args


def _time_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _page_offsets(matched: int, returned: int, offset: int, limit: int) -> dict[str, int]:
    pages = {}
    if offset + returned < matched:
        pages["next"] = offset + limit
    if offset > 0:
        pages["prev"] = max(0, offset - limit)
    return pages


def _items_body(collection: Collection, fmt: str, features: list[dict], matched: int, pages: dict[str, int]) -> dict:
    args = request.args.to_dict()
    values = {"collection_id": collection.id}
    links = _self_links(fmt, "ogc.items", GEOJSON, args, **values)
    for rel, offset in pages.items():
        links.append(_link(rel, GEOJSON, _url("ogc.items", "json", args | {"offset": str(offset)}, **values),
                           f"The {rel} page"))
    links.append(_link("collection", JSON, _url("ogc.collection", "json", **values), collection.title))
    return feature_collection(features, numberMatched=matched, numberReturned=len(features),
                              timeStamp=_time_stamp(), links=links)


def _find_bases(query) -> tuple[int, list[dict]]:
    session = get_session()
    conditions = () if query.cql is None else (query.cql.condition(spatial_dialect(session)),)
    matched, rows = bases.find_bases(session, query.bbox, conditions, query.limit, query.offset)
    counts = result_cache().get(session, ("base counts",), lambda: bases.site_counts(session))
    return matched, [base_feature(b, x, y, counts.get(b.id, 0)) for b, x, y in rows]


def _output_crs() -> str:
    raw = request.args.get("crs")
    return parse_crs(raw, "crs") if raw else CRS84


def _bbox_in_crs84(args: dict[str, str]) -> None:
    """A bbox given in bbox-crs (that CRS's axis order), as the CRS84 bbox the query builder takes."""
    raw_crs = args.pop("bbox-crs", None)
    if not raw_crs:
        return
    uri = parse_crs(raw_crs, "bbox-crs")
    if uri == CRS84 or not args.get("bbox"):
        return
    parts = args["bbox"].split(",")
    if len(parts) != 4:
        return  # parse_site_query says what is wrong with it
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        return
    args["bbox"] = ",".join(repr(v) for v in bbox_to_crs84(uri, values))


def _in_crs(features: list[dict], uri: str) -> list[dict]:
    if uri != CRS84:
        for feature in features:
            lon, lat = feature["geometry"]["coordinates"][:2]
            feature["geometry"]["coordinates"] = from_crs84(uri, lon, lat)
    return features


def _with_crs(response: Response, uri: str) -> Response:
    response.headers["Content-Crs"] = f"<{uri}>"
    return response


@ogc.get("/ogc/collections/<collection_id>/items")
def items(collection_id: str):
    found = _collection_or_404(collection_id)
    args = _paging_args(found)
    fmt = _format()
    out_crs = _output_crs()
    args.pop("crs", None)
    _bbox_in_crs84(args)
    raw_filter, lang = args.pop("filter", None), args.pop("filter-lang", None)
    filter_crs = parse_crs(args.pop("filter-crs"), "filter-crs") if args.get("filter-crs") else CRS84
    for prop, param in PROPERTY_FILTERS.items():
        if prop in args:
            if param in args:
                raise InvalidParameter(prop, f"is another name for {param}; give one of them")
            args[param] = args.pop(prop)
    query = parse_site_query(args)  # validates every parameter, the bases' three included
    if raw_filter is not None:
        query = replace(query, cql=parse_filter(raw_filter, lang, found.id, filter_crs))
    elif lang is not None:
        parse_filter("TRUE", lang, found.id)  # an unknown filter-lang is still a 400
    if found.id == "sites":
        session = get_session()
        # The count is the JSON API's cached one: paging through a result (as GDAL and QGIS do) counts it once.
        matched, features = site_pages().page(session, query)
    else:
        matched, features = _find_bases(query)
    pages = _page_offsets(matched, len(features), query.offset, query.limit)
    body = _items_body(found, fmt, features, matched, pages)
    if fmt == "html":
        args = request.args.to_dict()
        page_urls = {rel: _url("ogc.items", "html", args | {"offset": str(offset)}, collection_id=found.id)
                     for rel, offset in pages.items()}
        filters = [(k, v) for k, v in request.args.items(multi=True) if k not in ("f", "lang")]
        return _page("ogc/items.html", doc=body, collection=found, pages=page_urls, filters=filters,
                     offset=query.offset)
    _in_crs(body["features"], out_crs)
    return _with_crs(_json(body, GEOJSON), out_crs)


@ogc.get("/ogc/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    found = _collection_or_404(collection_id)
    _check_parameters(("f", "crs"))
    fmt = _format()
    out_crs = _output_crs()
    feature = _feature(found, feature_id)
    if feature is None:
        raise NotFound(f"there is no feature {feature_id!r} in the collection {found.id!r}")
    values = {"collection_id": found.id, "feature_id": feature_id}
    feature["links"] = [
        *_self_links(fmt, "ogc.item", GEOJSON, **values),
        _link("collection", JSON, _url("ogc.collection", "json", collection_id=found.id), found.title),
    ]
    if fmt == "html":
        return _page("ogc/item.html", doc=feature, collection=found)
    _in_crs([feature], out_crs)
    return _with_crs(_json(feature, GEOJSON), out_crs)


# --------------------------------------------------------------------------- queryables (Part 3)

def queryables_schema(collection: Collection, base_slugs: list[str]) -> dict:
    """The collection's queryables as a JSON Schema: zh/en titles, and the vocabularies (and bases) as enums."""
    properties = {}
    for q in QUERYABLES[collection.id].values():
        prop: dict = {"title": f"{q.title_zh} · {q.title_en}"}
        if q.type == "geometry":
            prop.update(format="geometry-point", **{"x-ogc-role": "primary-geometry"})
        elif q.type == "array":
            terms = vocab.TAG_VOCABULARIES[q.vocabulary]
            prop.update(type="array", items={"type": "string", "enum": list(q.enum)},
                        description="; ".join(f"{t.slug} = {t.zh} / {t.en}" for t in terms.values()))
        else:
            prop["type"] = q.type
            enum = base_slugs if q.name == "base" else list(q.enum)
            if enum:
                prop["enum"] = enum
        properties[q.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _url("ogc.queryables", None, collection_id=collection.id),
        "type": "object",
        "title": collection.title,
        "description": "可用于 filter（CQL2）的属性。 The properties a CQL2 filter can use.",
        "properties": properties,
        "additionalProperties": False,
    }


@ogc.get("/ogc/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    found = _collection_or_404(collection_id)
    _check_parameters(("f",))
    fmt = _format()
    doc = queryables_schema(found, bases.base_slugs(get_session()))
    if fmt == "html":
        links = _self_links(fmt, "ogc.queryables", SCHEMA_JSON, collection_id=found.id)
        return _page("ogc/queryables.html", doc={**doc, "links": links}, collection=found,
                     queryables=list(QUERYABLES[found.id].values()))
    return _json(doc, SCHEMA_JSON)


def _feature(collection: Collection, feature_id: str) -> dict | None:
    if not feature_id.isascii() or not feature_id.isdigit() or len(feature_id) > 18:
        return None
    session = get_session()
    if collection.id == "sites":
        hit = get_site(session, int(feature_id))
        return site_feature(hit) if hit else None
    row = bases.base_at(session, int(feature_id))
    if row is None:
        return None
    base, lon, lat = row
    return base_feature(base, lon, lat, bases.site_counts(session).get(base.id, 0))


# --------------------------------------------------------------------------- OpenAPI 3.0

def _param(name: str, schema: dict, description: str, style_form_list: bool = False, in_: str = "query",
           required: bool = False) -> dict:
    param = {"name": name, "in": in_, "required": required, "description": description, "schema": schema}
    if style_form_list:
        param.update(style="form", explode=False)
    return param


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _response(description: str, schema_name: str | None, mimetype: str = JSON, html: bool = True) -> dict:
    content = {}
    if schema_name:
        content[mimetype] = {"schema": _ref("schemas", schema_name)}
    if html:
        content[HTML] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def _terms_param(name: str, vocabulary: dict, how: str) -> dict:
    labels = "; ".join(f"{t.slug} = {t.zh} / {t.en}" for t in vocabulary.values())
    return _param(name, {"type": "array", "items": {"type": "string", "enum": list(vocabulary)}},
                  f"Comma-separated {name} terms; a site matches {how}. Terms: {labels}.", style_form_list=True)


def openapi_document(base_slugs: list[str]) -> dict:
    """The API definition.  The server is the landing page and paths are relative to it (/collections/sites/items),
    the layout the standard's examples use and clients expect: GDAL finds the items' query parameters (and so
    which attribute filters it may send to the server) under /collections/{id}/items."""
    server = absolute_url("ogc.landing")
    errors = {"400": _ref("responses", "InvalidParameter"), "404": _ref("responses", "NotFound"),
              "414": _ref("responses", "UriTooLong"), "500": _ref("responses", "ServerError")}
    simple = [_ref("parameters", "f")]
    site_filters = [
        _terms_param("genre", vocab.GENRES, "when it has any of them"),
        _terms_param("terrain", vocab.TERRAIN, "when it has any of them"),
        _terms_param("facility", vocab.FACILITIES, "only when it has all of them"),
        _terms_param("genres", vocab.GENRES, "when it has any of them (the property's name for genre)"),
        _terms_param("facilities", vocab.FACILITIES, "only when it has all of them (the property's name for facility)"),
        _param("facility_status", {"type": "string", "enum": list(FACILITY_STATUSES), "default": "any"},
               "any: a chosen facility counts when reported or verified present; verified: only when verified "
               "present. A facility verified absent never matches."),
        _param("base", {"type": "string", "enum": base_slugs}, "The slug of a themed base: only its sites."),
        _param("q", {"type": "string", "maxLength": MAX_TEXT},
               "Text to find in the Chinese or English name or description (case-insensitive)."),
        _param("near", {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
               "lon,lat (WGS-84) to measure from; needs radius_km. Results come nearest first.", style_form_list=True),
        _param("radius_km", {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": MAX_RADIUS_KM},
               "The search radius around near, in kilometres (geodesic); needs near."),
        _param("elev_min", {"type": "number"}, "Lowest elevation, metres."),
        _param("elev_max", {"type": "number"}, "Highest elevation, metres."),
    ]
    paging = [_ref("parameters", "bbox"), _ref("parameters", "limit"), _ref("parameters", "offset"),
              _ref("parameters", "f"), *(_ref("parameters", name) for name in EXTENSIONS)]
    paths: dict = {
        "/": {"get": {
            "operationId": "getLandingPage", "summary": "Landing page", "tags": ["Capabilities"],
            "parameters": simple,
            "responses": {"200": _response("The landing page: title, description and links.", "LandingPage"),
                          **errors}}},
        "/conformance": {"get": {
            "operationId": "getConformance", "summary": "Conformance classes implemented", "tags": ["Capabilities"],
            "parameters": simple,
            "responses": {"200": _response("The conformance classes.", "ConfClasses"), **errors}}},
        "/api": {"get": {
            "operationId": "getAPI", "summary": "This API definition (OpenAPI 3.0)", "tags": ["Capabilities"],
            "parameters": simple,
            "responses": {"200": {"description": "The API definition.", "content": {
                OPENAPI: {"schema": {"type": "object"}}, HTML: {"schema": {"type": "string"}}}}, **errors}}},
        "/collections": {"get": {
            "operationId": "getCollections", "summary": "The feature collections", "tags": ["Capabilities"],
            "parameters": simple,
            "responses": {"200": _response("The collections: sites and bases.", "Collections"), **errors}}},
    }
    for collection in COLLECTIONS.values():
        base = f"/collections/{collection.id}"
        name = collection.id.capitalize()
        paths[base] = {"get": {
            "operationId": f"describe{name}Collection", "summary": f"Describe the {collection.id} collection",
            "tags": [collection.title_en], "parameters": simple,
            "responses": {"200": _response(f"The {collection.id} collection.", "Collection"), **errors}}}
        filters = site_filters if collection.id == "sites" else []
        paths[base + "/items"] = {"get": {
            "operationId": f"get{name}Features", "summary": f"{collection.title_en} (a page of features)",
            "description": "GeoJSON FeatureCollection in WGS-84 lon/lat; next/prev links page through the result. "
                           "An unknown parameter is a 400.",
            "tags": [collection.title_en], "parameters": [*paging, *filters],
            "responses": {"200": _response("A page of features.", "FeatureCollection", GEOJSON), **errors}}}
        paths[base + "/items/{featureId}"] = {"get": {
            "operationId": f"get{name}Feature", "summary": f"One feature of {collection.id}",
            "tags": [collection.title_en], "parameters": [_ref("parameters", "featureId"), *simple,
                                                          _ref("parameters", "crs")],
            "responses": {"200": _response("The feature.", "Feature", GEOJSON), **errors}}}
        paths[base + "/queryables"] = {"get": {
            "operationId": f"get{name}Queryables", "summary": f"The properties a filter on {collection.id} can use",
            "tags": [collection.title_en], "parameters": simple,
            "responses": {"200": {"description": "The queryables as a JSON Schema.", "content": {
                SCHEMA_JSON: {"schema": {"type": "object"}}, HTML: {"schema": {"type": "string"}}}}, **errors}}}

    link = {"type": "object", "required": ["href", "rel"], "properties": {
        "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
        "title": {"type": "string"}, "hreflang": {"type": "string"}}}
    links = {"type": "array", "items": _ref("schemas", "Link")}
    point = {"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"},
                        "description": "longitude, latitude (WGS-84)"}}}
    feature = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "geometry": {"allOf": [_ref("schemas", "PointGeometry")], "nullable": True},
        "properties": {"type": "object", "nullable": True},
        "links": links}}
    collection_schema = {"type": "object", "required": ["id", "links"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
        "links": links, "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}},
        "storageCrs": {"type": "string"},
        "extent": {"type": "object", "properties": {"spatial": {"type": "object", "properties": {
            "bbox": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
            "crs": {"type": "string", "enum": [CRS84], "default": CRS84}}}}}}}
    problem = {"type": "object", "required": ["title", "status"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "invalid-params": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "reason": {"type": "string"}}}}}}

    def problem_response(description: str) -> dict:
        return {"description": description, "content": {
            "application/problem+json": {"schema": _ref("schemas", "Problem")}, HTML: {"schema": {"type": "string"}}}}

    return {
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "description": DESCRIPTION + " Staff-only notes are never served.",
            "version": "1.0.0",
            "license": {"name": "See the project's README and geodata/SOURCES.md"},
        },
        "servers": [{"url": server}],
        "tags": [{"name": "Capabilities"}, *({"name": c.title_en, "description": c.description}
                                            for c in COLLECTIONS.values())],
        "paths": paths,
        "components": {
            "parameters": {
                "f": _param("f", {"type": "string", "enum": list(FORMATS)},
                            "The format of the answer; without it the Accept header decides (JSON unless text/html)."),
                "bbox": _param("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                               "minLon,minLat,maxLon,maxLat in CRS84 (WGS-84 lon/lat); with six numbers the heights "
                               "are ignored. Boxes across the antimeridian are not supported.", style_form_list=True),
                "limit": _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                          "default": DEFAULT_LIMIT},
                                f"The page size. A value above {MAX_LIMIT} is served as {MAX_LIMIT}."),
                "offset": _param("offset", {"type": "integer", "minimum": 0, "default": 0},
                                 "How many features of the result to skip (next/prev links set it)."),
                "featureId": _param("featureId", {"type": "string"}, "The id of a feature.", in_="path",
                                    required=True),
                "crs": _param("crs", {"type": "string", "format": "uri", "enum": list(SUPPORTED),
                                      "default": CRS84},
                              "The CRS of the answer's coordinates (JSON only; HTML pages show WGS-84 lon/lat). "
                              "EPSG:4326 and EPSG:4490 (CGCS2000) are latitude first, as EPSG defines them; the "
                              "Content-Crs header says which CRS was used."),
                "bbox-crs": _param("bbox-crs", {"type": "string", "format": "uri", "enum": list(SUPPORTED),
                                                "default": CRS84},
                                   "The CRS of bbox, in its axis order (EPSG:4326/4490: minLat,minLon,maxLat,maxLon)."),
                "filter": _param("filter", {"type": "string", "maxLength": MAX_FILTER},
                                 "A CQL2 filter over the collection's queryables (see its /queryables), e.g. "
                                 "A_OVERLAPS(genres, ('nature')) AND elevation_m > 300. Geometries are CRS84 "
                                 "lon/lat. An unknown property or unsupported operator is a 400 naming it."),
                "filter-crs": _param("filter-crs", {"type": "string", "format": "uri", "enum": list(SUPPORTED),
                                                  "default": CRS84},
                                     "The CRS of the geometries in filter, in its axis order (EPSG:4490: lat lon)."),
                "filter-lang": _param("filter-lang", {"type": "string", "enum": list(LANGUAGES),
                                                      "default": LANGUAGES[0]},
                                      "The encoding of filter: CQL2 text or CQL2 JSON."),
            },
            "schemas": {
                "Link": link,
                "LandingPage": {"type": "object", "required": ["links"], "properties": {
                    "title": {"type": "string"}, "description": {"type": "string"}, "links": links}},
                "ConfClasses": {"type": "object", "required": ["conformsTo"], "properties": {
                    "conformsTo": {"type": "array", "items": {"type": "string"}}}},
                "Collections": {"type": "object", "required": ["links", "collections"], "properties": {
                    "links": links, "collections": {"type": "array", "items": _ref("schemas", "Collection")}}},
                "Collection": collection_schema,
                "PointGeometry": point,
                "Feature": feature,
                "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": _ref("schemas", "Feature")},
                    "links": links,
                    "timeStamp": {"type": "string", "format": "date-time"},
                    "numberMatched": {"type": "integer", "minimum": 0},
                    "numberReturned": {"type": "integer", "minimum": 0}}},
                "Problem": problem,
            },
            "responses": {
                "InvalidParameter": problem_response("A parameter is wrong or unknown; invalid-params names it."),
                "NotFound": problem_response("No such collection or feature."),
                "UriTooLong": problem_response("The URL is over 8,000 characters (a filter travels in it)."),
                "ServerError": problem_response("A server error."),
            },
        },
    }
