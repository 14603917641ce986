"""Security headers on every response, cookies Secure over HTTPS, and the reverse-proxy set-up.

A small after_request hook rather than Flask-Talisman: Talisman decides Secure cookies once, from
configuration, and redirects HTTP to HTTPS itself; here the same configuration serves plain HTTP on a
laptop and HTTPS behind a proxy, deciding per request from `request.is_secure`.

Content-Security-Policy: scripts only from this origin or carrying the request's nonce (folium writes its
map as an inline script; every template's inline script and style carries `csp_nonce()`), no eval, no
inline event handlers, no plugins, no framing.  Images also from the basemap tile servers.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, has_request_context, request, url_for
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.urls import iri_to_uri

from ..maps import TILE_HOSTS

# One year; sent only on HTTPS answers (a browser ignores it over HTTP, and it would lock a plain-HTTP
# development host out of itself if it did not).
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """The request's nonce for inline <script> and <style> (one per request, 128 random bits)."""
    if not has_request_context():
        return ""  # rendering outside a request (the pack zip's print.html): no CSP applies there
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


# An inline <script> or <style> opening tag (no src=: external scripts are allowed by 'self').
_INLINE_TAG = re.compile(r"<(script|style)(?![^>]*\bsrc=)(?=[\s>])")


def with_nonce(html: str) -> Markup:
    """Give every inline <script> and <style> of trusted, generated markup (folium's map header) the nonce.

    Only for markup the app generated: a user's string never passes through here unescaped."""
    nonce = csp_nonce()
    # folium's own markup, not a user's string:
    return Markup(_INLINE_TAG.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', html))  # noqa: S704  # nosec


def offline_tile_origin(template: str | None) -> str | None:
    """The scheme://host[:port] of the offline packs' tile source (OFFLINE_TILE_URL), if one is configured."""
    if not template:
        return None
    parts = urlsplit(template)
    return f"{parts.scheme}://{parts.netloc}"


def tile_hosts(tianditu_key: str | None) -> list[str]:
    """The hosts basemap tiles come from; Tianditu's only when its key is configured."""
    if tianditu_key:
        return sorted(TILE_HOSTS)
    return sorted(host for host in TILE_HOSTS if not host.endswith(".tianditu.gov.cn"))


def content_security_policy(nonce: str | None, tianditu_key: str | None, offline_tiles: str | None = None) -> str:
    """The policy of one response; `nonce`: the one its inline <script>/<style> tags carry, None when it has none."""
    tiles = " ".join(f"https://{host}" for host in tile_hosts(tianditu_key))
    inline = f" 'nonce-{nonce}'" if nonce else ""
    # Saved packs download their tiles (connect-src) and show them (img-src) from the offline tile source.
    offline = f" {offline_tiles}" if offline_tiles else ""
    directives = {
        "default-src": "'self'",
        "script-src": f"'self'{inline}",
        # <style> elements need the nonce.  Style *attributes* in markup are allowed: the locate-me control
        # draws its position marker as SVG markup with style="" (L.Control.Locate builds it as a string),
        # which no nonce can cover.  A style attribute cannot run script; scripts stay nonce-only.
        "style-src": f"'self'{inline}",
        "style-src-attr": "'unsafe-inline'",
        "img-src": f"'self' data: blob: {tiles}{offline}",
        "font-src": "'self'",
        "connect-src": f"'self'{offline}",
        # The service worker (/sw.js) and the web app manifest: this site's own only.
        "worker-src": "'self'",
        "manifest-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        # The print view is opened as a page of its own, never framed: nothing may frame us.
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def public_base() -> str:
    """Where absolute links (share links, QR codes, OGC and API links, the print view) point, without a trailing
    slash: PUBLIC_URL.  A request's Host header is anyone's to write, so it is used only in debug and testing;
    in production without PUBLIC_URL links stay relative to this site (config warns at start-up)."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    if current_app.debug or current_app.testing:
        return request.url_root.rstrip("/")
    return request.script_root


def absolute_url(endpoint: str, **values) -> str:
    """url_for's URL for `endpoint`, on the public address."""
    return public_base() + url_for(endpoint, **values)[len(request.script_root):]


def public_request_url(with_query: bool = True) -> str:
    """The request's own URL (a self link), on the public address."""
    query = request.query_string.decode("latin-1") if with_query else ""
    return public_base() + iri_to_uri(request.path) + ("?" + query if query else "")


class SessionCookieSecureOverHttps(SecureCookieSessionInterface):
    """The session cookie (sign-in, CSRF token) is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def _set_headers(response: Response) -> Response:
    headers = response.headers
    # setdefault: a view that set a stricter policy (photo files: sandboxed) keeps it.
    # A nonce only where the page's markup used one: JSON, files and pages without inline tags allow no inline
    # code at all (and a read of the API skips 128 bits from the system's random source, ~9% of a radius page).
    headers.setdefault("Content-Security-Policy", content_security_policy(
        g.get("csp_nonce"), current_app.config.get("TIANDITU_KEY"),
        offline_tile_origin(current_app.config.get("OFFLINE_TILE_URL"))))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    # "Locate me" and "use my location" need geolocation; nothing needs a camera, microphone or payment.
    headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies > 0:
        # Behind N reverse proxies: trust their X-Forwarded-For (rate limits count the real client),
        # -Proto (HTTPS: Secure cookies, HSTS, https:// links) and -Host.  Never without a proxy: a
        # client could then claim any address or scheme.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.session_interface = SessionCookieSecureOverHttps()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["with_nonce"] = with_nonce
    app.after_request(_set_headers)
