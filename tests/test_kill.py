"""kill -9 of the production server (gunicorn, as `make run` starts it) in the middle of a bulk import and of
photo uploads; after a restart the database is sound, nothing half-written is visible and no stray files remain.

The server is paused at a known point inside the write by SCOUTING_TEST_PAUSE_AT (scouting/faults.py: read
from the server's environment only), so each kill lands where the test says; the mid-stream upload needs no
pause: the kill comes while the request body is still arriving.
"""
from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import socket
import threading
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text

from scouting.db import make_engine

from .conftest import drop_database, seeded_database_with_planner
from .helpers import ServerProcess, bearer, free_port, gunicorn_command, server_env, wait_for

pytestmark = pytest.mark.timeout(600)
IMPORT_ROWS = 300


class Server(ServerProcess):
    """gunicorn as `make run` starts it (threaded workers included) on a temporary instance, restartable with a
    pause point (SCOUTING_TEST_PAUSE_AT)."""

    def __init__(self, url: str, home: Path):
        self.home, self.marker, port = home, home / "paused", free_port()
        env = server_env(SCOUTING_DATABASE_URL=url, SCOUTING_SECRET_KEY="kill-test-secret",
                         SCOUTING_PHOTO_DIR=str(home / "photos"), SCOUTING_TEMP_DIR=str(home / "tmp"),
                         SCOUTING_IMPORT_KEEP_DIR=str(home / "imports"), SCOUTING_TEST_PAUSE_MARKER=str(self.marker),
                         # Nothing else writes to this instance, so whatever a crash left may go at once.
                         SCOUTING_SWEEP_AFTER_SECONDS="0")
        super().__init__(gunicorn_command(port), port, env, home / "server.log")

    def start(self, pause: str | None = None) -> Server:
        for old in self.home.glob(self.marker.name + ".*"):
            old.unlink()
        return super().start(**({"SCOUTING_TEST_PAUSE_AT": pause} if pause else {}))

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def workers(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def kill(self) -> None:
        """SIGKILL to the master and its workers (the process group this test started), and wait until gone."""
        pids = [self.process.pid, *self.workers()]
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        wait_for(lambda: not any(_alive(p) for p in pids), "the killed workers to be gone")

    def paused(self, point: str) -> int:
        """Wait until a worker has reached the pause point; its pid."""
        marker = self.marker.with_name(f"{self.marker.name}.{point}")
        return int(wait_for(lambda: marker.exists() and marker.read_text().strip(), f"the server to pause at {point}"))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def multipart(fields: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, (filename, data, mimetype) in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: {mimetype}\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def in_background(server: Server, method: str, path: str, body: bytes, headers: dict) -> threading.Thread:
    """A request that will never be answered (the server is killed during it)."""
    def send():
        try:
            server.request(method, path, body, headers, timeout=120)
        except (OSError, http.client.HTTPException):
            pass  # the connection dies with the server
    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def jpeg(side=600) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((side, side), 60).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def big_geojson() -> bytes:
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.04 + (i % 20) * 0.0015,
                                                                                  27.77 + (i // 20) * 0.0015]},
                 "properties": {"name_zh": f"断电测试{i}", "name_en": f"Kill test {i}", "genres": ["nature"]}}
                for i in range(IMPORT_ROWS)]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def instance(backend, tmp_path):
    """A migrated, seeded database with a planner and her token; the server's folders under tmp_path/home."""
    url, token = seeded_database_with_planner(backend, tmp_path, "ping")
    home = tmp_path / "home"
    home.mkdir()
    server = Server(url, home)
    server.token = token
    engine = make_engine(url)
    server.sql = lambda query: _query(engine, query)
    yield server
    if server.process and server.process.poll() is None:
        server.kill()
    engine.dispose()
    drop_database(url)


def _query(engine, query: str):
    with engine.connect() as conn:
        return conn.execute(text(query)).all()


def test_kill_9_during_import_and_photo_uploads(instance, backend):
    server, auth = instance, bearer(instance.token)
    sites_before = server.sql("SELECT count(*) FROM sites")[0][0]
    revisions_before = server.sql("SELECT count(*) FROM site_revisions")[0][0]
    site_id = server.sql("SELECT min(id) FROM sites")[0][0]
    photos, temp = server.home / "photos", server.home / "tmp"
    body, content_type = multipart({"file": ("a.jpg", jpeg(), "image/jpeg")})
    upload = {**auth, "Content-Type": content_type}

    # 1. Killed at once, in two workers: a bulk import with every row written into its transaction, just
    #    before the commit; and a photo upload with its files written under temporary names, before its row.
    server.start(pause="import-before-commit,photo-staged")
    geojson, geojson_type = multipart({"file": ("many.geojson", big_geojson(), "application/geo+json")})
    in_background(server, "POST", "/api/import?commit=true", geojson, {**auth, "Content-Type": geojson_type})
    server.paused("import-before-commit")
    assert [p.name[:13] for p in temp.iterdir()] == ["scout-upload-"]  # the upload's temporary copy
    in_background(server, "POST", f"/api/sites/{site_id}/photos", body, upload)
    server.paused("photo-staged")
    staged = files(photos)
    assert len(staged) == 3 and all(re.search(r"/\..+\.part$", name) for name in staged)
    server.kill()

    # 2. Restarted: the database is sound, the import wholly absent, the .part and temporary files swept.
    server.start(pause="photo-committed")
    if backend == "spatialite":
        assert server.sql("PRAGMA integrity_check") == [("ok",)]
    assert server.sql("SELECT count(*) FROM sites")[0][0] == sites_before
    assert server.sql("SELECT count(*) FROM site_revisions")[0][0] == revisions_before
    assert server.sql("SELECT count(*) FROM sites WHERE name_en LIKE 'Kill test%'")[0][0] == 0
    assert json.loads(server.request("GET", "/api/sites?q=Kill%20test")[1])["numberMatched"] == 0
    assert server.sql("SELECT count(*) FROM photos")[0][0] == 0
    assert files(temp) == [] and files(photos) == []

    # 3. Killed at once: an upload after its row's commit, before its files are renamed into place; and
    #    another in the second worker, mid-stream: half its body sent, the rest never comes.
    in_background(server, "POST", f"/api/sites/{site_id}/photos", body, upload)
    server.paused("photo-committed")
    assert server.sql("SELECT count(*) FROM photos")[0][0] == 1
    assert all(name.endswith(".part") for name in files(photos))
    big, big_type = multipart({"file": ("b.jpg", jpeg(1800), "image/jpeg")})
    spooled_before = {pid: _spooled(pid) for pid in server.workers()}
    stream = socket.create_connection(("127.0.0.1", server.port))
    head = (f"POST /api/sites/{site_id}/photos HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}"
            f"\r\nContent-Type: {big_type}\r\nContent-Length: {len(big)}\r\n\r\n").encode()
    stream.sendall(head + big[: len(big) // 2])
    # A worker is reading that body once it has spooled it to a new (unlinked) temporary file.  Threaded
    # workers (gunicorn.conf.py) may give it to the paused worker's next thread or to the other worker.
    wait_for(lambda: any(_spooled(pid) - spooled_before.get(pid, set()) for pid in server.workers()),
             "a worker to be reading the upload")
    server.kill()
    stream.close()

    # 4. Restarted: the committed photo is completed (its files renamed into place) and served; of the
    #    mid-stream upload nothing is anywhere; the instance works.
    server.start()
    if backend == "spatialite":
        assert server.sql("PRAGMA integrity_check") == [("ok",)]
    token, ext = server.sql("SELECT token, ext FROM photos")[0]
    assert len(files(photos)) == 3 and not any(name.endswith(".part") for name in files(photos))
    status, data = server.request("GET", f"/photos/{token}.{ext}")
    assert status == 200 and data[:3] == b"\xff\xd8\xff"
    assert server.request("GET", f"/photos/{token}/thumb.{ext}")[0] == 200
    assert files(temp) == []
    assert server.request("POST", f"/api/sites/{site_id}/photos", body, upload)[0] == 201
    assert server.sql("SELECT count(*) FROM photos")[0][0] == 2 and len(files(photos)) == 6
    server.kill()


def _spooled(pid: int) -> set[str]:
    """The unlinked temporary files the process holds, other than gunicorn's own heartbeat file."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return set()
    found = set()
    for fd in fds:
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.endswith("(deleted)") and "wgunicorn" not in link:
            found.add(f"{fd.name}:{link}")
    return found
