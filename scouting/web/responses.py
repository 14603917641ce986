"""How an error is answered: problem+json to programs, the error page to browsers.

Its own module so that any view (auth's rate limit, the app-wide handlers in scouting.web) can use it without
importing the package that registers the views.
"""
from __future__ import annotations

from flask import Response, json, render_template, request

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"


def wants_html() -> bool:
    """OGC API: HTML when f=html, or with no f when the client prefers text/html (a browser); JSON otherwise."""
    f = request.args.get("f")
    if f:
        return f == "html"
    best = request.accept_mimetypes.best_match([JSON, GEOJSON, HTML])
    return best == HTML


def wants_json() -> bool:
    if request.path == "/ogc" or request.path.startswith("/ogc/"):
        return not wants_html()  # f=json, f=html, else the Accept header (JSON unless text/html is preferred)
    # /field/...: the field page's JSON writes (the page itself is /field)
    return (request.path.startswith(("/api/", "/field/")) or request.path == "/healthz"
            or request.accept_mimetypes.best == "application/json")


def error_response(status: int, title: str, detail: str, extra: dict):
    if wants_json():
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    return render_template("error.html", status=status, title=title, detail=detail), status
