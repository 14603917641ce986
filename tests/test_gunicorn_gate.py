"""The production server as `make run` starts it (gunicorn.conf.py, two workers) on a real database (issue #15):
forwarded headers count only with SCOUTING_PROXY_FIX, and the rate limits hold for the whole site — through the
redis-server gunicorn.conf.py starts beside the workers when one is installed, else by each worker allowing its
share.  Real processes; bounded waits for start-up only, no assertion on time."""
from __future__ import annotations

import http.cookiejar
import re
import urllib.request
from pathlib import Path

import pytest

from .conftest import drop_database, seeded_database_with_planner
from .helpers import NoRedirect, ServerProcess, bearer, csrf_of, gunicorn


@pytest.fixture
def database(backend, tmp_path):
    url, token = seeded_database_with_planner(backend, tmp_path, "ping")
    yield url, token
    drop_database(url)


def _server(database, tmp_path: Path, env: dict, workers: int = 2) -> ServerProcess:
    """gunicorn as `make run` starts it, on the test's database; `token` is the planner's API token."""
    url, token = database
    server = gunicorn({"SCOUTING_DATABASE_URL": url, "SCOUTING_SECRET_KEY": "gate-test",
                       "SCOUTING_PHOTO_DIR": str(tmp_path / "photos")} | env, tmp_path / "gunicorn.log", workers)
    server.token = token
    return server


FORWARDED = [{"X-Forwarded-Proto": "https"}, {"X-Forwarded-Ssl": "on"}, {"X-Forwarded-Protocol": "ssl"}]


def _looks_secure(server: ServerProcess, headers: dict) -> tuple[bool, bool]:
    """(the session cookie is Secure, HSTS was sent) for GET /login with these headers."""
    status, answer, _body = server.call("GET", "/login", headers)
    assert status == 200, f"GET /login with {headers} answered {status}"
    cookies = [c for c in answer.get_all("Set-Cookie") or [] if c.startswith("session=")]
    assert cookies, f"GET /login set no session cookie: {answer}"
    return "Secure" in cookies[0], "Strict-Transport-Security" in answer


def test_forwarded_headers_count_only_with_proxy_fix(database, tmp_path):
    with _server(database, tmp_path, {"SCOUTING_PROXY_FIX": "0"}) as server:
        for headers in FORWARDED:
            assert _looks_secure(server, headers) == (False, False), f"{headers} trusted without PROXY_FIX"
    with _server(database, tmp_path, {"SCOUTING_PROXY_FIX": "1"}) as server:
        assert _looks_secure(server, {}) == (False, False), "plain HTTP taken as HTTPS behind the proxy"
        assert _looks_secure(server, {"X-Forwarded-Proto": "https"}) == (True, True), \
            "X-Forwarded-Proto: https not trusted with PROXY_FIX=1"


def _wrong_sign_ins(server: ServerProcess, n: int) -> list[int]:
    """n sign-ins with a wrong password from one browser (its cookie and CSRF token), each on a new connection."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = server.call("GET", "/login", opener=opener)[2].decode()
    token = csrf_of(page)
    body = f"username=ping&password=wrong-password&csrf_token={token}".encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [server.call("POST", "/login", form, body, opener=opener)[0] for _ in range(n)]


def _wrong_tokens(server: ServerProcess, n: int) -> list[int]:
    return [server.call("GET", "/api/sites/1/photos", bearer(f"ws_guess{i}"))[0] for i in range(n)]


def test_make_runs_two_workers_share_the_limits_through_a_redis_server_of_their_own(database, tmp_path):
    with _server(database, tmp_path, {}) as server:
        log = server.log.read_text(errors="replace")
        socket_path = re.search(r"rate-limit counts shared by the workers in redis-server \d+ at (\S+)", log)
        assert socket_path, f"gunicorn did not say it started a redis-server:\n{log}"
        assert _wrong_sign_ins(server, 12) == [401] * 10 + [429] * 2, "the 11th wrong sign-in is not held back"
        assert _wrong_tokens(server, 32) == [401] * 30 + [429] * 2, "the 31st wrong token is not held back"
        valid = server.call("GET", "/api/sites/1/photos", bearer(server.token))[0]
        assert valid == 429, "after 30 wrong tokens the address is held, right token or wrong"
    assert not Path(socket_path.group(1)).exists(), "the redis-server's socket outlived gunicorn"


def test_without_redis_each_worker_allows_its_share(database, tmp_path):
    no_redis = tmp_path / "bin"  # a PATH without redis-server
    no_redis.mkdir()
    with _server(database, tmp_path, {"PATH": str(no_redis)}) as server:
        assert "each of the 2 workers allows 1/2 of each rate limit" in server.log.read_text(errors="replace"), \
            "gunicorn did not say how the workers share the limits without redis"
        sign_ins = _wrong_sign_ins(server, 12)
        assert sign_ins.count(401) <= 10 and 429 in sign_ins, f"wrong sign-ins not held back: {sign_ins}"
        tokens = _wrong_tokens(server, 40)
        assert tokens.count(401) <= 30 and 429 in tokens, f"wrong tokens not held back: {tokens}"


def test_one_worker_counts_alone_as_stated(database, tmp_path):
    with _server(database, tmp_path, {"PATH": str(tmp_path)}, workers=1) as server:
        assert _wrong_sign_ins(server, 12) == [401] * 10 + [429] * 2, "one worker does not count the whole limit"
