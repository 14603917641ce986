"""Absolute links come from SCOUTING_PUBLIC_URL, never from the request's Host header (issue #15), and the smaller
findings: public reads ignore Authorization schemes they do not use, packs answer a deleted site's id like an
unknown one.  Both databases (the `writer` fixture)."""
from __future__ import annotations

import pytest
import segno
from sqlalchemy import func, select

from scouting import create_app, sites
from scouting.models import Site

from .helpers import auth

PUBLIC = "https://scout.example.org"
EVIL = {"Host": "evil.example"}


def _app_on(writer, **config):
    """A second app on the writer's database with other settings (PUBLIC_URL, production mode)."""
    app = writer.application
    base = {"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True, "SECRET_KEY": "test-secret"}
    return create_app(base | config, instance_path=app.instance_path)


def _site_ids(client, n=2) -> list[int]:
    return [f["id"] for f in client.get(f"/api/sites?limit={n}").get_json()["features"]]


def _hrefs(body) -> list[str]:
    """Every href in a JSON document, however deep."""
    if isinstance(body, dict):
        return [v for k, v in body.items() if k == "href" and isinstance(v, str)] + \
            [h for v in body.values() for h in _hrefs(v)]
    if isinstance(body, list):
        return [h for v in body for h in _hrefs(v)]
    return []


def _qr_of(url: str) -> str:
    return segno.make(url, error="m").svg_inline(scale=4, dark="#1d3b2a")


def test_links_come_from_the_public_url_whatever_the_host_header(writer):
    client = _app_on(writer, PUBLIC_URL=PUBLIC + "/").test_client()  # a trailing slash is dropped
    made = client.post("/api/packs", json={"name": "Recce", "site_ids": _site_ids(client)}, headers=EVIL)
    assert made.status_code == 201
    share = made.get_json()["share_url"]
    assert share == f"{PUBLIC}/packs/{made.get_json()['id']}", share
    assert client.get(f"/api/packs/{made.get_json()['id']}", headers=EVIL).get_json()["share_url"] == share

    page = client.get(f"/packs/{made.get_json()['id']}", headers=EVIL).get_data(as_text=True)
    assert share in page and "evil.example" not in page
    assert _qr_of(share) in page, "the QR code does not encode the public share link"
    printed = client.get(f"/packs/{made.get_json()['id']}/print", headers=EVIL).get_data(as_text=True)
    assert share in printed and "evil.example" not in printed
    zipped = client.get(f"/api/packs/{made.get_json()['id']}/export?format=zip", headers=EVIL)
    assert zipped.status_code == 200 and b"evil.example" not in zipped.data

    for path in ("/ogc", "/ogc/collections", "/ogc/collections/sites/items?limit=2", "/ogc/collections/sites/items/1",
                 "/api/sites?limit=2&offset=2"):
        hrefs = _hrefs(client.get(path, headers=EVIL).get_json())
        assert hrefs and all(h.startswith(PUBLIC + "/") for h in hrefs), (path, hrefs)
    api_doc = client.get("/ogc/api", headers=EVIL).get_json()
    assert api_doc["servers"] == [{"url": PUBLIC + "/ogc"}]  # paths are relative to the landing page


def test_without_a_public_url_production_links_stay_relative(writer):
    app = _app_on(writer, TESTING=False)
    assert not app.debug and not app.config["PUBLIC_URL"]
    client = app.test_client()
    made = client.post("/api/packs", json={"name": "Recce", "site_ids": _site_ids(client)}, headers=EVIL)
    share = made.get_json()["share_url"]
    assert share == f"/packs/{made.get_json()['id']}", share
    page = client.get(share, headers=EVIL).get_data(as_text=True)
    assert "evil.example" not in page
    assert 'class="pack-qr"' not in page, "a QR code of a relative link leads nowhere"
    hrefs = _hrefs(client.get("/ogc/collections/sites/items?limit=2", headers=EVIL).get_json())
    assert hrefs and all(h.startswith("/ogc/") for h in hrefs), hrefs


def test_in_testing_and_debug_the_request_host_is_used(writer):
    made = writer.post("/api/packs", json={"name": "Recce", "site_ids": _site_ids(writer)})
    assert made.get_json()["share_url"].startswith("http://localhost/packs/")
    debug = _app_on(writer, TESTING=False, DEBUG=True).test_client()
    made = debug.post("/api/packs", json={"name": "Recce", "site_ids": _site_ids(debug)},
                      headers={"Host": "laptop.local:5000"})
    assert made.get_json()["share_url"].startswith("http://laptop.local:5000/packs/")


@pytest.mark.parametrize("value", ["scout.example.org", "ftp://scout.example.org", "https://", "https://x.org/?a=1",
                                   "https://x.org/#top", "https://user:pw@x.org"])
def test_a_wrong_public_url_stops_start_up_with_a_sentence(writer, value):
    with pytest.raises(ValueError, match="SCOUTING_PUBLIC_URL"):
        _app_on(writer, PUBLIC_URL=value)


# --------------------------------------------------------------------------- smaller findings

def test_public_reads_ignore_authorization_schemes_they_do_not_use(writer):
    site_id = _site_ids(writer, 1)[0]
    for header in ("Basic eDp5", "Digest username=x", "Negotiate abc"):
        resp = writer.get(f"/api/sites/{site_id}/photos", headers={"Authorization": header})
        assert resp.status_code == 200, (header, resp.status_code)
    # A write still needs a Bearer token, and says so.
    refused = writer.post(f"/api/sites/{site_id}/photos", headers={"Authorization": "Basic eDp5"})
    assert refused.status_code == 401 and "Bearer" in refused.get_json()["detail"]
    # Other schemes are not counted as wrong tokens: a planner's token still works after many of them.
    for _ in range(35):
        writer.get(f"/api/sites/{site_id}/photos", headers={"Authorization": "Basic eDp5"})
    good = writer.get(f"/api/sites/{site_id}/photos", headers=auth(writer))
    assert good.status_code == 200


def _delete_site(app, site_id: int) -> None:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        version = session.get(Site, site_id).version
        sites.delete_site(session, site_id, version, actor="ping")


def test_packs_answer_a_deleted_sites_id_like_an_unknown_one(writer):
    app = writer.application
    live, deleted = _site_ids(writer)
    _delete_site(app, deleted)
    with app.extensions["scouting"]["sessionmaker"]() as session:
        unknown = session.scalar(select(func.max(Site.id))) + 1000
    answers = {}
    for name, site_id in (("deleted", deleted), ("unknown", unknown)):
        resp = writer.post("/api/packs", json={"name": "Recce", "site_ids": [live, site_id]})
        assert resp.status_code == 400, (name, resp.status_code)
        body = resp.get_json()
        answers[name] = (body["status"], body["title"], body.get("parameter") or body.get("field"),
                         body["detail"].replace(str(site_id), "ID"))
    assert answers["deleted"] == answers["unknown"], answers


def test_a_pack_keeps_a_site_deleted_after_it_was_added(writer):
    app = writer.application
    first, second = _site_ids(writer)
    made = writer.post("/api/packs", json={"name": "Recce", "site_ids": [first, second]}).get_json()
    _delete_site(app, second)
    edit = {"X-Edit-Token": made["edit_token"]}
    renamed = writer.patch(f"/api/packs/{made['id']}", json={"notes": {str(first): "sunrise"}}, headers=edit)
    assert renamed.status_code == 200, renamed.get_json()
    reordered = writer.patch(f"/api/packs/{made['id']}", json={"site_ids": [second, first]}, headers=edit)
    assert reordered.status_code == 200, reordered.get_json()
