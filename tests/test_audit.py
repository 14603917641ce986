"""The audit log: every write route leaves one event (who, how, from where) in the transaction of its change;
refused or rolled-back writes leave none; the page is for staff, the export for admins.  Both databases."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import func, select

from scouting import accounts, audit, audit_text
from scouting.models import AuditEvent, Site, Suggestion, User

from .helpers import STAFF_PASSWORD as PASSWORD
from .helpers import assert_one_language, auth, csrf, sign_in
from .test_photos import geotagged_jpeg
from .test_planner_uploads import geojson, post_file
from .test_site_writes import new_feature

API_ADDR, WEB_ADDR, ANON_ADDR = "203.0.113.10", "198.51.100.20", "192.0.2.30"
AGENT = "audit-test/1.0 (curl-like)"

# Non-GET routes that change no stored data, and why.  Every other non-GET route must be in SCENARIOS below.
NOT_WRITES = {
    "auth.logout": "ends the session only",
    "planner_uploads.new_from_photo": "reads a photo's GPS; nothing is stored",
    "planner_uploads.import_dry_run": "a dry run: the report only (the commit is audited)",
    "photos.locate_photo": "reads a photo's GPS; nothing is stored",
}


def events(app, **where) -> list[AuditEvent]:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        query = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
        return list(session.scalars(query))


def event_count(app) -> int:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def client_at(app, addr: str, agent: str = AGENT):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=addr, HTTP_USER_AGENT=agent)
    return client


def signed_in_at(app, username: str, addr: str = WEB_ADDR):
    client = client_at(app, addr)
    resp = sign_in(client, username)
    assert resp.status_code == 302, f"sign-in of {username}: {resp.get_data(as_text=True)[:300]}"
    client.csrf = csrf(client, "/")  # sign-in starts a new session (the map: sign-out form)
    return client


@pytest.fixture
def staff(writer):
    """The seeded database of `writer` plus an admin; clients: API (planner token), planner and admin sessions."""
    from scouting.web.auth import limiter

    limiter.reset()  # sign-ins are rate-limited per address; these tests sign in often from a few addresses
    app = writer.application
    with app.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, "boss", PASSWORD, "admin")
        ids = {u.username: u.id for u in session.scalars(select(User))}
        token_ids = {name: session.scalar(select(func.max(AuditEvent.object_id)).where(
            AuditEvent.action == "token.create", AuditEvent.summary == f"for {name}")) for name in ("ping", "dir")}
    api = client_at(app, API_ADDR)
    api.tokens = writer.tokens
    return {"app": app, "api": api, "ids": ids, "token_ids": token_ids,
            "ping": signed_in_at(app, "ping"), "boss": signed_in_at(app, "boss"), "anon": client_at(app, ANON_ADDR)}


def site_form(version: str | None = None, **fields) -> dict:
    form = {"name_zh": "审计外景地", "name_en": "Audit site", "genres": ["nature"], "terrain": ["forest"],
            "lon": "120.05", "lat": "27.80", "datum": "wgs84", "coord_source": "GNSS", "coord_accuracy_m": "5",
            "position_method": "surveyed", "base": ""}
    if version:
        form["version"] = version
    return form | fields


def etag(client, sid: int) -> str:
    return client.get(f"/api/sites/{sid}").headers["ETag"]


# --------------------------------------------------------------------------- every write route, one scenario each

def _api_site_writes(s) -> list[tuple[str, tuple]]:
    api, out = s["api"], []
    created = api.post("/api/sites", json=new_feature(name_en="Audit API site"), headers=auth(api))
    assert created.status_code == 201
    sid = created.get_json()["id"]
    out.append(("api.create_site", ("site.create", "site", str(sid))))
    resp = api.patch(f"/api/sites/{sid}", json={"type": "Feature", "properties": {"name_en": "Renamed"}},
                     headers=auth(api, **{"If-Match": etag(api, sid)}))
    assert resp.status_code == 200
    out.append(("api.update_site", ("site.update", "site", str(sid))))
    assert api.delete(f"/api/sites/{sid}", headers=auth(api, **{"If-Match": etag(api, sid)})).status_code == 204
    out.append(("api.delete_site", ("site.delete", "site", str(sid))))
    assert api.post(f"/api/sites/{sid}/undelete", headers=auth(api)).status_code == 200
    out.append(("api.undelete_site", ("site.undelete", "site", str(sid))))
    first = api.get(f"/api/sites/{sid}/history", headers=auth(api)).get_json()["revisions"][-1]["id"]
    resp = api.post(f"/api/sites/{sid}/restore", json={"revision": first}, headers=auth(api, **{"If-Match": etag(api, sid)}))
    assert resp.status_code == 200
    out.append(("api.restore_site", ("site.restore", "site", str(sid))))
    return out


def _api_other_writes(s) -> list[tuple[str, tuple]]:
    api, out = s["api"], []
    rows = [{"name_zh": "审计导入", "name_en": "Audit Import", "lon": 120.0612, "lat": 27.7634, "genres": ["nature"]}]
    resp = api.post("/api/import", data={"file": (io.BytesIO(geojson(rows)), "rows.geojson"), "commit": "true"},
                    headers=auth(api))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    out.append(("imports.import_sites", ("import.commit", "import", None)))
    sid = s["api"].get("/api/sites?limit=1").get_json()["features"][0]["id"]
    resp = api.post(f"/api/sites/{sid}/photos", data={"file": (io.BytesIO(geotagged_jpeg((300, 200))), "a.jpg")},
                    headers=auth(api))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    photo = resp.get_json()["id"]
    out.append(("photos.upload_photo", ("photo.upload", "photo", str(photo))))
    assert api.delete(f"/api/photos/{photo}", headers=auth(api)).status_code == 204
    out.append(("photos.delete_photo", ("photo.delete", "photo", str(photo))))
    return out


def _pack_writes(s) -> list[tuple[str, tuple]]:
    anon, out = s["anon"], []
    sid = anon.get("/api/sites?limit=2").get_json()["features"][0]["id"]
    created = anon.post("/api/packs", json={"name": "Audit pack", "site_ids": [sid]})
    assert created.status_code == 201
    body = created.get_json()
    with s["app"].extensions["scouting"]["sessionmaker"]() as session:
        from scouting.models import Pack
        pack_id = str(session.scalar(select(Pack.id).where(Pack.token == body["id"])))
    out.append(("packs.create_pack", ("pack.create", "pack", pack_id)))
    headers = {"X-Edit-Token": body["edit_token"]}
    assert anon.patch(f"/api/packs/{body['id']}", json={"name": "Renamed"}, headers=headers).status_code == 200
    out.append(("packs.update_pack", ("pack.update", "pack", pack_id)))
    assert anon.delete(f"/api/packs/{body['id']}", headers=headers).status_code == 204
    out.append(("packs.delete_pack", ("pack.delete", "pack", pack_id)))
    return out


def _form_site_writes(s) -> list[tuple[str, tuple]]:
    ping, out = s["ping"], []
    resp = ping.post("/sites/new", data=site_form(csrf_token=ping.csrf))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    sid = int(resp.headers["Location"].split("site=")[1])
    out.append(("planner.edit", ("site.create", "site", str(sid))))
    resp = ping.post(f"/sites/{sid}/edit", data=site_form(etag(ping, sid).strip('"'), name_en="Form renamed",
                                                          csrf_token=ping.csrf))
    assert resp.status_code == 302
    out.append(("planner.edit", ("site.update", "site", str(sid))))
    resp = ping.post(f"/sites/{sid}/delete", data={"version": etag(ping, sid).strip('"'), "csrf_token": ping.csrf})
    assert resp.status_code == 302
    out.append(("planner.delete", ("site.delete", "site", str(sid))))
    assert ping.post(f"/sites/{sid}/undelete", data={"csrf_token": ping.csrf}).status_code == 302
    out.append(("planner.undelete", ("site.undelete", "site", str(sid))))
    first = ping.get(f"/api/sites/{sid}/history", headers=auth(s["api"])).get_json()["revisions"][-1]["id"]
    resp = ping.post(f"/sites/{sid}/history", data={"revision": first, "version": etag(ping, sid).strip('"'),
                                                    "csrf_token": ping.csrf})
    assert resp.status_code == 302
    out.append(("planner.history", ("site.restore", "site", str(sid))))
    return out


def _form_other_writes(s) -> list[tuple[str, tuple]]:
    ping, anon, out = s["ping"], s["anon"], []
    for action in ("accept", "reject"):
        form_token = csrf(anon, "/suggest")
        resp = anon.post("/suggest", data={"csrf_token": form_token, "name": f"Audit {action}", "message": "a bridge",
                                           "lon": "120.06", "lat": "27.76"})
        assert resp.status_code == 200
        with s["app"].extensions["scouting"]["sessionmaker"]() as session:
            sugg = session.scalar(select(Suggestion.id).where(Suggestion.name == f"Audit {action}"))
        out.append(("planner.suggest", ("suggestion.create", "suggestion", str(sugg))))
        resp = ping.post(f"/suggestions/{sugg}/{action}", data={"csrf_token": ping.csrf, "reason": "not a site"})
        assert resp.status_code == 302
        out.append((f"planner.{action}", (f"suggestion.{action}", "suggestion", str(sugg))))
    sid = ping.get("/api/sites?limit=1").get_json()["features"][0]["id"]
    resp = post_file(ping, f"/sites/{sid}/photos", geotagged_jpeg((300, 200)), "p.jpg", ping.csrf)
    assert resp.status_code == 302
    with s["app"].extensions["scouting"]["sessionmaker"]() as session:
        from scouting.models import Photo
        photo = session.scalar(select(func.max(Photo.id)))
    out.append(("planner_uploads.add_photo", ("photo.upload", "photo", str(photo))))
    assert ping.post(f"/photos/{photo}/delete", data={"csrf_token": ping.csrf}).status_code == 302
    out.append(("planner_uploads.delete_photo", ("photo.delete", "photo", str(photo))))
    rows = [{"name_zh": "审计页面导入", "name_en": "Audit Page Import", "lon": 120.0987, "lat": 27.7211,
             "genres": ["costume"]}]
    page = post_file(ping, "/import", geojson(rows), "page.geojson", ping.csrf, datum="wgs84").get_data(as_text=True)
    commit_url = re.search(r'action="(/import/[^"]+/commit)"', page).group(1)
    assert ping.post(commit_url, data={"csrf_token": ping.csrf}).status_code == 200
    out.append(("planner_uploads.import_commit", ("import.commit", "import", None)))
    return out


def _field_writes(s) -> list[tuple[str, tuple]]:
    ping, out = s["ping"], []
    headers = {"X-CSRFToken": ping.csrf}
    feature = new_feature(name_en="Audit field site", slug="audit-field-0a1b2c", position_method="gps")
    created = ping.post("/field/sites", json=feature | {"checks": {"parking": "verified_present"}}, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    sid = created.get_json()["id"]
    out.append(("field.create_site", ("site.create", "site", str(sid))))
    resp = ping.patch(f"/field/sites/{sid}", json={"type": "Feature", "properties": {"name_en": "Field renamed"}},
                      headers=headers | {"If-Match": etag(ping, sid)})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    out.append(("field.correct_site", ("site.update", "site", str(sid))))
    resp = ping.post(f"/field/sites/{sid}/photos", data={"file": (io.BytesIO(geotagged_jpeg((300, 200))), "f.jpg")},
                     headers=headers)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    out.append(("field.add_photo", ("photo.upload", "photo", str(resp.get_json()["id"]))))
    return out


def _admin_writes(s) -> list[tuple[str, tuple]]:
    boss, out = s["boss"], []
    form_token = csrf(boss, "/admin/users")
    boss.post("/admin/users", data={"csrf_token": form_token, "username": "zhao", "password": PASSWORD, "role": "director"})
    with s["app"].extensions["scouting"]["sessionmaker"]() as session:
        zhao = session.scalar(select(User.id).where(User.username == "zhao"))
    out.append(("admin.create_user", ("user.create", "user", str(zhao))))
    assert boss.post(f"/admin/users/{zhao}", data={"csrf_token": form_token, "role": "planner", "active": "on"}).status_code == 302
    out.append(("admin.update_user", ("user.role", "user", str(zhao))))
    assert boss.post(f"/admin/users/{zhao}", data={"csrf_token": form_token, "role": "planner"}).status_code == 302
    out.append(("admin.update_user", ("user.disable", "user", str(zhao))))
    return out


def _login_writes(s) -> list[tuple[str, tuple]]:
    client = client_at(s["app"], WEB_ADDR)
    form_token = csrf(client, "/login")
    assert client.post("/login", data={"username": "dir", "password": "wrong password!", "csrf_token": form_token}).status_code == 401
    out = [("auth.login", ("login.failure", "user", str(s["ids"]["dir"])))]
    assert client.post("/login", data={"username": "dir", "password": PASSWORD, "csrf_token": form_token}).status_code == 302
    out.append(("auth.login", ("login.success", "user", str(s["ids"]["dir"]))))
    return out


SCENARIOS = (_api_site_writes, _api_other_writes, _pack_writes, _form_site_writes, _form_other_writes, _admin_writes,
             _login_writes, _field_writes)
COVERED = {"api.create_site", "api.update_site", "api.delete_site", "api.undelete_site", "api.restore_site",
           "imports.import_sites", "photos.upload_photo", "photos.delete_photo", "packs.create_pack",
           "packs.update_pack", "packs.delete_pack", "planner.edit", "planner.delete", "planner.undelete",
           "planner.history", "planner.suggest", "planner.accept", "planner.reject", "planner_uploads.add_photo",
           "planner_uploads.delete_photo", "planner_uploads.import_commit", "admin.create_user", "admin.update_user",
           "auth.login", "field.create_site", "field.correct_site", "field.add_photo"}


def test_every_write_route_is_audited_or_declared_not_a_write(app):
    """A new POST/PATCH/PUT/DELETE route fails here until a scenario checks its event (or it is declared above)."""
    writes = {rule.endpoint for rule in app.url_map.iter_rules() if set(rule.methods) - {"GET", "HEAD", "OPTIONS"}}
    assert writes - COVERED - set(NOT_WRITES) == set(), "write routes with no audit scenario"
    assert (COVERED | set(NOT_WRITES)) - writes == set(), "scenarios for routes that no longer exist"
    assert not COVERED & set(NOT_WRITES)


def test_each_write_route_leaves_its_event_with_actor_and_address(staff):
    app, ids = staff["app"], staff["ids"]
    ping_token = f"token:{staff['token_ids']['ping']}"
    seen = set()
    for scenario in SCENARIOS:
        start = event_count(app)
        checks = scenario(staff)
        new = events(app)[start:]
        for endpoint, (action, object_type, object_id) in checks:
            seen.add(endpoint)
            matching = [e for e in new if (e.action, e.object_type, e.object_id) == (action, object_type, object_id)]
            assert len(matching) == 1, f"{endpoint}: expected one {action} {object_type} {object_id}; " \
                                       f"got {[(e.action, e.object_type, e.object_id) for e in new]}"
            event = matching[0]
            if endpoint.startswith(("api.", "imports.", "photos.")):
                assert (event.actor, event.actor_id, event.credential) == ("ping", ids["ping"], ping_token), endpoint
                assert (event.channel, event.remote_addr) == ("api", API_ADDR), endpoint
            elif endpoint.startswith("packs."):
                assert (event.actor, event.actor_id, event.channel, event.remote_addr) == (
                    "anonymous", None, "api", ANON_ADDR), endpoint
                assert event.credential == ("edit-token" if action != "pack.create" else None), endpoint
            elif endpoint == "planner.suggest":
                assert (event.actor, event.channel, event.remote_addr) == ("anonymous", "web", ANON_ADDR), endpoint
            elif endpoint.startswith("admin."):
                assert (event.actor, event.actor_id, event.credential) == ("boss", ids["boss"], "session"), endpoint
                assert (event.channel, event.remote_addr) == ("web", WEB_ADDR)
            elif action == "login.failure":
                assert (event.actor, event.actor_id, event.summary) == ("anonymous", None, "dir: wrong password")
            elif action == "login.success":
                assert (event.actor, event.actor_id, event.credential) == ("dir", ids["dir"], "password")
            else:
                assert (event.actor, event.actor_id, event.credential) == ("ping", ids["ping"], "session"), endpoint
                assert (event.channel, event.remote_addr) == ("web", WEB_ADDR), endpoint
            assert event.user_agent == AGENT
            assert event.at is not None
    assert seen == COVERED
    every = events(app)
    # Summaries name fields and counts, never whole records or secrets.
    update = next(e for e in every if e.action == "site.update" and e.channel == "api")
    assert update.summary.endswith("changed: name_en")
    assert not any(PASSWORD in (e.summary or "") or "wrong password!" in (e.summary or "") for e in every)
    assert not any(t in (e.summary or "") for e in every for t in staff["api"].tokens.values())
    # An import is one event that names its new sites' ids (each site's history has its "create" revision).
    assert not [e for e in every if e.action == "site.create" and e.channel == "import"]
    commit = [e for e in every if e.action == "import.commit"]
    ids = [re.search(r" \(site id (\d+)\)", e.summary) for e in commit]
    assert all(ids), [e.summary for e in commit]
    assert {e.actor for e in commit} == {"ping"}
    assert [e.summary.replace(found.group(), "") for e, found in zip(commit, ids, strict=True)] == [
        "rows.geojson: created 1, updated 0, skipped 0 duplicate(s)",
        "page.geojson: created 1, updated 0, skipped 0 duplicate(s)"]
    with app.extensions["scouting"]["sessionmaker"]() as session:
        names = [session.get(Site, int(found.group(1))).name_en for found in ids]
    assert names == ["Audit Import", "Audit Page Import"], "the event names another site"


def test_reading_routes_and_dry_runs_write_no_event(staff):
    app, ping, api = staff["app"], staff["ping"], staff["api"]
    before = event_count(app)
    sid = api.get("/api/sites?limit=1").get_json()["features"][0]["id"]
    api.get(f"/api/sites/{sid}/history", headers=auth(api))
    rows = [{"name_zh": "演练", "name_en": "Dry Run", "lon": 120.0612, "lat": 27.7634, "genres": ["nature"]}]
    assert post_file(ping, "/import", geojson(rows), "dry.geojson", ping.csrf, datum="wgs84").status_code == 200
    assert api.post("/api/import", data={"file": (io.BytesIO(geojson(rows)), "dry.geojson")},
                    headers=auth(api)).status_code == 200
    assert post_file(ping, "/sites/new/from-photo", geotagged_jpeg((300, 200)), "g.jpg", ping.csrf).status_code == 302
    assert api.post("/api/photos/locate", data={"file": (io.BytesIO(geotagged_jpeg((300, 200))), "g.jpg")},
                    headers=auth(api)).status_code == 200
    assert ping.post("/logout", data={"csrf_token": ping.csrf}).status_code == 302
    assert event_count(app) == before


def test_refused_and_rolled_back_writes_leave_no_event(staff, monkeypatch):
    app, api, ping = staff["app"], staff["api"], staff["ping"]
    sid = api.get("/api/sites?limit=1").get_json()["features"][0]["id"]
    before = event_count(app)
    stale = api.patch(f"/api/sites/{sid}", json={"type": "Feature", "properties": {"name_en": "Late"}},
                      headers=auth(api, **{"If-Match": '"999"'}))
    assert stale.status_code == 412
    assert api.post("/api/sites", json=new_feature(genres=["nope"]), headers=auth(api)).status_code == 400
    assert api.post("/api/sites", json=new_feature(), headers=auth(api, "director")).status_code == 403
    assert staff["anon"].post("/api/sites", json=new_feature()).status_code == 401
    bad_rows = [{"name_zh": "坏", "name_en": "Bad", "lon": 120.06, "lat": 95.0, "genres": ["nature"]}]
    bad = api.post("/api/import", data={"file": (io.BytesIO(geojson(bad_rows)), "bad.geojson"), "commit": "true"},
                   headers=auth(api))
    assert bad.status_code == 422
    assert ping.post("/sites/new", data=site_form(name_zh="", csrf_token=ping.csrf)).status_code == 400
    form_stale = ping.post(f"/sites/{sid}/edit", data=site_form("999", csrf_token=ping.csrf))
    assert form_stale.status_code == 409
    assert event_count(app) == before

    # The event is written in the change's transaction: when writing it fails, the change is not kept either.
    original = audit.record

    def record_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("the audit write failed")

    monkeypatch.setattr(audit, "record", record_then_fail)
    with app.extensions["scouting"]["sessionmaker"]() as session:
        sites_before = session.scalar(select(func.count()).select_from(Site))
    resp = api.post("/api/sites", json=new_feature(name_en="Never stored"), headers=auth(api))
    assert resp.status_code == 500
    with app.extensions["scouting"]["sessionmaker"]() as session:
        assert session.scalar(select(func.count()).select_from(Site)) == sites_before
    assert event_count(app) == before


def test_cli_writes_name_the_command(fresh_app, tmp_path, monkeypatch):
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["load-geodata"])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("SCOUTING_PASSWORD", PASSWORD)
    assert runner.invoke(args=["create-user", "wang", "--role", "planner"]).exit_code == 0
    token = runner.invoke(args=["create-token", "wang"]).output.strip()
    path = tmp_path / "cli.geojson"
    path.write_bytes(geojson([{"name_zh": "命令行导入", "name_en": "CLI Import", "lon": 120.0612, "lat": 27.7634,
                               "genres": ["nature"]}]))
    result = runner.invoke(args=["import", str(path), "--commit"])
    assert result.exit_code == 0, result.output
    every = events(fresh_app)
    loads = [e for e in every if e.actor == "cli:load-geodata"]
    assert len([e for e in loads if e.action == "site.create"]) == 35 and loads[-1].action == "geodata.load"
    assert all(e.channel == "cli" and e.remote_addr is None and e.credential.startswith("os:") for e in loads)
    by_action = {e.action: e for e in every}
    assert by_action["user.create"].actor == "cli:create-user"
    assert by_action["token.create"].actor == "cli:create-token" and token not in by_action["token.create"].summary
    assert (by_action["import.commit"].actor, by_action["import.commit"].channel) == ("cli:import", "cli")
    assert not [e for e in every if e.channel == "import"], "an import's new sites are its one import.commit event"
    assert re.fullmatch(r"cli\.geojson: created 1 \(site id \d+\), updated 0, skipped 0 duplicate\(s\)",
                        by_action["import.commit"].summary), by_action["import.commit"].summary
    # Loading again changes nothing (sites, bases or county outline), so it logs nothing.
    count = len(every)
    assert runner.invoke(args=["load-geodata"]).exit_code == 0
    assert [e.action for e in events(fresh_app)[count:]] == []


# --------------------------------------------------------------------------- reading the log

def test_page_is_for_planners_and_export_for_admins(staff):
    app = staff["app"]
    director = signed_in_at(app, "dir")
    assert staff["anon"].get("/audit").status_code == 302
    assert staff["anon"].get("/audit").headers["Location"].startswith("/login")
    assert director.get("/audit").status_code == 403
    assert staff["api"].get("/audit", headers=auth(staff["api"])).status_code == 302  # a token is not a session
    page = staff["ping"].get("/audit")
    assert page.status_code == 200 and 'id="audit-events"' in page.get_data(as_text=True)
    assert 'id="audit-export"' not in page.get_data(as_text=True)
    for client, status in ((staff["anon"], 302), (director, 403), (staff["ping"], 403), (staff["boss"], 200)):
        assert client.get("/audit/export?format=csv").status_code == status
        assert client.get("/audit/export?format=jsonl").status_code == status
    assert 'id="audit-export"' in staff["boss"].get("/audit").get_data(as_text=True)
    assert staff["boss"].get("/audit/export?format=xlsx").status_code == 400


def test_page_filters_pages_and_links(staff):
    app, ping, api = staff["app"], staff["ping"], staff["api"]
    sid = api.get("/api/sites?limit=1").get_json()["features"][0]["id"]
    api.patch(f"/api/sites/{sid}", json={"type": "Feature", "properties": {"name_en": "Filtered"}},
              headers=auth(api, **{"If-Match": etag(api, sid)}))
    html = ping.get("/audit?actor=ping&action=site.update").get_data(as_text=True)
    assert html.count("data-event=") == 1 and f'href="/sites/{sid}/history"' in html
    family = ping.get("/audit?action=site.").get_data(as_text=True)
    assert family.count("data-event=") == 36  # the seed's 35 creates on page 1 with the update (newest first)
    assert re.search(r'data-event="(\d+)"', family).group(1) == str(events(app, action="site.update")[-1].id)
    by_object = ping.get(f"/audit?object_type=site&object_id={sid}").get_data(as_text=True)
    assert by_object.count("data-event=") == 2  # created by the seed, then updated
    assert ping.get("/audit?since=2000-01-01&until=2000-12-31").get_data(as_text=True).count("data-event=") == 0
    assert ping.get("/audit?since=yesterday").status_code == 400
    assert ping.get("/audit?since=2030-01-02&until=2030-01-01").status_code == 400
    assert ping.get("/audit?colour=red").status_code == 400
    # More than a page: newest first, 50 a page, links keep the filter.
    with app.extensions["scouting"]["sessionmaker"]() as session:
        for i in range(60):
            audit.record(session, "test.bulk", "thing", i, f"bulk {i}")
        session.commit()
    # (An unknown action's summary is English: shown on the English page only.)
    first = ping.get("/audit?action=test.bulk&lang=en").get_data(as_text=True)
    assert first.count("data-event=") == 50 and "bulk 59" in first and "bulk 9<" not in first
    assert 'href="/audit?page=2&amp;action=test.bulk"' in first
    second = ping.get("/audit?action=test.bulk&page=2&lang=en").get_data(as_text=True)
    assert second.count("data-event=") == 10 and "bulk 0<" in second
    # Days are UTC days, both ends included; times are shown in UTC.
    from datetime import UTC, datetime
    with app.extensions["scouting"]["sessionmaker"]() as session:
        late = audit.record(session, "test.late", "thing", "x", "late in the day")
        late.at = datetime(2026, 1, 2, 23, 30, 5, tzinfo=UTC)
        session.commit()
    day = ping.get("/audit?action=test.late&since=2026-01-02&until=2026-01-02").get_data(as_text=True)
    assert day.count("data-event=") == 1 and "2026-01-02 23:30:05" in day
    assert ping.get("/audit?action=test.late&since=2026-01-03").get_data(as_text=True).count("data-event=") == 0
    assert ping.get("/audit?action=test.late&until=2026-01-01").get_data(as_text=True).count("data-event=") == 0


HOSTILE_AGENT = "<script>alert('ua')</script>"
HOSTILE_FILE = "<img src=x onerror=alert(1)>.geojson"
FORMULA_AGENT = "=HYPERLINK(\"http://evil.example\",\"x\")"


def test_hostile_strings_escaped_on_the_page_and_neutralised_in_csv(staff):
    app = staff["app"]
    api = client_at(app, API_ADDR, HOSTILE_AGENT)
    rows = [{"name_zh": "恶意", "name_en": "Hostile", "lon": 120.0612, "lat": 27.7634, "genres": ["nature"]}]
    resp = api.post("/api/import", data={"file": (io.BytesIO(geojson(rows)), HOSTILE_FILE), "commit": "true"},
                    headers=auth(staff["api"]))
    assert resp.status_code == 201
    formula = client_at(app, API_ADDR, FORMULA_AGENT)
    created = formula.post("/api/sites", json=new_feature(slug="-2-3-formula", name_en="Formula"),
                           headers=auth(staff["api"]))
    assert created.status_code == 201
    html = staff["ping"].get("/audit").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html

    body = staff["boss"].get("/audit/export?format=csv")
    assert body.headers["Content-Type"] == "text/csv; charset=utf-8", "the charset is sent once"
    assert "attachment" in body.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True).lstrip("\ufeff"))))
    site_create = next(r for r in rows if r["action"] == "site.create" and r["summary"].endswith("formula"))
    assert site_create["user_agent"] == "'" + FORMULA_AGENT
    assert site_create["summary"] == "'-2-3-formula"
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values() if cell)
    commit = next(r for r in rows if r["action"] == "import.commit")
    assert commit["summary"].startswith(HOSTILE_FILE + ": created 1")  # kept as text, not lost

    lines = staff["boss"].get("/audit/export?format=jsonl&actor=ping").get_data(as_text=True)
    parsed = [p for p in map(json.loads, lines.splitlines()) if p["action"] in ("site.create", "import.commit")]
    assert {p["user_agent"] for p in parsed} == {HOSTILE_AGENT, FORMULA_AGENT}  # JSON keeps the exact text
    assert all(p["at"].endswith("Z") and p["actor"] == "ping" for p in parsed)


def test_cli_export_since(staff, tmp_path):
    runner = staff["app"].test_cli_runner()
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(args=["audit-export", "--since", "2000-01-01", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == event_count(staff["app"]) and lines[0]["id"] < lines[-1]["id"]
    assert f"wrote {len(lines)} event(s)" in result.output
    future = runner.invoke(args=["audit-export", "--since", "2999-01-01", str(tmp_path / "none.csv")])
    assert future.exit_code == 0
    assert (tmp_path / "none.csv").read_text(encoding="utf-8-sig").strip().startswith("id,at,actor")
    assert len((tmp_path / "none.csv").read_text(encoding="utf-8-sig").strip().splitlines()) == 1
    bad = runner.invoke(args=["audit-export", "--since", "soon", str(tmp_path / "x.jsonl")])
    assert bad.exit_code != 0 and "since" in bad.output


def test_synthetic_sites_leave_one_event(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["synth", "--count", "5", "--seed", "3"]).exit_code == 0
    assert runner.invoke(args=["synth", "--count", "5", "--seed", "3"]).exit_code != 0  # refused: no event
    (event,) = events(fresh_app)
    assert (event.actor, event.channel, event.action) == ("cli:synth", "cli", "synth.load")
    assert event.summary == "5 synthetic site(s), seed 3"


def test_the_address_respects_the_proxy_setting(writer):
    """Without SCOUTING_PROXY_FIX a client's X-Forwarded-For is not believed; behind one proxy it is the client's."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = writer.application
    headers = auth(writer, **{"X-Forwarded-For": "198.51.100.99"})
    client = client_at(app, "10.0.0.5")
    assert client.post("/api/sites", json=new_feature(name_en="Direct"), headers=headers).status_code == 201
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # what PROXY_FIX=1 sets up (scouting.web.security)
    assert client.post("/api/sites", json=new_feature(name_en="Proxied", slug="proxied"),
                       headers=headers).status_code == 201
    direct, proxied = events(app, action="site.create", actor="ping")
    assert (direct.remote_addr, proxied.remote_addr) == ("10.0.0.5", "198.51.100.99")


def test_concurrent_writes_each_name_their_own_actor_and_losers_leave_nothing(writer):
    """Requests in parallel threads: each event names its own request's user and address (no cross-talk through
    the context variable); of six edits of one version, only the one written has an event."""
    import threading

    app = writer.application
    with app.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, "li", PASSWORD, "planner")
        writer.tokens["li"] = accounts.create_token(session, "li")
    start = event_count(app)
    results = []

    def create(n: int, who: str, addr: str):
        client = client_at(app, addr)
        resp = client.post("/api/sites", json=new_feature(name_en=f"Parallel {n}", slug=f"parallel-{n}"),
                           headers=auth(writer, who))
        results.append(resp.status_code)

    threads = [threading.Thread(target=create, args=(n, *(("planner", "10.1.0.1") if n % 2 else ("li", "10.2.0.2"))))
               for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 8
    made = [e for e in events(app)[start:] if e.action == "site.create"]
    assert sorted((e.actor, e.remote_addr) for e in made) == [("li", "10.2.0.2")] * 4 + [("ping", "10.1.0.1")] * 4

    sid = writer.get("/api/sites?limit=1").get_json()["features"][0]["id"]
    tag = etag(writer, sid)
    codes = []

    def edit(n: int):
        resp = client_at(app, API_ADDR).patch(f"/api/sites/{sid}", json={"type": "Feature", "properties": {
            "description_en": f"edit {n}"}}, headers=auth(writer, **{"If-Match": tag}))
        codes.append(resp.status_code)

    before = event_count(app)
    threads = [threading.Thread(target=edit, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [412] * 5
    (update,) = events(app)[before:]
    assert (update.action, update.object_id, update.actor) == ("site.update", str(sid), "ping")


def test_page_reads_in_one_language_for_every_kind_of_event(staff):
    """After one write through every route (and a bad sign-in), each page of the log reads wholly in the page's
    language: actions, channels, object kinds and credentials by their labels, summaries worded again from the
    stored English line (field names as the site form's labels), no codes.  Usernames, file names and the
    sites' own names are data, shown as they are."""
    for scenario in SCENARIOS:
        scenario(staff)
    ping, total = staff["ping"], event_count(staff["app"])
    kinds = {e.action for e in events(staff["app"])}
    assert {"site.update", "site.restore", "photo.upload", "pack.update", "import.commit", "user.role",
            "login.failure", "token.create", "suggestion.reject", "geodata.load"} <= kinds, kinds
    data_words = {"ping", "boss", "dir", "zhao", "rows", "page", "geojson", "PNG", "JPEG"}
    for lang, code in (("zh", "zh_CN"), ("en", "en")):
        shown = []
        for page in range(1, -(-total // audit.PAGE_SIZE) + 1):
            html = ping.get(f"/audit?page={page}&lang={code}").get_data(as_text=True)
            shown.append(assert_one_language(html, lang, allowed=data_words))
        text = "\n".join(shown)
        for code_word in ("site.update", "login.failure", "name_en", "verified_present", "token:", "edit-token"):
            assert code_word not in text, f"{lang}: {code_word!r} shown"
        if lang == "zh":
            assert "修改外景地" in text and "修改：英文名称" in text and "登录失败" in text and "密码错误" in text
        else:
            assert "site changed" in text and "changed: Name (English)" in text and "wrong password" in text


def test_summaries_of_every_stored_form_are_worded_in_both_languages():
    labels = {"name_en": ("英文名称", "Name (English)"), "elevation_m": ("海拔（米）", "Elevation (m)")}
    cases = {
        ("site.update", "falls; changed: name_en, elevation_m"): ("修改：英文名称、海拔（米）",
                                                                  "changed: Name (English), Elevation (m)"),
        ("site.restore", "falls; changed: facilities; facilities: parking reported→verified_present, toilets +reported"):
            ("修改：facilities；设施：停车场（据报道，待核实 → 已核实）；卫生间（新增：据报道，待核实）",
             "changed: facilities; facilities: Parking (reported, unverified → verified); Toilets (added: reported, "
             "unverified)"),
        ("site.restore", "to revision 3; falls; changed: name_en"): ("还原到第 3 版；修改：英文名称",
                                                                   "to revision 3; changed: Name (English)"),
        ("site.create", "falls"): ("", ""),
        ("user.create", "ping, role planner"): ("ping，角色：策划", "ping, role: planner"),
        ("user.role", "ping: planner -> admin"): ("ping：策划 → 管理员", "ping: planner → administrator"),
        ("token.revoke", "of ping, switched off"): ("ping 的令牌", "ping's token"),
        ("login.failure", "unknown username"): ("用户名不存在", "unknown username"),
        ("login.failure", "dir: account switched off"): ("dir：账户已停用", "dir: account switched off"),
        ("pack.create", "3 site(s)"): ("3 处外景地", "3 sites"),
        ("pack.update", "changed: name, notes"): ("修改：名称、备注", "changed: name, notes"),
        ("suggestion.create", "correction of site 7"): ("更正外景地 #7", "correction of site #7"),
        ("photo.upload", "site 4; image/jpeg, 12,345 bytes"): ("外景地 #4；JPEG，12,345 字节", "site #4; JPEG, 12,345 bytes"),
        ("import.commit", "a.csv: created 2, updated 1, skipped 0 duplicate(s)"):
            ("a.csv：新建 2，更新 1，跳过重复 0", "a.csv: 2 created, 1 updated, 0 duplicates skipped"),
        ("import.commit", "b.geojson: created 5 (site ids 7, 9-12), updated 0, skipped 1 duplicate(s)"):
            ("b.geojson：新建 5（编号 7、9-12），更新 0，跳过重复 1",
             "b.geojson: 5 created (ids 7, 9-12), 0 updated, 1 duplicates skipped"),
        ("geodata.load", "bases: 10 created, 0 updated, 0 unchanged; sites: 35 created, 0 updated, 0 unchanged"):
            ("主题基地：新建 10，更新 0，未变 0；外景地：新建 35，更新 0，未变 0",
             "themed bases: 10 created, 0 updated, 0 unchanged; sites: 35 created, 0 updated, 0 unchanged"),
        ("test.other", "free text"): ("", "free text"),  # an unknown form: English, so on the English page only
    }
    for (action, summary), (zh, en) in cases.items():
        assert audit_text.summary_text(action, summary, "zh", lambda f: labels.get(f, (f,))[0]) == zh, (action, summary)
        assert audit_text.summary_text(action, summary, "en", lambda f: labels.get(f, (f, f))[1]) == en, (action, summary)
    assert audit_text.action_label("site.", "zh") == "外景地（全部）"
    assert audit_text.action_label("test.other", "en") == "other action"
