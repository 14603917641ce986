"""Helpers the tests share, one of each: API tokens as headers, signing in through the form, the CSRF token of a
page, a free loopback port, bounded waits, and a server (gunicorn as `make run` starts it, or any app command) run
as a real process and waited for until /healthz answers.  Fixtures live in conftest.py; these are plain functions."""
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
