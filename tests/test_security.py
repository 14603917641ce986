"""Security headers, Secure cookies over HTTPS (direct or behind a proxy), rate limits, token entropy."""
from __future__ import annotations

import math
import re

import pytest
from sqlalchemy import func, select

from scouting import accounts, create_app, packs
from scouting.geodata import load_geodata
from scouting.models import Site

from .helpers import STAFF_PASSWORD, bearer, sign_in

INLINE_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b([^>]*)>", re.I)
EVENT_HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
URLSAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def csp(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {name: value for name, _, value in (d.strip().partition(" ") for d in header.split(";"))}


@pytest.mark.parametrize("path", ["/", "/login", "/suggest", "/ogc?f=html", "/ogc/collections/sites/items?f=html",
                                  "/api/sites?limit=1", "/ogc", "/static/js/map/main.js", "/healthz", "/no-such-page"])
def test_every_response_carries_the_headers(client, path):
    resp = client.get(path)
    policy = csp(resp)
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    # A nonce only in pages whose markup has inline tags (see the next test); JSON and files allow no inline code.
    page = resp.mimetype == "text/html" and "nonce=" in resp.get_data(as_text=True)
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{22}'" if page else "'self'", policy["script-src"]), path
    assert policy["style-src"] == policy["script-src"]
    if path in ("/", "/suggest", "/ogc?f=html"):
        assert page, f"{path} has inline tags, so a nonce"
    if path in ("/api/sites?limit=1", "/static/js/map/main.js", "/healthz"):
        assert not page, f"{path} has no markup, so no nonce"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'" and policy["form-action"] == "'self'" and policy["connect-src"] == "'self'"
    assert policy["img-src"].startswith("'self' data: blob: ")
    assert "https://tile.openstreetmap.org" in policy["img-src"] and "tianditu" not in policy["img-src"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "geolocation=(self)" in resp.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP


@pytest.mark.parametrize("path", ["/", "/login", "/suggest", "/ogc?f=html", "/no-such-page"])
def test_every_inline_script_and_style_carries_the_requests_nonce(client, path):
    first, second = client.get(path), client.get(path)
    html = first.get_data(as_text=True)
    inline = [attrs for tag, attrs in INLINE_SCRIPT_OR_STYLE.findall(html) if "src=" not in attrs]
    if not inline:
        assert csp(first)["script-src"] == "'self'", "no inline tags: no inline code allowed"
        return
    nonce = csp(first)["script-src"].split("'nonce-")[1].rstrip("'")
    assert nonce != csp(second)["script-src"].split("'nonce-")[1].rstrip("'")  # one per request
    assert all(f'nonce="{nonce}"' in attrs for attrs in inline), inline
    assert not EVENT_HANDLER_ATTRIBUTE.search(html)  # no onclick= and the like: a nonce cannot cover them


def test_pack_page_scripts_carry_the_nonce(client):
    site_ids = [f["id"] for f in client.get("/api/sites?limit=2").get_json()["features"]]
    token = client.post("/api/packs", json={"name": "Nonce", "site_ids": site_ids}).get_json()["id"]
    for path in (f"/packs/{token}", f"/packs/{token}/print"):
        resp = client.get(path)
        nonce = csp(resp)["script-src"].split("'nonce-")[1].rstrip("'")
        html = resp.get_data(as_text=True)
        inline = [attrs for tag, attrs in INLINE_SCRIPT_OR_STYLE.findall(html) if "src=" not in attrs]
        assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline), (path, inline)


def test_tianditu_tiles_are_allowed_only_with_a_key(fresh_app):
    assert "tianditu" not in fresh_app.test_client().get("/healthz").headers["Content-Security-Policy"]
    fresh_app.config["TIANDITU_KEY"] = "k"
    header = fresh_app.test_client().get("/healthz").headers["Content-Security-Policy"]
    assert all(f"https://t{n}.tianditu.gov.cn" in header for n in range(8))


def test_photo_files_keep_their_own_stricter_policy(fresh_app):
    from scouting.web.security import content_security_policy

    with fresh_app.test_request_context("/"):
        from flask import Response

        resp = Response("x")
        resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        resp = fresh_app.process_response(resp)
        assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert "nonce-abc" in content_security_policy("abc", None)


# --------------------------------------------------------------------------- cookies over HTTP and HTTPS

def _sign_in(client, password=STAFF_PASSWORD, **kwargs):
    return sign_in(client, "ping", password, **kwargs)


def _behind_one_proxy(writer):
    """A second app on the writer's database, configured as with SCOUTING_PROXY_FIX=1."""
    app = writer.application
    return create_app({"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True, "SECRET_KEY": "test-secret",
                       "PROXY_FIX": 1}, instance_path=app.instance_path)


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_plain_http_cookies_are_not_secure_and_no_hsts(writer):
    resp = _sign_in(writer)
    assert resp.status_code == 302
    cookie = _session_cookie(resp)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Strict-Transport-Security" not in resp.headers
    lang = writer.get("/?lang=en").headers.getlist("Set-Cookie")
    assert lang and all("Secure" not in c for c in lang)


def test_https_cookies_are_secure_with_hsts(writer):
    # Over HTTPS Flask-WTF also checks that the form was posted from this site (Referer).
    resp = _sign_in(writer, base_url="https://scout.example", headers={"Referer": "https://scout.example/login"})
    assert resp.status_code == 302
    assert "Secure" in _session_cookie(resp)
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    lang = writer.get("/?lang=en", base_url="https://scout.example").headers.getlist("Set-Cookie")
    assert lang and all("Secure" in c for c in lang)


def test_behind_a_proxy_forwarded_https_counts_only_when_configured(writer):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "Referer": "https://localhost/login"}
    # Without PROXY_FIX a client's own X-Forwarded-Proto is ignored.
    resp = _sign_in(writer, headers=forwarded)
    assert "Secure" not in _session_cookie(resp) and "Strict-Transport-Security" not in resp.headers

    proxied = _behind_one_proxy(writer).test_client()
    resp = _sign_in(proxied, headers=forwarded)
    assert "Secure" in _session_cookie(resp)
    assert "Strict-Transport-Security" in resp.headers
    assert proxied.get("/ogc?f=json", headers=forwarded).get_json()["links"][0]["href"].startswith("https://")


# --------------------------------------------------------------------------- rate limits

def test_login_is_rate_limited_with_a_readable_page(writer):
    codes = [_sign_in(writer, password="wrong").status_code for _ in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    page = _sign_in(writer, password="wrong")
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "Retry-After" in page.headers
    # Another address is not held back.
    assert _sign_in(writer, environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 302


def test_behind_a_proxy_rate_limits_count_the_forwarded_client(writer):
    client = _behind_one_proxy(writer).test_client()
    for _ in range(10):
        _sign_in(client, password="wrong", headers={"X-Forwarded-For": "203.0.113.1"})
    assert _sign_in(client, password="wrong", headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    assert _sign_in(client, headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 302


def test_wrong_bearer_tokens_are_rate_limited(writer):
    good = bearer(writer.tokens["planner"])
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.05, 27.8]}, "properties": {}}
    codes = [writer.post("/api/sites", json=body, headers=bearer(f"ws_guess{i}")).status_code
             for i in range(32)]
    assert codes[:30] == [401] * 30 and codes[30:] == [429, 429]
    refused = writer.post("/api/sites", json=body, headers=good)  # even a right token, while the address is held
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert "wrong API tokens" in refused.get_json()["detail"]
    assert writer.get("/api/sites/1/photos", headers={"Authorization": "Bearer x"}).status_code == 429
    other = {"REMOTE_ADDR": "198.51.100.20"}
    assert writer.post("/api/sites", json=body, headers=good, environ_base=other).status_code not in (401, 429)


def test_pack_creation_is_rate_limited(writer):
    site_ids = [f["id"] for f in writer.get("/api/sites?limit=1").get_json()["features"]]
    codes = [writer.post("/api/packs", json={"name": f"p{i}", "site_ids": site_ids}).status_code for i in range(31)]
    assert codes[:30] == [201] * 30 and codes[30] == 429
    answer = writer.post("/api/packs", json={"name": "x", "site_ids": site_ids})
    assert answer.mimetype == "application/problem+json" and answer.get_json()["status"] == 429


# --------------------------------------------------------------------------- token entropy

def _entropy_bits(tokens: list[str], prefix: str = "") -> float:
    """Bits of a token drawn uniformly from the URL-safe base64 alphabet, checked on the tokens themselves."""
    bodies = [t.removeprefix(prefix) for t in tokens]
    assert len(set(bodies)) == len(bodies)
    assert len({len(b) for b in bodies}) == 1
    used = set("".join(bodies))
    assert used <= URLSAFE
    assert len(used) > 50  # the tokens really spread over the 64-letter alphabet
    return len(bodies[0]) * math.log2(len(URLSAFE))


def test_share_edit_and_api_tokens_have_at_least_128_bits(fresh_app):
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", STAFF_PASSWORD, "planner")
        site_id = session.scalar(select(func.min(Site.id)))
        made = [packs.create_pack(session, {"name": f"p{i}", "site_ids": [site_id]}) for i in range(40)]
        share, edit = [p.token for p, _ in made], [e for _, e in made]
        api = [accounts.create_token(session, "ping") for _ in range(40)]
    assert _entropy_bits(share) >= 128 and _entropy_bits(edit) >= 128
    assert _entropy_bits(api, prefix="ws_") >= 128
    assert len(share[0]) == len(edit[0]) == 32  # 192 bits, as the README says
