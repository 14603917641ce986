"""The production server as `make run` starts it (gunicorn.conf.py, two workers) on a real database (issue #15):
forwarded headers count only with SCOUTING_PROXY_FIX, and the rate limits hold for the whole site — through the
redis-server gunicorn.conf.py starts beside the workers when one is installed, else by each worker allowing its
share.  Real processes; bounded waits for start-up only, no assertion on time."""
from __future__ import annotations

import http.cookiejar
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

from .conftest import ROOT, drop_database, seeded_database_with_planner

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base: str, token: str, log: Path):
        self.base, self.token, self.log = base, token, log

    def call(self, method: str, path: str, headers: dict | None = None, data: bytes | None = None,
             opener=None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with (opener or urllib.request.build_opener(NoRedirect)).open(request, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def database(backend, tmp_path):
    url, token = seeded_database_with_planner(backend, tmp_path, "ping")
    yield url, token
    drop_database(url)


def _serve(database, tmp_path: Path, env: dict, workers: int = 2):
    """Start gunicorn as `make run` does; a context of (Server) that stops it gracefully."""
    url, token = database
    port = _free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCOUTING_") or k == "SCOUTING_TEST_POSTGIS_URL"}
    full_env |= {"SCOUTING_DATABASE_URL": url, "SCOUTING_SECRET_KEY": "gate-test",
                 "SCOUTING_PHOTO_DIR": str(tmp_path / "photos")} | env
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "app:app"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", token, log_path)
    for _ in range(240):  # start-up wait
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if server.call("GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.25)
    else:
        pytest.fail(f"gunicorn did not answer /healthz:\n{log_path.read_text(errors='replace')}")
    return proc, server


def _stop(proc) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


FORWARDED = [{"X-Forwarded-Proto": "https"}, {"X-Forwarded-Ssl": "on"}, {"X-Forwarded-Protocol": "ssl"}]


def _looks_secure(server: Server, headers: dict) -> tuple[bool, bool]:
    """(the session cookie is Secure, HSTS was sent) for GET /login with these headers."""
    status, answer, _body = server.call("GET", "/login", headers)
    assert status == 200
    cookies = [c for c in answer.get_all("Set-Cookie") or [] if c.startswith("session=")]
    assert cookies, answer
    return "Secure" in cookies[0], "Strict-Transport-Security" in answer


def test_forwarded_headers_count_only_with_proxy_fix(database, tmp_path):
    proc, server = _serve(database, tmp_path, {"SCOUTING_PROXY_FIX": "0"})
    try:
        for headers in FORWARDED:
            assert _looks_secure(server, headers) == (False, False), f"{headers} trusted without PROXY_FIX"
    finally:
        _stop(proc)
    proc, server = _serve(database, tmp_path, {"SCOUTING_PROXY_FIX": "1"})
    try:
        assert _looks_secure(server, {}) == (False, False)
        assert _looks_secure(server, {"X-Forwarded-Proto": "https"}) == (True, True)
    finally:
        _stop(proc)


def _wrong_sign_ins(server: Server, n: int) -> list[int]:
    """n sign-ins with a wrong password from one browser (its cookie and CSRF token), each on a new connection."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = server.call("GET", "/login", opener=opener)[2].decode()
    token = CSRF_FIELD.search(page).group(1)
    body = f"username=ping&password=wrong-password&csrf_token={token}".encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [server.call("POST", "/login", form, body, opener=opener)[0] for _ in range(n)]


def _wrong_tokens(server: Server, n: int) -> list[int]:
    return [server.call("GET", "/api/sites/1/photos", {"Authorization": f"Bearer ws_guess{i}"})[0] for i in range(n)]


def test_make_runs_two_workers_share_the_limits_through_a_redis_server_of_their_own(database, tmp_path):
    proc, server = _serve(database, tmp_path, {})
    try:
        log = server.log.read_text(errors="replace")
        socket_path = re.search(r"rate-limit counts shared by the workers in redis-server \d+ at (\S+)", log)
        assert socket_path, log
        assert _wrong_sign_ins(server, 12) == [401] * 10 + [429] * 2
        assert _wrong_tokens(server, 32) == [401] * 30 + [429] * 2
        valid = server.call("GET", "/api/sites/1/photos", {"Authorization": f"Bearer {server.token}"})[0]
        assert valid == 429, "after 30 wrong tokens the address is held, right token or wrong"
    finally:
        _stop(proc)
    assert not Path(socket_path.group(1)).exists(), "the redis-server's socket outlived gunicorn"


def test_without_redis_each_worker_allows_its_share(database, tmp_path):
    no_redis = tmp_path / "bin"  # a PATH without redis-server
    no_redis.mkdir()
    proc, server = _serve(database, tmp_path, {"PATH": str(no_redis)})
    try:
        assert "each of the 2 workers allows 1/2 of each rate limit" in server.log.read_text(errors="replace")
        sign_ins = _wrong_sign_ins(server, 12)
        assert sign_ins.count(401) <= 10 and 429 in sign_ins, sign_ins
        tokens = _wrong_tokens(server, 40)
        assert tokens.count(401) <= 30 and 429 in tokens, tokens
    finally:
        _stop(proc)


def test_one_worker_counts_alone_as_stated(database, tmp_path):
    proc, server = _serve(database, tmp_path, {"PATH": str(tmp_path)}, workers=1)
    try:
        assert _wrong_sign_ins(server, 12) == [401] * 10 + [429] * 2
    finally:
        _stop(proc)
