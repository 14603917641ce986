"""Planner writes through the API: roles, validation, optimistic locking, revisions, restore, soft delete."""
from __future__ import annotations

import threading

import prcoords
import pytest
from pyproj import Geod

from scouting import accounts

from .helpers import auth, csrf, csrf_of

GEOD = Geod(ellps="WGS84")
INSIDE = [120.05, 27.80]


def new_feature(**props):
    base = {"name_zh": "测试外景地", "name_en": "Test location", "genres": ["nature"], "terrain": ["forest"],
            "coord_source": "GNSS on site, 2026-11-26", "coord_accuracy_m": 5, "position_method": "surveyed"}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": INSIDE}, "properties": base | props}


def test_roles_for_every_write_route(writer):
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    sid = site["id"]
    routes = [("post", "/api/sites", new_feature()), ("patch", f"/api/sites/{sid}", {"type": "Feature", "properties": {}}),
              ("delete", f"/api/sites/{sid}", None), ("post", f"/api/sites/{sid}/undelete", None),
              ("post", f"/api/sites/{sid}/restore", {"revision": 1}), ("get", f"/api/sites/{sid}/history", None)]
    for method, url, body in routes:
        anonymous = getattr(writer, method)(url, json=body, headers={"If-Match": '"1"'})
        assert anonymous.status_code == 401, (method, url)
        assert "Bearer" in anonymous.get_json()["detail"]
        wrong = getattr(writer, method)(url, json=body, headers={"Authorization": "Bearer ws_guess", "If-Match": '"1"'})
        assert wrong.status_code == 401, (method, url)
        director = getattr(writer, method)(url, json=body, headers=auth(writer, "director", **{"If-Match": '"1"'}))
        assert director.status_code == 403, (method, url)
    # A browser session cookie is no authority for the API either (so the API needs no CSRF token).
    assert writer.get(f"/api/sites/{sid}").status_code == 200


def test_create_with_validation_per_field(writer):
    created = writer.post("/api/sites", json=new_feature(), headers=auth(writer))
    assert created.status_code == 201, created.get_json()
    assert created.headers["ETag"] == '"1"' and created.headers["Location"].startswith("/api/sites/")
    assert created.get_json()["properties"]["slug"] == "test-location"
    assert writer.get(created.headers["Location"]).status_code == 200
    cases = [
        (new_feature(name_zh=""), "name_zh", "required"),
        (new_feature(genres=["horror"]), "genres", "unknown term"),
        (new_feature(coord_accuracy_m=float("nan")), "coord_accuracy_m", None),
        (new_feature(name_en="x" * 201), "name_en", "at most 200"),
        (new_feature(owner="me"), "owner", "not a field"),
        ({**new_feature(), "geometry": {"type": "Point", "coordinates": [27.8, 120.05]}}, "geometry", "out of range"),
        ({**new_feature(), "geometry": {"type": "Point", "coordinates": [1e308, 27]}}, "geometry", "out of range"),
        ({**new_feature(), "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}, "geometry", "Point"),
        ({**new_feature(slug="test-location"), "geometry": {"type": "Point", "coordinates": [120.06, 27.81]}}, "slug",
         "already used"),
        ({**new_feature(name_en="Shanghai"), "geometry": {"type": "Point", "coordinates": [121.47, 31.23]}}, "geometry",
         "outside Wencheng"),
    ]
    for body, field, reason in cases:
        resp = writer.post("/api/sites", json=body, headers=auth(writer))
        if resp.status_code != 400 and field == "coord_accuracy_m":
            # JSON has no NaN: the client library refuses it, or the server reads it as invalid JSON.
            continue
        assert resp.status_code == 400, (field, resp.get_json())
        assert resp.get_json()["invalid-params"][0]["name"] == field
        if reason:
            assert reason in resp.get_json()["detail"], resp.get_json()["detail"]
    outside = writer.post("/api/sites?confirm_outside=true",
                          json={**new_feature(name_en="Just outside"), "geometry": {"type": "Point", "coordinates": [120.3, 27.8]}},
                          headers=auth(writer))
    assert outside.status_code == 201
    assert writer.post("/api/sites", data="<xml/>", headers=auth(writer, **{"Content-Type": "application/xml"})).status_code == 415
    bad_json = writer.post("/api/sites", data="{", headers=auth(writer, **{"Content-Type": "application/json"}))
    assert bad_json.status_code == 400


def test_pasted_gcj02_and_bd09_are_stored_as_wgs84(writer):
    wgs = (120.087835, 27.792163)
    glat, glon = prcoords.wgs_gcj((wgs[1], wgs[0]))
    blat, blon = prcoords.wgs_bd((wgs[1], wgs[0]))
    for datum, lon, lat, name in (("gcj02", glon, glat, "From Amap"), ("bd09", blon, blat, "From Baidu")):
        body = {**new_feature(name_en=name), "geometry": {"type": "Point", "coordinates": [lon, lat]}}
        resp = writer.post(f"/api/sites?datum={datum}", json=body, headers=auth(writer))
        assert resp.status_code == 201, resp.get_json()
        stored = resp.get_json()["geometry"]["coordinates"]
        _, _, error = GEOD.inv(wgs[0], wgs[1], *stored)
        assert error < 0.005  # millimetres
    assert writer.post("/api/sites?datum=utm", json=new_feature(), headers=auth(writer)).status_code == 400


def test_stale_edit_gets_412_and_loses_nothing(writer):
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    url = f"/api/sites/{site['id']}"
    etag = writer.get(url).headers["ETag"]
    assert writer.patch(url, json={"type": "Feature", "properties": {"name_en": "A"}}, headers=auth(writer)).status_code == 428
    first = writer.patch(url, json={"type": "Feature", "properties": {"name_en": "First planner"}},
                         headers=auth(writer, **{"If-Match": etag}))
    assert first.status_code == 200 and first.headers["ETag"] != etag
    second = writer.patch(url, json={"type": "Feature", "properties": {"description_en": "Second planner"}},
                          headers=auth(writer, **{"If-Match": etag}))
    assert second.status_code == 412
    assert second.get_json()["current"]["properties"]["name_en"] == "First planner"
    assert writer.get(url).get_json()["properties"]["description_en"] != "Second planner"


def test_concurrent_edits_every_accepted_one_is_in_the_history(writer):
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    url = f"/api/sites/{site['id']}"
    etag = writer.get(url).headers["ETag"]
    results = []

    def edit(n):
        client = writer.application.test_client()
        resp = client.patch(url, json={"type": "Feature", "properties": {"description_en": f"edit {n}"}},
                            headers=auth(writer, **{"If-Match": etag}))
        results.append((n, resp.status_code))

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for _, code in results)
    assert codes.count(200) == 1 and codes.count(412) == 5, results
    winner = next(n for n, code in results if code == 200)
    history = writer.get(f"{url}/history", headers=auth(writer)).get_json()["revisions"]
    updates = [r for r in history if r["action"] == "update"]
    assert len(updates) == 1 and updates[0]["after"]["description_en"] == f"edit {winner}"
    assert writer.get(url).get_json()["properties"]["description_en"] == f"edit {winner}"


def test_history_restore_and_soft_delete(writer):
    created = writer.post("/api/sites", json=new_feature(), headers=auth(writer)).get_json()
    url = f"/api/sites/{created['id']}"
    v = writer.get(url).headers["ETag"]
    writer.patch(url, json={"type": "Feature", "properties": {"name_en": "Renamed", "facilities": ["parking"]}},
                 headers=auth(writer, **{"If-Match": v}))
    history = writer.get(f"{url}/history", headers=auth(writer)).get_json()["revisions"]
    assert [r["action"] for r in history] == ["update", "create"]
    assert history[0]["actor"] == "ping" and set(history[0]["changed_fields"]) == {"name_en", "facilities"}
    assert history[0]["before"]["name_en"] == "Test location" and history[0]["after"]["name_en"] == "Renamed"
    # Restore the first version: a new revision, the name is back.
    v = writer.get(url).headers["ETag"]
    restored = writer.post(f"{url}/restore", json={"revision": history[1]["id"]}, headers=auth(writer, **{"If-Match": v}))
    assert restored.status_code == 200 and restored.get_json()["properties"]["name_en"] == "Test location"
    assert writer.get(f"{url}/history", headers=auth(writer)).get_json()["revisions"][0]["action"] == "restore"
    # Soft delete: gone from reads and searches, back with undelete.
    v = writer.get(url).headers["ETag"]
    assert writer.delete(url, headers=auth(writer, **{"If-Match": v})).status_code == 204
    assert writer.get(url).status_code == 404
    assert created["id"] not in [f["id"] for f in writer.get("/api/sites?limit=1000").get_json()["features"]]
    assert writer.post(f"{url}/undelete", headers=auth(writer)).status_code == 200
    assert writer.get(url).status_code == 200
    assert [r["action"] for r in writer.get(f"{url}/history", headers=auth(writer)).get_json()["revisions"]][:2] == \
        ["undelete", "delete"]


def test_a_create_revision_reads_the_sites_first_state_however_the_site_changed_since(writer):
    """A create stores no second copy of the new record (sites.CREATE_REVISION); the history reads it where it is
    stored once: the site itself until the first change, then that change's `before`."""
    from sqlalchemy import select

    from scouting.models import SiteRevision

    created = writer.post("/api/sites", json=new_feature(), headers=auth(writer)).get_json()
    url = f"/api/sites/{created['id']}"

    def history():
        return writer.get(f"{url}/history", headers=auth(writer)).get_json()["revisions"]

    first = history()[-1]
    assert first["action"] == "create" and first["before"] is None
    assert first["after"]["name_en"] == "Test location" and first["after"]["lon"] == created["geometry"]["coordinates"][0]
    assert first["changed_fields"] == sorted(k for k, v in first["after"].items() if v is not None)
    for change in ({"name_en": "Renamed"}, {"name_en": "Renamed again", "facilities": ["parking"]}):
        v = writer.get(url).headers["ETag"]
        writer.patch(url, json={"type": "Feature", "properties": change}, headers=auth(writer, **{"If-Match": v}))
        assert history()[-1] == first, "the create's record followed a later change"
    assert writer.delete(url, headers=auth(writer, **{"If-Match": writer.get(url).headers["ETag"]})).status_code == 204
    assert writer.post(f"{url}/undelete", headers=auth(writer)).status_code == 200
    revisions = history()
    assert [r["action"] for r in revisions] == ["undelete", "delete", "update", "update", "create"]
    assert revisions[-1] == first and revisions[-2]["before"] == first["after"]
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        stored = session.execute(select(SiteRevision.after, SiteRevision.changed_fields).where(
            SiteRevision.site_id == created["id"], SiteRevision.action == "create")).one()
    assert tuple(stored) == (None, None), "the create stored its record a second time"


def test_cli_users_and_tokens(fresh_app, monkeypatch):
    runner = fresh_app.test_cli_runner()
    monkeypatch.setenv("SCOUTING_PASSWORD", "a long enough password")
    result = runner.invoke(args=["create-user", "wang", "--role", "planner"])
    assert result.exit_code == 0 and "created planner wang" in result.output
    assert runner.invoke(args=["create-user", "wang", "--role", "planner"]).exit_code != 0
    monkeypatch.setenv("SCOUTING_PASSWORD", "short")
    result = runner.invoke(args=["create-user", "li", "--role", "planner"])
    assert result.exit_code != 0 and "at least 10" in result.output
    token = runner.invoke(args=["create-token", "wang"]).output.strip()
    assert token.startswith("ws_") and len(token) > 40
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        assert accounts.user_for_token(session, token).username == "wang"
        from scouting.models import ApiToken
        assert token not in [t.token_hash for t in session.query(ApiToken)]


def test_login_needs_csrf_and_is_rate_limited(fresh_app):
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, "ping", "correct horse battery", "planner")
    client = fresh_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    no_csrf = client.post("/login", data={"username": "ping", "password": "correct horse battery"})
    assert no_csrf.status_code == 400
    token = csrf_of(page)
    wrong = client.post("/login", data={"username": "ping", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    ok = client.post("/login", data={"username": "ping", "password": "correct horse battery", "csrf_token": token})
    assert ok.status_code == 302
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    token = csrf(client)  # sign-in started a new session
    statuses = [client.post("/login", data={"username": "x", "password": "y", "csrf_token": token}).status_code
                for _ in range(12)]
    assert 429 in statuses


def test_a_deleted_site_leaves_every_api_s_base_counts(writer):
    """The JSON API and the OGC API count a base's sites from one place: a deleted site counts in neither."""
    def counts():
        api = {f["properties"]["slug"]: f["properties"]["site_count"] for f in writer.get("/api/bases").get_json()["features"]}
        ogc = {f["properties"]["slug"]: f["properties"]["site_count"] for f in writer.get(
            "/ogc/collections/bases/items?f=json&limit=100").get_json()["features"]}
        return api, ogc

    site = next(f for f in writer.get("/api/sites?limit=100").get_json()["features"] if f["properties"]["base"])
    base = site["properties"]["base"]
    before_api, before_ogc = counts()
    assert before_api == before_ogc and before_api[base] > 0
    etag = writer.get(f"/api/sites/{site['id']}").headers["ETag"]
    assert writer.delete(f"/api/sites/{site['id']}", headers=auth(writer, **{"If-Match": etag})).status_code == 204
    after_api, after_ogc = counts()
    assert after_api[base] == before_api[base] - 1, "the JSON API no longer counts the deleted site"
    assert after_ogc == after_api, "the OGC bases collection says the same"
    base_id = next(f["id"] for f in writer.get("/ogc/collections/bases/items?f=json&limit=100").get_json()["features"]
                   if f["properties"]["slug"] == base)
    one = writer.get(f"/ogc/collections/bases/items/{base_id}?f=json").get_json()
    assert one["properties"]["site_count"] == after_api[base], "and so does the single base item"


def test_the_ogc_extent_leaves_deleted_sites_out(writer):
    features = writer.get("/api/sites?limit=100").get_json()["features"]
    east = max(features, key=lambda f: f["geometry"]["coordinates"][0])
    etag = writer.get(f"/api/sites/{east['id']}").headers["ETag"]
    assert writer.delete(f"/api/sites/{east['id']}", headers=auth(writer, **{"If-Match": etag})).status_code == 204
    rest = [f["geometry"]["coordinates"][0] for f in features if f["id"] != east["id"]]
    bbox = writer.get("/ogc/collections/sites?f=json").get_json()["extent"]["spatial"]["bbox"][0]
    assert bbox[2] == pytest.approx(max(rest)), "the collection's extent ends at the easternmost site not deleted"
