"""Blueprints: thin views that parse, call the core, and render.  Errors map to HTTP here, once."""
from __future__ import annotations

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from ..db import is_unreachable
from ..errors import InvalidParameter, PreconditionFailed, ScoutingError
from ..formats.geojson import site_feature
from ..plain_text import MAX_ID
from .responses import error_response


class IdConverter(IntegerConverter):
    """`<int:...>` in routes: a number beyond the database's integers matches no route (404), never reaches SQL."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, but a body nested too deep to parse is invalid JSON (a 400), not a RecursionError."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def stored_now(err: PreconditionFailed) -> dict | None:
    """What a stale edit is answered with: the stored site as a Feature (staff fields too: only editors write)."""
    return site_feature(err.site, include_staff=True) if err.site is not None else err.current


def register_blueprints(app: Flask) -> None:
    from . import audit as web_audit
    app.url_map.converters["int"] = IdConverter
    app.json = JSONProvider(app)
    from . import auth, security
    from .admin import bp as admin_bp
    from .api import api
    from .field import bp as field_bp
    from .imports import bp as imports_bp
    from .offline import bp as offline_bp
    from .ogc import ogc
    from .packs import bp as packs_bp
    from .pages import pages
    from .photos import CSRF_EXEMPT as photo_token_writes
    from .photos import bp as photos_bp
    from .planner import bp as planner_bp
    from .planner_uploads import bp as planner_uploads_bp

    for blueprint in (api, imports_bp, ogc, packs_bp, pages, auth.bp, planner_bp, admin_bp, planner_uploads_bp,
                      photos_bp, web_audit.bp, offline_bp, field_bp):
        app.register_blueprint(blueprint)
    auth.init_app(app)
    security.init_app(app)
    web_audit.init_app(app)
    _sweep_now_and_then(app)
    # These take no cookie as authority (API tokens, pack edit tokens, read-only OGC): no CSRF token needed.
    # Every other POST (pages' forms) must carry one.
    for blueprint in (api, imports_bp, packs_bp, ogc):
        auth.csrf.exempt(blueprint)
    for view in photo_token_writes:  # the photo API's writes take only Bearer tokens
        auth.csrf.exempt(view)
    _compress(app)
    _refuse_long_urls(app)

    @app.errorhandler(ScoutingError)
    def _core_error(err: ScoutingError):
        extra = {}
        if isinstance(err, InvalidParameter):
            problems = getattr(err, "problems", [err])  # InvalidParameters: every wrong field at once
            extra["invalid-params"] = [{"name": p.name, "reason": p.reason} for p in problems]
        if isinstance(err, PreconditionFailed):
            extra["current"] = stored_now(err)  # a stale edit gets what is stored now, to merge and retry
        return error_response(err.status, err.title, err.detail, extra)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        response = app.make_response(error_response(err.code or 500, err.name, err.description or err.name, {}))
        if "Allow" in dict(err.get_headers()):  # a 405 says which methods the address takes (RFC 9110)
            response.headers["Allow"] = dict(err.get_headers())["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if is_unreachable(err):
            return _database_unavailable(err)
        if _schema_out_of_date(err):
            app.logger.error("database schema out of date: %s", err)
            return error_response(503, "Database not migrated", "The database is older than this version of the "
                                   "app: run `flask --app app db upgrade` (make run does it).", {})
        app.logger.exception("unhandled error")
        return error_response(500, "Internal error", "Something went wrong on our side; it has been logged.", {})


# The longest URL (path and query) the app serves.  gunicorn.conf.py's limit_request_line is a little above it (the
# method and protocol fill the rest of the request line), so a longer URL gets our own page in the reader's language,
# not gunicorn's bare "Request-URI Too Long"; one too long for gunicorn to read gets that page too, through
# gunicorn_worker.  A drawn area of the API's 500 corners, encoded as a polyline, with
# every other filter set, stays well under it.
MAX_URL_LENGTH = 8000


def _refuse_long_urls(app: Flask) -> None:
    from flask_babel import gettext as _

    @app.before_request
    def _url_length():
        environ = request.environ
        too_long_for_gunicorn = environ.get("scouting.url_too_long")  # gunicorn_worker.URL_TOO_LONG
        if (not too_long_for_gunicorn
                and len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) + 1 <= MAX_URL_LENGTH):
            return None
        return error_response(414, "URI too long", f"The URL is longer than {MAX_URL_LENGTH} characters; "
                              "send fewer or shorter parameters (area=polyline:... is the compact form of area).", {},
                              page=_("The map's address has grown longer than the server accepts, most likely "
                                     "because of a drawn area with very many corners. Go back and draw the area "
                                     "with fewer corners, or clear some filters."))


def sweep_folders(app: Flask, older_than: float):
    """Sweep the instance's photo, temporary and import folders (scouting.sweep) with the app's settings."""
    from .. import sweep
    from ..imports.staging import staging_root
    from .photos import photo_store

    with app.app_context():
        photo_dir = photo_store().root
    import_dir = staging_root(app.config, app.instance_path)
    known = sweep.database_tokens(app.extensions["scouting"]["sessionmaker"])
    return sweep.sweep(known, photo_dir, app.config["TEMP_DIR"], import_dir, older_than)


def _sweep_now_and_then(app: Flask) -> None:
    """Each process sweeps at its first request, then at most every SWEEP_INTERVAL_SECONDS; a sweep touches
    only files older than SWEEP_AFTER_SECONDS, so requests running in other workers are safe."""
    import threading
    import time

    lock, due = threading.Lock(), [0.0]

    @app.before_request
    def _sweep():
        if time.monotonic() < due[0] or not lock.acquire(blocking=False):
            return
        try:
            due[0] = time.monotonic() + float(app.config["SWEEP_INTERVAL_SECONDS"])
            report = sweep_folders(app, float(app.config["SWEEP_AFTER_SECONDS"]))
            if report:
                app.logger.warning("%s (left by a crash)", report.summary())
        except Exception as err:  # never fail a request for housekeeping; the next interval tries again
            app.logger.warning("sweep skipped: %s", err)
        finally:
            lock.release()


def _database_unavailable(err: Exception):
    """503 with a readable sentence and no connection details; the engine reconnects by itself later
    (PostGIS: pool_pre_ping; SpatiaLite opens its file per connection)."""
    from flask import current_app
    from flask_babel import gettext as _

    current_app.logger.warning("database unreachable: %s", getattr(err, "orig", err))
    response = error_response(503, "Database unavailable", "The database is not answering just now; "
                              "try again in a minute.", {}, page=_(
                                  "The map's database is not answering just now. Nothing you saved is lost; "
                                  "please try again in a minute."))
    if isinstance(response, tuple):
        response = current_app.make_response(response)
    response.headers["Retry-After"] = "30"
    return response
# Compressed on the way out: the map page, its scripts and styles (~610 KB as files, ~170 KB compressed) and
# the read API.  Not the responses whose ETag is a version that writes send back in If-Match (Flask-Compress
# appends ":br" to a strong ETag), nor file downloads.
COMPRESSED_ENDPOINTS = {"static", "pages.index", "api.list_sites", "api.site_facets", "api.site_clusters",
                        "api.list_bases", "api.boundary", "api.vocabulary", "api.show_site_details"}


def _compress(app: Flask) -> None:
    from flask_compress import Compress

    app.config.setdefault("COMPRESS_REGISTER", False)
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/css", "text/javascript", "application/javascript",
                                                 "application/json", "application/geo+json", "image/svg+xml"])
    compress = Compress(app)

    @app.after_request
    def _compressed(response):
        if request.endpoint in COMPRESSED_ENDPOINTS:
            return compress.after_request(response)
        return response


def _schema_out_of_date(err: Exception) -> bool:
    """A missing table or column: the code is newer than the database's migrations."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(getattr(err, "orig", err)).lower()
    return isinstance(err, OperationalError | ProgrammingError) and any(
        marker in text for marker in ("no such table", "no such column", "does not exist"))
