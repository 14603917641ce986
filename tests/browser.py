"""Helpers for browser tests: the app served on loopback, Debian's Chromium driven by Playwright."""
from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from PIL import Image
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@contextmanager
def serving(server) -> Iterator[str]:
    """Run an HTTP server (werkzeug's or http.server's) in a thread; its loopback URL; shut down afterwards."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve(app):
    """The app on loopback, threaded, as a context of its URL."""
    return serving(make_server("127.0.0.1", 0, app, threaded=True))


class PageWatch:
    """Blocks every request that leaves the machine (tile servers) and records console errors."""

    def __init__(self, page):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.blocked_hosts: set[str] = set()
        page.on("console", self._on_console)
        page.on("pageerror", lambda err: self.page_errors.append(f"{err}\n{getattr(err, 'stack', '') or ''}".strip()))
        page.route("**/*", self._route)

    def _route(self, route):
        host = urlsplit(route.request.url).hostname
        if host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked_hosts.add(host)
            route.abort()

    def _on_console(self, msg):
        # A blocked tile answers with a failed load; that is the only error we allow.
        if msg.type == "error" and "net::ERR_FAILED" not in msg.text:
            self.console_errors.append(msg.text)


class TileServer:
    """A basemap tile server on loopback for offline tests: every /{z}/{x}/{y}.png is a small PNG, with CORS (a
    saved pack downloads its tiles with fetch()).  `requests` lists the paths asked for, in order."""

    def __init__(self):
        self.requests: list[str] = []
        self.tile = _tile_png()

    def serve(self):
        """The tile server on loopback, as a context of its URL."""
        return serving(ThreadingHTTPServer(("127.0.0.1", 0), self._handler()))

    def _handler(self):
        tiles = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                tiles.requests.append(self.path)
                if not re.fullmatch(r"/\d+/\d+/\d+\.png", self.path):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tiles.tile)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(tiles.tile)

            def log_message(self, *args):
                pass

        return Handler


def _tile_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (120, 170, 120)).save(buffer, "PNG")
    return buffer.getvalue()
