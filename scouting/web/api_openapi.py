"""The OpenAPI 3.0 document of the JSON API (/api/...), served at GET /api/openapi.json.

Built from the same names the code checks against (search.PARAMETERS and its limits, the vocabularies, the
editable fields of sites.py, the pack fields of packs.py), so the document and the validation cannot drift apart
silently: tests/test_schemathesis.py sends generated requests and checks every answer against it.
"""
from __future__ import annotations

from .. import facts, packs, search, sites, vocab

PROBLEM = "application/problem+json"
GEOJSON = "application/geo+json"
JSON = "application/json"


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _query(name: str, schema: dict, description: str, explode: bool = True) -> dict:
    param = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
    if not explode:
        param.update(style="form", explode=False)
    return param


def _terms(name: str, vocabulary: dict, how: str) -> dict:
    return _query(name, {"type": "array", "items": {"type": "string", "enum": list(vocabulary)}},
                  f"Comma-separated {name} terms; a site matches {how}. Given more than once, the values of all "
                  "are taken together.", explode=False)


def _ok(description: str, schema: str, mimetype: str = JSON, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {mimetype: {"schema": _ref("schemas", schema)}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(*codes: int) -> dict:
    # 414 can answer any request: the app refuses URLs past web.MAX_URL_LENGTH before routing.
    return {str(code): _ref("responses", f"E{code}") for code in sorted({*codes, 414})}


ERROR_TEXT = {
    400: "A parameter or field is wrong; `invalid-params` names it and says why.",
    401: "No valid API token: send Authorization: Bearer <token>.",
    403: "The token's account may not do this (a planner's or admin's is needed), or the edit token is wrong.",
    404: "No such site, pack or photo.",
    405: "The method is not allowed here.",
    410: "The pack has expired.",
    412: "A stale edit: If-Match is not the current version; `current` is what is stored now.",
    413: "The body is too large.",
    414: "The URL is too long (over 8,000 characters): send fewer or shorter parameters (area=polyline:...).",
    415: "The body is not application/json.",
    428: "If-Match is required: send the ETag of the version you edited.",
    429: "Too many requests from this address (new packs, or wrong API tokens): wait a minute.",
    503: "The database is not usable now.",
}


def api_document(base_slugs: list[str]) -> dict:
    ids = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    site_id = {"name": "site_id", "in": "path", "required": True, "schema": ids, "description": "A site's id."}
    pack_id = {"name": "pack_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64},
               "description": "A pack's id (from its share link)."}
    bearer = [{"token": []}]
    if_match = {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
                "description": 'The ETag of the version edited, e.g. "3".'}
    etag = {"ETag": {"description": "The version, for If-Match.", "schema": {"type": "string"}}}
    filters = [
        _terms("genre", vocab.GENRES, "when it has any of them"),
        _terms("terrain", vocab.TERRAIN, "when it has any of them"),
        _terms("facility", vocab.FACILITIES, "only when it has all of them"),
        _query("facility_status", {"type": "string", "enum": list(search.FACILITY_STATUSES), "default": "any"},
               "any: a chosen facility counts when reported or verified present; verified: only when verified "
               "present. A facility verified absent never matches."),
        _query("base", {"type": "string", "enum": base_slugs}, "A themed base's slug: only its sites."),
        _query("q", {"type": "string", "maxLength": search.MAX_TEXT}, "Text in a name or description."),
        _query("bbox", {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
               "minLon,minLat,maxLon,maxLat (WGS-84).", explode=False),
        _query("area", {"type": "array", "minItems": 6, "items": {"type": "number"}},
               f"A polygon as lon,lat pairs (at most {search.MAX_AREA_VERTICES} corners). The compact form "
               "`area=polyline:<encoded>` takes the same ring as an encoded polyline (Google's algorithm, precision "
               "5, points lat,lon), so that all 500 corners fit in a URL: URLs longer than 8000 characters get 414.",
               explode=False),
        _query("near", {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
               "lon,lat to search around; needs radius_km.", explode=False),
        _query("radius_km", {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                             "maximum": search.MAX_RADIUS_KM}, "Radius around near, km."),
        _query("elev_min", {"type": "number"}, "Lowest elevation, metres."),
        _query("elev_max", {"type": "number"}, "Highest elevation, metres."),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": search.MAX_LIMIT,
                         "default": search.DEFAULT_LIMIT}, "Page size."),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": search.MAX_OFFSET, "default": 0},
               "Results to skip."),
    ]
    assert {p["name"] for p in filters} == set(search.PARAMETERS)
    write_query = [
        _query("datum", {"type": "string", "enum": list(sites.DATUMS), "default": "wgs84"},
               "The datum of the point sent; it is stored as WGS-84."),
        _query("confirm_outside", {"type": "boolean"}, "Accept a point outside Wencheng County."),
    ]
    site_body = {"required": True, "content": {JSON: {"schema": _ref("schemas", "SiteInput")}}}
    new_site_body = {"required": True, "content": {JSON: {"schema": _ref("schemas", "NewSite")}}}
    pack_headers = [{"name": "X-Edit-Token", "in": "header", "required": True, "schema": {"type": "string"}},
                    {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"}}]
    reads = (400, 404, 405)
    writes = (400, 401, 403, 404, 405, 412, 413, 415, 428, 429)  # 429: after 30 wrong tokens a minute

    paths = {
        "/api/sites": {
            "get": {"operationId": "listSites", "summary": "Sites matching the filters (GeoJSON, paged)",
                    "parameters": filters,
                    "responses": {"200": _ok("A page of sites.", "SiteCollection", GEOJSON), **_errors(*reads)}},
            "post": {"operationId": "createSite", "summary": "Create a site (planner token)", "security": bearer,
                     "parameters": write_query, "requestBody": new_site_body,
                     "responses": {"201": _ok("The site as stored.", "Site", GEOJSON, etag), **_errors(*writes)}},
        },
        "/api/sites/facets": {"get": {
            "operationId": "siteFacets", "summary": "Counts per term next to the filters", "parameters": filters,
            "responses": {"200": _ok("The counts.", "Facets"), **_errors(*reads)}}},
        "/api/sites/{site_id}": {
            "parameters": [site_id],
            "get": {"operationId": "showSite", "summary": "One site",
                    "responses": {"200": _ok("The site.", "Site", GEOJSON, etag), **_errors(*reads)}},
            "patch": {"operationId": "updateSite", "summary": "Change some fields of a site (planner token)",
                      "security": bearer, "parameters": [if_match, *write_query], "requestBody": site_body,
                      "responses": {"200": _ok("The site as stored.", "Site", GEOJSON, etag), **_errors(*writes)}},
            "delete": {"operationId": "deleteSite", "summary": "Soft-delete a site (planner token)",
                       "security": bearer, "parameters": [if_match],
                       "responses": {"204": {"description": "Deleted (undone by undelete or a restore)."},
                                     **_errors(*writes)}},
        },
        "/api/sites/{site_id}/details": {"get": {
            "operationId": "siteDetails", "summary": "A site with coordinates in every datum and the sun",
            "parameters": [site_id, _query("date", {"type": "string", "format": "date"}, "The sun's day.")],
            "responses": {"200": _ok("The details.", "SiteDetails"), **_errors(*reads)}}},
        "/api/sites/{site_id}/history": {"get": {
            "operationId": "siteHistory", "summary": "Every revision of a site (planner token)", "security": bearer,
            "parameters": [site_id],
            "responses": {"200": _ok("The revisions, newest first.", "History"), **_errors(401, 403, 404, 405, 429)}}},
        "/api/sites/{site_id}/undelete": {"post": {
            "operationId": "undeleteSite", "summary": "Undo a delete (planner token)", "security": bearer,
            "parameters": [site_id],
            "responses": {"200": _ok("The site.", "Site", GEOJSON, etag), **_errors(*writes)}}},
        "/api/sites/{site_id}/restore": {"post": {
            "operationId": "restoreSite", "summary": "Put back an earlier revision (planner token)",
            "security": bearer, "parameters": [site_id, if_match],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["revision"], "properties": {"revision": ids}}}}},
            "responses": {"200": _ok("The site.", "Site", GEOJSON, etag), **_errors(*writes)}}},
        "/api/photos/{photo_id}": {"get": {
            "operationId": "showPhoto", "summary": "One photo",
            "parameters": [{"name": "photo_id", "in": "path", "required": True, "schema": ids}],
            "responses": {"200": _ok("The photo.", "Photo"), **_errors(401, 404, 405, 429)}}},
        "/api/import": {"post": {
            "operationId": "importSites", "summary": "Import a file of sites: a dry run, or commit=true (planner token)",
            "security": bearer, "parameters": [
                _query("commit", {"type": "boolean", "default": False}, "Write the file's creates and updates."),
                _query("datum", {"type": "string", "enum": list(sites.DATUMS)}, "The datum of the file's numbers."),
                _query("genre_default", {"type": "string", "enum": list(vocab.GENRES)}, "Genre of rows naming none."),
                _query("confirm_outside", {"type": "boolean"}, "Accept points outside the county."),
                _query("layer", {"type": "string"}, "Read only this layer.")],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"200": _ok("The report of a dry run (or of a commit that changed nothing).", "ImportReport"),
                          "201": _ok("The report of a commit that created sites.", "ImportReport"),
                          "422": _ok("The report of a commit refused because of invalid rows.", "ImportReport"),
                          **_errors(400, 401, 403, 405, 413, 415, 429)}}},
        "/api/sites/{site_id}/photos": {
            "parameters": [site_id],
            "get": {"operationId": "listSitePhotos", "summary": "A site's photos",
                    "responses": {"200": _ok("The photos.", "PhotoList"), **_errors(401, 404, 405, 429)}},
            "post": {"operationId": "uploadPhoto", "summary": "Add a JPEG, PNG, WebP or HEIC photo (planner token)",
                     "security": bearer,
                     "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                         "type": "object", "required": ["file"], "properties": {
                             "file": {"type": "string", "format": "binary"}, "caption": {"type": "string"}}}}}},
                     "responses": {"201": _ok("The photo.", "Photo"), **_errors(400, 401, 403, 404, 405, 413, 415, 429)}}},
        "/api/bases": {"get": {"operationId": "listBases", "summary": "The themed bases",
                               "responses": {"200": _ok("The bases.", "BaseCollection", GEOJSON)}}},
        "/api/boundary": {"get": {"operationId": "boundary", "summary": "The county's outline",
                                  "responses": {"200": _ok("The outline.", "Collection", GEOJSON)}}},
        "/api/vocabulary": {"get": {"operationId": "vocabulary", "summary": "The controlled vocabularies",
                                    "responses": {"200": _ok("Every vocabulary.", "Vocabulary")}}},
        "/healthz": {"get": {"operationId": "health", "summary": "Whether the database answers",
                             "responses": {"200": _ok("Healthy.", "Health"), "503": _ok("Not usable.", "Health")}}},
        "/api/packs": {"post": {
            "operationId": "createPack", "summary": "Create a location pack (no account needed)",
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("schemas", "PackInput")}}},
            "responses": {"201": _ok("The pack, with its edit token (shown once).", "Pack", headers=etag),
                          **_errors(400, 405, 413, 415, 429)}}},  # 30 new packs a minute per address
        "/api/packs/{pack_id}": {
            "parameters": [pack_id],
            "get": {"operationId": "showPack", "summary": "A pack with its sites",
                    "responses": {"200": _ok("The pack.", "Pack", headers=etag), **_errors(404, 405, 410)}},
            "patch": {"operationId": "updatePack", "summary": "Change a pack (edit token)", "parameters": pack_headers,
                      "requestBody": {"required": True, "content": {JSON: {"schema": _ref("schemas", "PackInput")}}},
                      "responses": {"200": _ok("The pack.", "Pack", headers=etag),
                                    **_errors(400, 403, 404, 405, 412, 413, 415)}},
            "delete": {"operationId": "deletePack", "summary": "Delete a pack (edit token)", "parameters": pack_headers,
                       "responses": {"204": {"description": "Deleted."}, **_errors(403, 404, 405, 412)}},
        },
        "/api/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3.0", "content": {
                                          JSON: {"schema": {"type": "object"}}}}}}},
    }

    text = {"type": "string", "nullable": True}
    # A facility and how it is known (scouting.facts); the served form adds label_zh/label_en.
    fact = {"type": "object", "required": ["facility", "status"], "properties": {
        "facility": {"type": "string", "enum": list(vocab.FACILITIES)},
        "status": {"type": "string", "enum": list(facts.STATUSES)},
        "source": {**text, "maxLength": facts.SOURCE_LIMIT}, "verified_by": {**text, "maxLength": facts.BY_LIMIT},
        "verified_at": {**text, "format": "date"},
        "verified_how": {"type": "string", "nullable": True, "enum": [*facts.VERIFY_METHODS, None]},
        "label_zh": {"type": "string"}, "label_en": {"type": "string"}}}
    site_props = {key: {"type": "string", "nullable": key not in sites.REQUIRED_TEXT, "maxLength": limit}
                  for key, limit in sites.TEXT_LIMITS.items()}
    site_props.update({
        field: {"type": "array", "items": {"type": "string", "enum": list(vocab.TAG_VOCABULARIES[name])}}
        for field, name in sites.TAG_FIELDS.items()})
    site_props.update(
        best_seasons={"type": "array", "items": {"type": "string", "enum": list(vocab.SEASONS)}},
        base={"type": "string", "nullable": True}, base_name_zh=text, base_name_en=text,
        elevation_m={"type": "number", "nullable": True}, area_m2={"type": "number", "nullable": True},
        coord_accuracy_m={"type": "integer"},
        position_method={"type": "string", "enum": list(vocab.POSITION_METHODS)},
        position_method_zh=text, position_method_en=text, approximate={"type": "boolean"},
        verified={"type": "boolean"}, created_at=text, updated_at=text, version={"type": "integer"},
        distance_m={"type": "number"}, elevation_label_zh=text, elevation_label_en=text,
        provenance_zh={"type": "string"}, provenance_en={"type": "string"},  # the source as a sentence, for people
        facility_status={"type": "array", "items": fact | {"required": [*fact["required"], "label_zh", "label_en"]}})
    point = {"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}}}
    site = {"type": "object", "required": ["type", "id", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "integer"}, "geometry": point,
        "properties": {"type": "object", "required": ["slug", "name_zh", "name_en", "genres", "version"],
                       "properties": site_props}}}
    # A themed base: its names, genres (with labels), the towns it centres on in both languages, its position's
    # notes and the public's provenance sentences, and how many sites belong to it.
    strings = {"type": "array", "items": {"type": "string"}}
    base_props = {
        "slug": {"type": "string"}, "number": {"type": "integer", "minimum": 1}, "name_zh": text, "name_en": text,
        "genres": site_props["genres"], "genre_labels": {"type": "array", "items": {
            "type": "object", "required": ["slug", "zh", "en"], "properties": {
                "slug": {"type": "string"}, "zh": {"type": "string"}, "en": {"type": "string"}}}},
        "towns": strings, "towns_en": strings, "description_zh": text, "description_en": text,
        "coord_source": text, "coord_accuracy_m": {"type": "integer"}, "position_method": site_props["position_method"],
        "facts_source": text, "verified": {"type": "boolean"}, "site_count": {"type": "integer", "minimum": 0},
        "provenance_zh": {"type": "string"}, "provenance_en": {"type": "string"}}
    base = {"type": "object", "required": ["type", "id", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "integer"}, "geometry": point,
        "properties": {"type": "object", "required": list(base_props), "properties": base_props}}}
    input_props = {key: {"type": "string", "maxLength": limit} for key, limit in sites.TEXT_LIMITS.items()}
    input_props.update({k: site_props[k] for k in (*sites.TAG_FIELDS, "best_seasons", "verified", "position_method")})
    # A plain term is reported (its source: facts_source); an object gives the status (verified: by, at, how).
    input_props["facilities"] = {"type": "array", "items": {"oneOf": [
        site_props["facilities"]["items"], fact | {"additionalProperties": False}]}}
    input_props.update(base={"type": "string", "enum": base_slugs, "nullable": True},
                       elevation_m={"type": "number", "minimum": -500, "maximum": 9000, "nullable": True},
                       area_m2={"type": "number", "minimum": 0, "maximum": 1e10, "nullable": True},
                       coord_accuracy_m={"type": "number", "minimum": 0, "maximum": 1e6})
    assert set(input_props) == set(sites.EDITABLE) - {"lon", "lat"}
    input_props["facility_status"] = {**site_props["facility_status"], "items": fact}  # as served; wins over facilities
    link = {"type": "object", "required": ["rel", "href"], "properties": {
        "rel": {"type": "string"}, "href": {"type": "string"}, "type": {"type": "string"}}}
    counts = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
    term = {"type": "object", "required": ["slug", "zh", "en"], "properties": {
        "slug": {"type": "string"}, "zh": {"type": "string"}, "en": {"type": "string"},
        # Position methods: the short label used inline (the long one defines it).
        "short_zh": {"type": "string"}, "short_en": {"type": "string"}}}
    problem = {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "invalid-params": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "reason"],
            "properties": {"name": {"type": "string"}, "reason": {"type": "string"}}}},
        "current": {"type": "object", "nullable": True}}}
    photo = {"type": "object", "required": ["id", "url", "thumb_url"], "properties": {
        "id": {"type": "integer"}, "url": {"type": "string"}, "thumb_url": {"type": "string"},
        "caption": text, "width": {"type": "integer"}, "height": {"type": "integer"}}}
    pack_props = {
        "name": {"type": "string", "minLength": 1, "maxLength": packs.MAX_NAME},
        "description": {"type": "string", "nullable": True, "maxLength": packs.MAX_DESCRIPTION},
        "site_ids": {"type": "array", "minItems": 1, "maxItems": packs.MAX_SITES, "items": ids},
        "notes": {"type": "object", "additionalProperties": {"type": "string", "nullable": True,
                                                              "maxLength": packs.MAX_NOTE}},
        "shoot_date": {"type": "string", "format": "date", "nullable": True},
        "expires_on": {"type": "string", "format": "date", "nullable": True}}
    assert set(pack_props) == set(packs.PACK_FIELDS)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Wencheng Scout JSON API", "version": "1.0.0",
                 "description": "Sites, facets, details, packs and photos as JSON/GeoJSON (WGS-84). Writes to "
                                "sites need a planner's API token (flask --app app create-token). Errors are "
                                "application/problem+json (RFC 9457)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "responses": {f"E{code}": {"description": text_, "content": {PROBLEM: {"schema": _ref("schemas",
                                                                                                   "Problem")}}}
                          for code, text_ in ERROR_TEXT.items()},
            "schemas": {
                "Problem": problem,
                "Link": link,
                "Site": site,
                "SiteInput": {"type": "object", "required": ["type"], "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "geometry": {"allOf": [point], "nullable": True},
                    "properties": {"type": "object", "properties": input_props, "additionalProperties": False}}},
                "NewSite": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                    "type": {"type": "string", "enum": ["Feature"]}, "geometry": point,
                    "properties": {"type": "object", "additionalProperties": False, "required": [
                        "name_zh", "name_en", "genres", "coord_source", "coord_accuracy_m", "position_method"],
                        "properties": input_props | {
                            "slug": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,64}$"},
                            "genres": {**input_props["genres"], "minItems": 1}}}}},
                "SiteCollection": {"type": "object", "required": ["type", "features", "numberMatched",
                                                                  "numberReturned", "links"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": _ref("schemas", "Site")},
                    "numberMatched": {"type": "integer", "minimum": 0},
                    "numberReturned": {"type": "integer", "minimum": 0},
                    "links": {"type": "array", "items": _ref("schemas", "Link")}}},
                "Base": base,
                "BaseCollection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": _ref("schemas", "Base")}}},
                "Collection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": {"type": "object", "required": ["type", "geometry"]}}}},
                "Facets": {"type": "object", "required": ["numberMatched", "counts"], "properties": {
                    "numberMatched": {"type": "integer", "minimum": 0},
                    "counts": {"type": "object", "required": ["genre", "terrain", "facility", "base"],
                               "properties": {k: counts for k in ("genre", "terrain", "facility", "base")}},
                    "without": counts}},
                "SiteDetails": {"type": "object", "required": ["feature", "coordinates", "sun"], "properties": {
                    "feature": _ref("schemas", "Site"),
                    "coordinates": {"type": "object", "properties": {
                        d: {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}}
                        for d in sites.DATUMS}},
                    "sun": {"type": "object", "required": ["date", "events"], "properties": {
                        "date": {"type": "string", "format": "date"}, "events": {"type": "array"}}},
                    "photos": {"type": "array"}}},
                "History": {"type": "object", "required": ["site_id", "revisions"], "properties": {
                    "site_id": {"type": "integer"}, "revisions": {"type": "array", "items": {
                        "type": "object", "required": ["id", "version", "action", "actor"]}}}},
                "Photo": photo,
                "ImportReport": {"type": "object", "required": ["file", "format", "dry_run", "committed", "totals",
                                                                "rows"], "properties": {
                    "file": {"type": "string"}, "format": {"type": "string"}, "datum": {"type": "string"},
                    "dry_run": {"type": "boolean"}, "committed": {"type": "boolean"}, "message": {"type": "string"},
                    "totals": counts, "rows": {"type": "array", "items": {
                        "type": "object", "required": ["row", "action"], "properties": {
                            "row": {"type": "integer"}, "action": {"type": "string", "enum": [
                                "create", "update", "unchanged", "duplicate", "invalid"]},
                            "error": {"type": "object", "required": ["name", "reason"]}}}}}},
                "PhotoList": {"type": "object", "required": ["site_id", "photos"], "properties": {
                    "site_id": {"type": "integer"}, "photos": {"type": "array", "items": photo}}},
                "Vocabulary": {"type": "object", "required": ["genres", "terrain", "facilities"], "properties": {
                    **{k: {"type": "array", "items": term}
                       for k in ("genres", "terrain", "facilities", "seasons", "position_methods", "facility_statuses",
                                 "verification_methods")},
                    "facility_icons": {"type": "object", "additionalProperties": {"type": "string"}},
                    # The map's colour of each genre (CSS hex), by slug.
                    "genre_colours": {"type": "object", "additionalProperties": {
                        "type": "string", "pattern": "^#[0-9a-f]{6}$"}}}},
                "Health": {"type": "object", "required": ["status", "database"], "properties": {
                    "status": {"type": "string", "enum": ["ok", "unavailable"]}, "database": {"type": "string"},
                    "sites": {"type": "integer"}, "detail": {"type": "string"}}},
                "PackInput": {"type": "object", "properties": pack_props, "additionalProperties": False},
                "Pack": {"type": "object", "required": ["id", "name", "site_ids", "version", "share_url"],
                         "properties": {**pack_props, "id": {"type": "string"}, "share_url": {"type": "string"},
                                        "version": {"type": "integer"}, "edit_token": {"type": "string"},
                                        "sites": {"type": "array", "items": _ref("schemas", "Site")},
                                        "notes": {"type": "object"},
                                        "created_at": {"type": "string"}, "updated_at": {"type": "string"}}},
            },
        },
    }
