"""Rate-limit counts shared between processes through Redis (RATELIMIT_STORAGE_URI), as gunicorn workers need.

Two separate app processes on one database stand for two workers; a real redis-server on a free port holds
the counts.  With memory:// the same requests are not held back, which shows what the shared storage does.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from .conftest import make_app
from .helpers import ROOT, ServerProcess, bearer, free_port, server_env, wait_for


@pytest.fixture(scope="module")
def redis_url():
    server = shutil.which("redis-server")
    if not server:
        pytest.fail("redis-server is not installed: make test installs it (Debian package redis-server)")
    import redis

    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)

    def answers() -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    try:
        wait_for(answers, "redis-server to answer", attempts=300)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workers")
    url = f"sqlite:///{tmp / 'scout.sqlite'}"
    app = make_app(url, tmp / "instance")
    app.extensions["scouting"]["engine"].dispose()
    return url, tmp / "instance"


def start_worker(database, storage_uri: str) -> ServerProcess:
    """An app process of its own (werkzeug's server) on the shared database, counting in `storage_uri`."""
    url, instance = database
    port = free_port()
    env = server_env(SCOUTING_DATABASE_URL=url, SCOUTING_SECRET_KEY="workers", PYTHONPATH=str(ROOT),
                     SCOUTING_RATELIMIT_STORAGE_URI=storage_uri)
    code = ("from scouting import create_app; from werkzeug.serving import run_simple; "
            f"run_simple('127.0.0.1', {port}, create_app(instance_path={str(instance)!r}))")
    return ServerProcess([sys.executable, "-c", code], port, env, instance.parent / f"worker-{port}.log").start()


def post(url: str, body: dict, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_two_workers_share_the_counts_through_redis(database, redis_url, storage):
    uri = redis_url if storage == "redis" else "memory://"
    if storage == "redis":
        import redis

        redis.Redis.from_url(redis_url).flushall()
    workers = [start_worker(database, uri) for _ in range(2)]
    try:
        bases = [worker.base for worker in workers]
        with urllib.request.urlopen(bases[0] + "/api/sites?limit=1") as resp:
            site_id = json.load(resp)["features"][0]["id"]
        # Wrong API tokens (30 a minute per address), sent to the two workers in turn.
        wrong = [post(bases[i % 2] + "/api/sites", {}, bearer(f"ws_guess{i}")) for i in range(32)]
        # Pack creation (30 a minute per address), likewise.
        packs = [post(bases[i % 2] + "/api/packs", {"name": f"p{i}", "site_ids": [site_id]}) for i in range(32)]
    finally:
        for worker in workers:
            worker.stop(timeout=10)
    if storage == "redis":
        assert wrong[:30] == [401] * 30 and wrong[30:] == [429, 429], f"wrong tokens not counted together: {wrong}"
        assert packs[:30] == [201] * 30 and packs[30:] == [429, 429], f"new packs not counted together: {packs}"
    else:  # each worker counts alone: 16 each, under the limit
        assert wrong == [401] * 32 and packs == [201] * 32, f"memory:// counts held requests back: {wrong} {packs}"
