"""gunicorn's threaded worker, with the app's own page for a request line too long for gunicorn to read.

gunicorn reads a request line of at most 8190 bytes (`limit_request_line`; 0 would mean no limit at all, and its
Python parser then buffers and re-copies a line of any length in memory).  Past that it answers a bare English
"Request-URI Too Long" before the app sees the request.  This worker answers it instead with the app's 414 page
(scouting.web: "draw the area with fewer corners…") in the reader's language: it drops the rest of the line, reads
the headers that follow (a bounded amount) for the language (the `lang` cookie, Accept-Language) and Accept, and
hands the app a stand-in request marked URL_TOO_LONG.  The path is lost with the line, so an API client gets the
problem+json only when it sends Accept: application/json.
"""
from __future__ import annotations

import socket

from gunicorn.http.errors import LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.test import EnvironBuilder, run_wsgi_app

# The environ key the app's URL-length check looks for (scouting.web._refuse_long_urls).
URL_TOO_LONG = "scouting.url_too_long"
# What is read past gunicorn's limit, at most, to find the headers: the rest of the line and the head (~1 MiB),
# in chunks, keeping only the head; a slow client gets SOCKET_TIMEOUT for each read.
MAX_DRAIN = 1024 * 1024
MAX_HEAD = 16 * 1024
SOCKET_TIMEOUT = 5.0
# The headers that choose the page's language and format.
KEPT_HEADERS = ("cookie", "accept-language", "accept")


def headers_after_line(sock: socket.socket) -> dict[str, str]:
    """Read (and drop) the rest of an over-long request line, then the request's head; the KEPT_HEADERS found.
    Empty when the line or the head does not end within the bounds, or the client stops sending."""
    sock.settimeout(SOCKET_TIMEOUT)
    pending, head, read = b"", None, 0
    while read < MAX_DRAIN:
        try:
            chunk = sock.recv(64 * 1024)
        except OSError:
            return {}
        if not chunk:
            return {}
        read += len(chunk)
        if head is None:
            data = pending + chunk
            end_of_line = data.find(b"\r\n")
            if end_of_line < 0:
                pending = data[-1:]  # a CR may end this chunk and its LF begin the next
                continue
            head = data[end_of_line + 2:]
        else:
            head += chunk
        if head.startswith(b"\r\n") or b"\r\n\r\n" in head:
            return _kept(head.split(b"\r\n\r\n", 1)[0])
        if len(head) > MAX_HEAD:
            return {}
    return {}


def _kept(head: bytes) -> dict[str, str]:
    found = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in KEPT_HEADERS:
            found[name.strip()] = value.strip()
    return found


class Worker(ThreadWorker):
    """gunicorn.conf.py's worker_class: the gthread worker, with the app's 414 page for an over-long line."""

    def handle_error(self, req, client, addr, exc):
        if req is not None or not isinstance(exc, LimitRequestLine):
            return super().handle_error(req, client, addr, exc)
        try:
            headers = headers_after_line(client)
            environ = EnvironBuilder(path="/", headers=headers).get_environ()
            environ[URL_TOO_LONG] = True
            environ["REMOTE_ADDR"] = (addr or ("", 0))[0]
            body_iter, status, response_headers = run_wsgi_app(self.wsgi, environ)
            body = b"".join(body_iter)
            head = [f"HTTP/1.1 {status}"]
            head += [f"{name}: {value}" for name, value in response_headers.items()
                     if name.lower() not in ("content-length", "connection")]
            head += [f"Content-Length: {len(body)}", "Connection: close"]
            client.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            self.log.warning("Request line from ip=%s too long for gunicorn: %s (answered with the app's 414)",
                             (addr or ("",))[0], exc)
        except Exception:  # never worse than gunicorn's own answer
            self.log.exception("could not answer an over-long request line with the app's page")
            return super().handle_error(req, client, addr, exc)
        return None
