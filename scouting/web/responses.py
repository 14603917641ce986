"""How an error is answered: problem+json to programs, the error page to browsers.

Its own module so that any view (auth's rate limit, the app-wide handlers in scouting.web) can use it without
importing the package that registers the views.  Programs get the English title and detail (with parameter
names); people get a page wholly in their language: what happened and what to do, never a field name or
Werkzeug's English.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, json, render_template, request
from flask_babel import gettext as _

from ..i18n import LANGUAGES, current_language

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


def error_response(status: int, title: str, detail: str, extra: dict, page: str | None = None):
    """`title`, `detail` and `extra` are for programs (problem+json); a person gets the page of `status`, with
    `page` (a sentence already in the reader's language) in place of its usual explanation when given."""
    if wants_json():
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    heading, explanation, advice = error_page_text(status, request.path)
    other = next(code for code in LANGUAGES if code != current_language())
    # The same address in the other language (one leading slash: "//host" would leave the site); the map's own
    # address for a link too long to repeat.
    switch_path = "/" if status == 414 else "/" + quote(request.path.lstrip("/"), safe="/")
    return render_template("error.html", status=status, page_title=heading, explanation=page or explanation,
                           advice=None if page else advice, other_language=other,
                           other_language_name=LANGUAGES[other], other_language_url=f"{switch_path}?lang={other}"), status


def error_page_text(status: int, path: str = "/") -> tuple[str, str, str]:
    """(title, what happened, what to do) of the error page for `status`, in the request's language."""
    if path.startswith("/packs/") and status in (404, 410):
        return (_("No pack at this link") if status == 404 else _("This pack is no longer shared"),
                _("There is no location pack with this link.") if status == 404 else
                _("This location pack has expired or was deleted by its owner."),
                _("Check that the link was copied whole, or ask whoever shared it for a new link."))
    if path.startswith("/sites/") and status == 404:
        return (_("No such site"), _("There is no site with this number; it may have been removed."),
                _("Go back to the map and search for the site by name."))
    if status == 400 and request.method == "POST":  # a form: most often a page left open too long (its token,
        return (_("The request could not be used"),  # the site's version)
                _("The form sent a value that cannot be used, or the page was open too long."),
                _("Go back, reload the page and try again."))
    texts = {
        400: (_("The request could not be used"),
              _("A value in the link is not valid."),
              _("Check the link, or go back to the map and set the filters again.")),
        401: (_("Sign-in needed"), _("This page is for signed-in staff."),
              _("Sign in, then open the page again.")),
        403: (_("Not allowed"), _("Your account may not open this page or do this."),
              _("Ask an administrator if you need access.")),
        404: (_("Page not found"), _("There is nothing at this address."),
              _("Check the address for typing mistakes, or go back to the map.")),
        405: (_("Not possible here"), _("This address does not accept this kind of request."),
              _("Go back to the previous page and use its buttons and forms.")),
        410: (_("No longer available"), _("What this address pointed to has expired or been removed."),
              _("Ask whoever gave you the link for a new one.")),
        413: (_("Too large"), _("What you sent is larger than the server accepts."),
              _("Send a smaller file, or fewer files at a time.")),
        414: (_("This link is too long"), _("The address is longer than the server accepts."),
              _("Go back to the map and draw the area with fewer corners, or clear some filters.")),
        429: (_("Too many requests"), _("Too many requests came from your address in a short time."),
              _("Wait a minute, then try again.")),
        500: (_("Something went wrong"), _("Something went wrong on our side; it has been logged."),
              _("Try again in a moment; if it happens again, tell the site's staff.")),
        503: (_("Temporarily unavailable"), _("The service is not available just now."),
              _("Nothing you saved is lost; please try again in a minute.")),
    }
    if status in texts:
        return texts[status]
    if status >= 500:
        return texts[500]
    return texts[400]
