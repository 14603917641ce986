"""Blueprints: thin views that parse, call the core, and render.  Errors map to HTTP here, once."""
from __future__ import annotations

from flask import Flask, Response, json, render_template, request
from werkzeug.exceptions import HTTPException

from ..errors import InvalidParameter, PreconditionFailed, ScoutingError


def register_blueprints(app: Flask) -> None:
    from . import auth, security
    from .admin import bp as admin_bp
    from .api import api
    from .imports import bp as imports_bp
    from .ogc import ogc
    from .packs import bp as packs_bp
    from .pages import pages
    from .photos import CSRF_EXEMPT as photo_token_writes
    from .photos import bp as photos_bp
    from .planner import bp as planner_bp
    from .planner_uploads import bp as planner_uploads_bp

    for blueprint in (api, imports_bp, ogc, packs_bp, pages, auth.bp, planner_bp, admin_bp, planner_uploads_bp,
                      photos_bp):
        app.register_blueprint(blueprint)
    auth.init_app(app)
    security.init_app(app)
    # These take no cookie as authority (API tokens, pack edit tokens, read-only OGC): no CSRF token needed.
    # Every other POST (pages' forms) must carry one.
    for blueprint in (api, imports_bp, packs_bp, ogc):
        auth.csrf.exempt(blueprint)
    for view in photo_token_writes:  # the photo API's writes take only Bearer tokens
        auth.csrf.exempt(view)
    _compress(app)

    @app.errorhandler(ScoutingError)
    def _core_error(err: ScoutingError):
        extra = {}
        if isinstance(err, InvalidParameter):
            extra["invalid-params"] = [{"name": err.name, "reason": err.reason}]
        if isinstance(err, PreconditionFailed):
            extra["current"] = err.current  # a stale edit gets what is stored now, to merge and retry
        return error_response(err.status, err.title, err.detail, extra)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        return error_response(err.code or 500, err.name, err.description or err.name, {})

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if _schema_out_of_date(err):
            app.logger.error("database schema out of date: %s", err)
            return error_response(503, "Database not migrated", "The database is older than this version of the "
                                   "app: run `flask --app app db upgrade` (make run does it).", {})
        app.logger.exception("unhandled error")
        return error_response(500, "Internal error", "Something went wrong on our side; it has been logged.", {})


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


def wants_json() -> bool:
    if request.path == "/ogc" or request.path.startswith("/ogc/"):
        from .ogc import wants_html

        return not wants_html()  # f=json, f=html, else the Accept header (JSON unless text/html is preferred)
    return (request.path.startswith("/api/") or request.path == "/healthz"
            or request.accept_mimetypes.best == "application/json")


def error_response(status: int, title: str, detail: str, extra: dict):
    if wants_json():
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    return render_template("error.html", status=status, title=title, detail=detail), status
