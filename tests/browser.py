"""Helpers for browser tests: the app served on loopback, Debian's Chromium driven by Playwright."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@contextmanager
def serve(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


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
