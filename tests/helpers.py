"""Helpers the tests share, one of each: API tokens as headers, signing in through the form, the CSRF token of a
page, the text a person reads on a page and its one language, a free loopback port, bounded waits, and a server
(gunicorn as `make run` starts it, or any app command) run as a real process and waited for until /healthz answers.
Fixtures live in conftest.py; these are plain functions."""
from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
STAFF_PASSWORD = "correct horse battery"
# Forms render the hidden field with its type; the admin page's per-row forms without it.
CSRF_FIELD = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def bearer(token: str, **headers) -> dict:
    """Request headers that present an API token, plus any others."""
    return {"Authorization": f"Bearer {token}", **headers}


def auth(client, role: str = "planner", **headers) -> dict:
    """Bearer headers with the token of `role` from `client.tokens` (the `writer` fixture's planner and director)."""
    return bearer(client.tokens[role], **headers)


def csrf_of(html: str) -> str:
    """The CSRF token of a page's form."""
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF token field"
    return found.group(1)


def csrf(client, path: str = "/login", **kwargs) -> str:
    """The CSRF token of the page at `path` (the map's sign-out form carries one too)."""
    return csrf_of(client.get(path, **kwargs).get_data(as_text=True))


def sign_in(client, username: str = "ping", password: str = STAFF_PASSWORD, query: str = "", **kwargs):
    """Post the sign-in form as a browser does (its CSRF token from the form); the response, unchecked."""
    token = csrf(client, "/login", **kwargs)
    return client.post("/login" + query, data={"username": username, "password": password, "csrf_token": token},
                       **kwargs)


def site_form(page: str, name_zh: str, name_en: str, **fields) -> dict:
    """The planner's new-site form as a browser posts it (the page's CSRF token, a surveyed WGS-84 point inside the
    county), with `fields` changed."""
    return {"csrf_token": csrf_of(page), "name_zh": name_zh, "name_en": name_en, "genres": ["nature"],
            "terrain": ["forest"], "lon": "120.05", "lat": "27.80", "datum": "wgs84", "coord_source": "GNSS",
            "coord_accuracy_m": "5", "position_method": "surveyed", "base": ""} | fields


def signed_in(client, username: str = "ping", password: str = STAFF_PASSWORD):
    """The client, signed in (asserted: sign-in redirects)."""
    resp = sign_in(client, username, password)
    assert resp.status_code == 302, f"sign-in of {username} answered {resp.status_code}, not a redirect"
    return client


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, what: str, attempts: int = 900, interval: float = 0.1):
    """Poll condition() until it gives a true value, and return it; a bound against hanging (start-up waits),
    never an assertion on speed."""
    for _ in range(attempts):
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"gave up waiting for {what}")


def server_env(**variables: str) -> dict[str, str]:
    """This environment without any SCOUTING_ setting (the server is configured only by the test), plus these."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCOUTING_")} | variables


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """An opener handler that hands a redirect back as the answer (to check its status and headers)."""

    def redirect_request(self, *args, **kwargs):
        return None


class ServerProcess:
    """A server run as a real process of its own (a new session, so a kill reaches its workers too), on a loopback
    port, its output in `log`.  start() waits until /healthz answers 200; stop() is graceful (SIGTERM, then
    SIGKILL to the group if it hangs).  As a context: started on entry, stopped on exit."""

    def __init__(self, command: list[str], port: int, env: dict[str, str], log: Path):
        self.command, self.port, self.env, self.log = command, port, env, log
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self, **env: str) -> ServerProcess:
        """Start it with these variables over its environment; wait for /healthz."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
                self.command, cwd=ROOT, env=self.env | env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        wait_for(self._healthy, f"{self.command[0]} to answer /healthz on port {self.port}", attempts=240,
                 interval=0.25)
        return self

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log.read_text(errors='replace')}")
        try:
            return self.call("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def call(self, method: str, path: str, headers: dict | None = None, data: bytes | None = None,
             opener=None, timeout: float = 30) -> tuple[int, dict, bytes]:
        """(status, headers, body) of one request; redirects are answers, not followed, unless `opener` says."""
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with (opener or urllib.request.build_opener(NoRedirect)).open(request, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()

    def stop(self, timeout: float = 40) -> None:
        """SIGTERM (requests in flight finish); SIGKILL to the whole group if it does not end in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def gunicorn_command(port: int, workers: int = 2) -> list[str]:
    """The production server as `make run` starts it (gunicorn.conf.py, threaded workers), on a loopback port."""
    return [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--workers", str(workers),
            "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "app:app"]


def gunicorn(env: dict[str, str], log: Path, workers: int = 2) -> ServerProcess:
    """gunicorn as `make run` starts it on a free port, with `env` (its SCOUTING_ settings) over a clean
    environment.  Not started yet: call start() or use it as a context."""
    port = free_port()
    return ServerProcess(gunicorn_command(port, workers), port, server_env(**env), log)


def small_jpeg(colour: tuple[int, int, int] = (40, 110, 170)) -> bytes:
    """A 400x300 JPEG of one colour: a photo to upload."""
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(buffer, "JPEG")
    return buffer.getvalue()


# ---------------------------------------------------------------- one language per page

# What a person reads besides text: these attributes are shown (tooltips, placeholders) or read aloud.
READ_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label")
HIDDEN_ELEMENTS = {"script", "style", "template", "noscript"}
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:[-'][A-Za-z]+)*")
# ASCII punctuation touching a Chinese character: Chinese text takes its full-width forms (，：；（）！？).
ASCII_PUNCTUATION_IN_CHINESE = re.compile(r"[\u4e00-\u9fff][,:;!?(]|[,:;!?)][\u4e00-\u9fff]")
INTERNAL_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # snake_case: field names and vocabulary codes
# Latin words a Chinese page may show: names of formats, standards and systems, written the same in Chinese.
LATIN_IN_CHINESE = frozenset({
    "OGC", "API", "GeoJSON", "JSON", "HTML", "KML", "GPX", "CSV", "GeoPackage", "GPKG", "ZIP", "WGS", "GCJ",
    "CQL", "CQL2", "OpenAPI", "URL", "QR", "ID", "CRS", "EPSG", "CRS84", "PNG", "JPEG", "WebP", "HEIC", "EXIF", "GPS",
    "KMZ", "Shapefile", "UTC", "MB", "BD", "OpenStreetMap", "Esri", "OpenTopoMap", "Features", "km", "m"})


class _ReadText(HTMLParser):
    """The text of a page a person reads, in document order; elements marked with another `lang` (the
    language switch's "English" on a Chinese page) are left out, as are scripts and styles."""

    def __init__(self, page_lang: str):
        super().__init__(convert_charrefs=True)
        self.page_lang, self.parts, self.stack = page_lang, [], []

    def _skipping(self) -> bool:
        return any(self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        other = attrs.get("lang") and not attrs["lang"].lower().startswith(self.page_lang)
        skip = tag in HIDDEN_ELEMENTS or bool(other) or "hidden" in attrs
        if not skip and not self._skipping():
            self.parts.extend(attrs[name] for name in READ_ATTRIBUTES if attrs.get(name))
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in VOID_ELEMENTS and tag != "html":
            self.stack.append(skip)

    def handle_endtag(self, tag):
        if tag not in VOID_ELEMENTS and tag != "html" and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.parts.append(data.strip())


def page_language(html: str) -> str:
    """"zh" or "en": the page's own <html lang>."""
    found = re.search(r"<html[^>]*\blang=\"([^\"]+)\"", html)
    assert found, "the page has no <html lang>"
    return "zh" if found.group(1).lower().startswith("zh") else "en"


def visible_text(html: str) -> str:
    """What a person reads on the page (text, title, tooltips, placeholders), one piece a line."""
    parser = _ReadText(page_language(html))
    parser.feed(html)
    return "\n".join(parser.parts)


def assert_one_language(html: str, lang: str, allowed: frozenset[str] | set[str] = frozenset()) -> str:
    """Assert that the page is wholly in `lang` ("zh" or "en"): its <html lang> says so; an English page shows no
    Chinese character; a Chinese page no Latin word (but for LATIN_IN_CHINESE and `allowed`, e.g. a site's own
    English name) and no ASCII punctuation beside Chinese text; neither shows a snake_case internal code.
    Returns the visible text (for further checks)."""
    assert page_language(html) == lang, f"<html lang> is not {lang}"
    text = visible_text(html)
    codes = sorted(set(INTERNAL_CODE.findall(text)))
    assert not codes, f"internal codes shown on the {lang} page: {codes}\n{text}"
    if lang == "en":
        chinese = CJK.findall(text)
        assert not chinese, f"Chinese on the English page: {''.join(chinese)}\n{text}"
    else:
        latin = sorted({w for w in LATIN_WORD.findall(text) if w not in LATIN_IN_CHINESE and w not in allowed})
        assert not latin, f"Latin words on the Chinese page: {latin}\n{text}"
        punctuation = ASCII_PUNCTUATION_IN_CHINESE.findall(text)
        assert not punctuation, f"ASCII punctuation in Chinese text: {punctuation}\n{text}"
    return text
