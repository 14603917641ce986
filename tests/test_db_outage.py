"""The database goes away and comes back: /healthz says so, pages and APIs answer 503 with a readable message
(never a 500, never the connection URL), and the same app recovers by itself when the database returns."""
from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

from scouting import create_app

from .conftest import drop_database, make_app, new_database_url
from .helpers import assert_one_language, free_port


class TcpProxy:
    """Forwards a local port to PostgreSQL; `stop()` closes the port and cuts every open connection, like a
    database server that went down, and `start()` brings it back on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would not on Linux
            listener.close()
        with self.lock:
            for sock in self.open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            server = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def assert_unavailable(client, secrets: tuple[str, ...] = ()) -> None:
    health = client.get("/healthz")
    assert health.status_code == 503
    body = health.get_json()
    assert body["status"] == "unavailable" and body["database"] in ("PostGIS", "SpatiaLite")

    api = client.get("/api/sites?genre=nature")
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert api.get_json()["title"] == "Database unavailable" and api.headers["Retry-After"]
    ogc = client.get("/ogc/collections/sites/items?f=json")
    assert ogc.status_code == 503 and ogc.mimetype == "application/problem+json"

    # Pages that read the database (the map page itself does not: its data comes from the API above).
    page = "/packs/" + "x" * 32
    zh = client.get(page + "?lang=zh", headers={"Accept": "text/html"})
    assert zh.status_code == 503 and zh.mimetype == "text/html"
    assert "数据库" in assert_one_language(zh.get_data(as_text=True), "zh")
    en = client.get(page + "?lang=en", headers={"Accept": "text/html"})
    assert en.status_code == 503 and "database is not answering" in assert_one_language(en.get_data(as_text=True), "en")
    ogc_page = client.get("/ogc/collections/sites/items?f=html")
    assert ogc_page.status_code == 503 and ogc_page.mimetype == "text/html"

    for response in (health, api, ogc, zh, en, ogc_page):
        text = response.get_data(as_text=True)
        assert "Traceback" not in text and "psycopg" not in text and "sqlite" not in text.lower()
        for secret in secrets:
            assert secret not in text


def assert_available(client) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"
    assert client.get("/api/sites?genre=nature").status_code == 200
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/ogc/collections/sites/items?f=html").status_code == 200


def test_postgis_going_away_and_coming_back(tmp_path):
    url = new_database_url("postgis", tmp_path)
    make_app(url, tmp_path / "seeding").extensions["scouting"]["engine"].dispose()
    parsed = make_url(url)
    proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    proxy.start()
    proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": proxied, "TESTING": True, "SECRET_KEY": "test"},
                     instance_path=str(tmp_path / "instance"))
    client = app.test_client()
    secrets = (parsed.database, f":{proxy.port}", f"{parsed.username}:{parsed.password}@")
    try:
        assert_available(client)  # the pool now holds live connections that the outage will cut
        proxy.stop()
        assert_unavailable(client, secrets)
        proxy.start()
        assert_available(client)  # the same app, not restarted
        proxy.stop()
        assert_unavailable(client, secrets)
        proxy.start()
        assert_available(client)
    finally:
        proxy.stop()
        app.extensions["scouting"]["engine"].dispose()
        drop_database(url)


def test_spatialite_file_out_of_reach_and_back(tmp_path):
    """The database's folder is missing (an unmounted disk, say): 503; once it is back, 200 again."""
    home = tmp_path / "disk" / "scout.sqlite"
    home.parent.mkdir()
    make_app(f"sqlite:///{home}", tmp_path / "seeding").extensions["scouting"]["engine"].dispose()
    app = create_app({"DATABASE_URL": f"sqlite:///{home}", "TESTING": True, "SECRET_KEY": "test"},
                     instance_path=str(tmp_path / "instance"))
    client = app.test_client()
    assert_available(client)
    app.extensions["scouting"]["engine"].dispose()  # SQLite keeps a file open per pooled connection
    aside = tmp_path / "unmounted"
    shutil.move(home.parent, aside)
    assert_unavailable(client)
    assert not Path(home.parent).exists()  # the failed requests did not create an empty database instead
    shutil.move(aside, home.parent)
    assert_available(client)
    app.extensions["scouting"]["engine"].dispose()
