"""Concurrent clients against the production server: gunicorn as `make run` starts it (gunicorn.conf.py),
a real subprocess on a real database.  Planners' If-Match writes race with readers and with each other; every
answer must be a correct one (a 412 only for a PATCH that lost the race), the versions must add up, and the
server log must hold no "database is locked" and no traceback.  Bounded: 8 clients, a few seconds, a cap on
requests; no assertion on time.
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter

import pytest

from .conftest import drop_database, seeded_database_with_planner
from .helpers import ServerProcess, bearer, gunicorn

CLIENTS = 8
BURST_SECONDS = 4
MAX_REQUESTS_PER_CLIENT = 150
HOT_SITES = 2  # every planner edits the same two sites, so their writes really collide


def _call(server: ServerProcess, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    """(status, headers, body) of one request, with a JSON body when given."""
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers = {"Content-Type": "application/json", **(headers or {})}
    return server.call(method, path, headers, data, timeout=60)


@pytest.fixture
def server(backend, tmp_path):
    """gunicorn serving a seeded database of its own; yields (the server, planner token, log path)."""
    url, token = seeded_database_with_planner(backend, tmp_path, "burst")
    process = gunicorn({"SCOUTING_DATABASE_URL": url, "SCOUTING_SECRET_KEY": "burst-test",
                        "SCOUTING_PHOTO_DIR": str(tmp_path / "photos")}, tmp_path / "gunicorn.log")
    try:
        with process:  # stopped gracefully: requests in flight finish
            yield process, token, process.log
    finally:
        drop_database(url)


def test_concurrent_reads_and_if_match_writes(server):
    running, token, log_path = server
    site_ids = [f["id"] for f in json.loads(_call(running, "GET", "/api/sites?limit=1000")[2])["features"]]
    hot = site_ids[:HOT_SITES]
    start_versions = {i: int(_call(running, "GET", f"/api/sites/{i}")[1]["ETag"].strip('"')) for i in hot}
    answers: Counter = Counter()     # (kind, status) -> n
    saved: Counter = Counter()       # site id -> PATCHes answered 200
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + BURST_SECONDS
    auth = bearer(token)

    def client(number: int) -> None:
        rnd = random.Random(number)
        reads = [
            lambda: "/api/sites?genre=" + rnd.choice(["nature", "costume", "red", "wedding"]),
            lambda: "/api/sites/facets?terrain=" + rnd.choice(["waterfall", "river", "mountain"]),
            lambda: f"/api/sites/{rnd.choice(site_ids)}/details",
            lambda: "/api/sites?bbox=119.9,27.7,120.1,27.9",
            lambda: "/api/sites/export?format=" + rnd.choice(["csv", "geojson", "kml"]),
            lambda: "/ogc/collections/sites/items?f=json&limit=10",
        ]
        for serial in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() > deadline:
                return
            try:
                roll = rnd.random()
                if roll < 0.35:  # a planner's edit: read the ETag, then PATCH with If-Match
                    site = rnd.choice(hot)
                    status, headers, _ = _call(running, "GET", f"/api/sites/{site}")
                    record = [("site_get", status)]
                    if status == 200:
                        body = {"type": "Feature", "properties": {"access_notes_en": f"burst {number}-{serial}"}}
                        status, _, _ = _call(running, "PATCH", f"/api/sites/{site}", body,
                                             auth | {"If-Match": headers["ETag"]})
                        record.append(("site_patch", status))
                        if status == 200:
                            with lock:
                                saved[site] += 1
                elif roll < 0.45:
                    body = {"name": f"burst {number}", "site_ids": rnd.sample(site_ids, 2)}
                    record = [("pack_create", _call(running, "POST", "/api/packs", body)[0])]
                else:
                    record = [("read", _call(running, "GET", rnd.choice(reads)())[0])]
            except OSError as err:  # a refused or reset connection, or a timeout
                with lock:
                    errors.append(f"client {number}: {err!r}")
                return
            with lock:
                answers.update(record)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == [], "a client's connection was refused, reset or timed out"
    # 429: more new packs from one address than the rate limit allows (every client here is 127.0.0.1).
    allowed = {("read", 200), ("site_get", 200), ("site_patch", 200), ("site_patch", 412), ("pack_create", 201),
               ("pack_create", 429)}
    assert {k: n for k, n in answers.items() if k not in allowed} == {}, f"answers that are not correct ones: {answers}"
    assert answers[("site_patch", 200)] > 0 and answers[("read", 200)] > 0, f"no PATCH or no read succeeded: {answers}"
    # Every PATCH answered 200 is exactly one new version; a 412 wrote nothing.
    end_versions = {i: int(_call(running, "GET", f"/api/sites/{i}")[1]["ETag"].strip('"')) for i in hot}
    assert {i: end_versions[i] - start_versions[i] for i in hot} == {i: saved[i] for i in hot}, \
        "the new versions of a site are not exactly its PATCHes answered 200"
    log = log_path.read_text(errors="replace")
    assert "database is locked" not in log, "the server log holds 'database is locked'"
    assert "Traceback" not in log, "the server log holds a traceback"
    assert '" 500 ' not in log, "the server answered a 500"
