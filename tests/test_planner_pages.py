"""Planner pages: sign-in state, staff-only fields, history with restore; hostile names shown as text."""
from __future__ import annotations

import re

import pytest

from scouting import accounts
from scouting.geodata import load_geodata

from .browser import PageWatch, serve
from .helpers import STAFF_PASSWORD as PASSWORD
from .helpers import bearer, csrf, csrf_of, signed_in, site_form

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def planner_app(fresh_app):
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", PASSWORD, "planner")
        accounts.create_user(session, "dir", PASSWORD, "director")
        fresh_app.token = accounts.create_token(session, "ping")
    return fresh_app


def test_staff_fields_only_for_signed_in_planners(planner_app):
    client = planner_app.test_client()
    auth = bearer(planner_app.token)
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    etag = client.get(f"/api/sites/{site['id']}").headers["ETag"]
    resp = client.patch(f"/api/sites/{site['id']}", json={"type": "Feature", "properties": {
        "permit_notes": "文旅局 permit", "contact_notes": "Mr Zhou 138..."}}, headers=auth | {"If-Match": etag})
    assert resp.status_code == 200
    anonymous = client.get(f"/api/sites/{site['id']}/details").get_json()
    assert "permit_notes" not in anonymous["feature"]["properties"] and "history_url" not in anonymous
    director = planner_app.test_client()
    signed_in(director, "dir")
    assert "permit_notes" not in director.get(f"/api/sites/{site['id']}/details").get_json()["feature"]["properties"]
    planner = planner_app.test_client()
    signed_in(planner, "ping")
    staff = planner.get(f"/api/sites/{site['id']}/details")
    assert staff.get_json()["feature"]["properties"]["permit_notes"] == "文旅局 permit"
    assert staff.headers["Cache-Control"] == "private, no-store"
    assert "Sign out" in planner.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # Exports and lists never carry them.
    for url in ("/api/sites?limit=1000", "/api/sites/export?format=geojson", "/api/sites/export?format=csv"):
        assert "文旅局 permit" not in planner.get(url).get_data(as_text=True), url


def test_history_page_restores_with_csrf(planner_app):
    client = planner_app.test_client()
    auth = bearer(planner_app.token)
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    url = f"/sites/{site['id']}/history"
    assert client.get(url).status_code == 302  # to the sign-in page
    director = planner_app.test_client()
    signed_in(director, "dir")
    assert director.get(url).status_code == 403
    etag = client.get(f"/api/sites/{site['id']}").headers["ETag"]
    client.patch(f"/api/sites/{site['id']}", json={"type": "Feature", "properties": {"name_en": "Changed"}},
                 headers=auth | {"If-Match": etag})
    signed_in(client, "ping")
    page = client.get(url).get_data(as_text=True)
    assert "load-geodata" in page and "Changed" in page
    first = re.findall(r'name="revision" value="(\d+)"', page)[-1]
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert client.post(url, data={"revision": first, "version": version}).status_code == 400  # no CSRF token
    token = csrf_of(page)
    done = client.post(url, data={"revision": first, "version": version, "csrf_token": token})
    assert done.status_code == 302
    assert client.get(f"/api/sites/{site['id']}").get_json()["properties"]["name_en"] == site["properties"]["name_en"]
    assert "第 3 版 · 还原" in client.get(url).get_data(as_text=True), "the restore is a revision of its own"


def test_hostile_name_is_text_in_a_real_browser(planner_app, chromium):
    client = planner_app.test_client()
    auth = bearer(planner_app.token)
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.05, 27.80]},
            "properties": {"name_zh": HOSTILE, "name_en": HOSTILE + " en", "slug": "hostile", "genres": ["nature"],
                           "terrain": ["forest"], "coord_source": HOSTILE, "coord_accuracy_m": 10,
                           "position_method": "surveyed", "description_zh": HOSTILE}}
    created = client.post("/api/sites", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    sid = created.get_json()["id"]
    with serve(planner_app) as base:
        context = chromium.new_context(locale="zh-CN")
        page = context.new_page()
        watch = PageWatch(page)
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/?site={sid}")
        page.wait_for_function("() => WenchengScout.state && WenchengScout.state.ready && !WenchengScout.state.loading")
        page.wait_for_selector(f"#scout-detail-body[data-site-id='{sid}']")
        assert page.inner_text(f".scout-result[data-site-id='{sid}'] .scout-result-name") == HOSTILE, \
            "the hostile name is not shown as text in the results list"
        assert page.inner_text("#scout-detail-title") == HOSTILE, "the hostile name is not shown as text in the panel"
        page.click(".scout-legend summary") if not page.is_visible(".scout-legend-bases") else None
        # Sign in and look at the history page too.
        page.goto(f"{base}/login?next=/sites/{sid}/history")
        page.fill("input[name=username]", "ping")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#history-site")
        assert page.inner_text("#history-site") == HOSTILE, "the hostile name is not shown as text in the history"
        assert page.locator("img[src=x]").count() == 0, "the hostile name became an <img> element"
        assert not dialogs, f"the hostile name ran a script: {dialogs}"
        assert not watch.page_errors, f"errors on the page: {watch.page_errors}"
        context.close()


def test_site_form_create_edit_stale_delete(planner_app):
    import prcoords

    client = planner_app.test_client()
    assert client.get("/sites/new").status_code == 302
    signed_in(client, "ping")
    page = client.get("/sites/new").get_data(as_text=True)
    form = site_form(page, "", "Form site")
    bad = client.post("/sites/new", data=form)
    assert bad.status_code == 400
    assert 'id="name_zh-error"' in bad.get_data(as_text=True)
    # Pasted from Amap (GCJ-02): stored as WGS-84.
    glat, glon = prcoords.wgs_gcj((27.80, 120.05))
    ok = client.post("/sites/new", data=form | {"name_zh": "表单外景地", "datum": "gcj02", "lon": f"{glon:.9f}",
                                               "lat": f"{glat:.9f}"})
    assert ok.status_code == 302, ok.get_data(as_text=True)[:500]
    sid = int(ok.headers["Location"].split("site=")[1])
    stored = client.get(f"/api/sites/{sid}").get_json()["geometry"]["coordinates"]
    assert stored == pytest.approx([120.05, 27.80], abs=1e-7)
    outside = client.post("/sites/new", data=form | {"name_zh": "外", "name_en": "Far", "lon": "121.5", "lat": "31.2"})
    assert outside.status_code == 400 and "文成县境外" in outside.get_data(as_text=True)

    edit_page = client.get(f"/sites/{sid}/edit").get_data(as_text=True)
    assert 'value="表单外景地"' in edit_page
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', edit_page).group(1)
    edit = {"csrf_token": csrf_of(edit_page), "name_zh": "表单外景地", "name_en": "Edited", "genres": ["nature"],
            "terrain": ["forest"], "lon": "120.05", "lat": "27.80", "datum": "wgs84", "coord_source": "GNSS",
            "coord_accuracy_m": "5", "position_method": "surveyed", "base": "", "version": version}
    saved = client.post(f"/sites/{sid}/edit", data=edit)
    assert saved.status_code == 302, re.findall(r'scout-field-error[^>]*>([^<]+)<', saved.get_data(as_text=True))
    stale = client.post(f"/sites/{sid}/edit", data=edit | {"name_en": "Lost"})
    assert stale.status_code == 409 and "Edited" in stale.get_data(as_text=True)
    assert client.get(f"/api/sites/{sid}").get_json()["properties"]["name_en"] == "Edited"

    current = client.get(f"/api/sites/{sid}").headers["ETag"].strip('"')
    assert client.post(f"/sites/{sid}/delete", data={"version": current}).status_code == 400  # no CSRF token
    gone = client.post(f"/sites/{sid}/delete", data={"version": current, "csrf_token": csrf_of(edit_page)})
    assert gone.status_code == 302 and client.get(f"/api/sites/{sid}").status_code == 404
    back = client.post(f"/sites/{sid}/undelete", data={"csrf_token": csrf_of(edit_page)})
    assert back.status_code == 302 and client.get(f"/api/sites/{sid}").status_code == 200


def test_suggestions_wait_for_review(planner_app):
    visitor = planner_app.test_client()
    page = visitor.get("/suggest?lon=120.06&lat=27.81").get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), "name": "石垟 old bridge", "message": "A covered bridge, good for period drama",
            "suggester_name": "老王", "suggester_contact": "138 0000 0000", "lon": "120.06", "lat": "27.81"}
    assert visitor.post("/suggest", data={k: v for k, v in data.items() if k != "csrf_token"}).status_code == 400
    missing = visitor.post("/suggest", data=data | {"message": ""})
    assert missing.status_code == 400 and "请填写“您的建议”。" in missing.get_data(as_text=True)
    sent = visitor.post("/suggest", data=data)
    assert sent.status_code == 200 and "审核前不会公开" in sent.get_data(as_text=True)
    assert "石垟 old bridge" not in visitor.get("/api/sites?q=bridge").get_data(as_text=True)
    assert visitor.get("/suggestions").status_code == 302 and visitor.get("/api/suggestions").status_code == 302

    planner = planner_app.test_client()
    signed_in(planner, "ping")
    queue = planner.get("/suggestions").get_data(as_text=True)
    assert "石垟 old bridge" in queue and "138 0000 0000" in queue
    layer = planner.get("/api/suggestions").get_json()
    assert layer["features"][0]["geometry"]["coordinates"] == [120.06, 27.81]
    sid = layer["features"][0]["id"]
    token = csrf_of(queue)
    assert planner.post(f"/suggestions/{sid}/reject", data={"csrf_token": token, "reason": ""}).status_code == 302
    assert "石垟 old bridge" in planner.get("/suggestions").get_data(as_text=True)  # not rejected without a reason
    accepted = planner.post(f"/suggestions/{sid}/accept", data={"csrf_token": token})
    assert accepted.status_code == 302 and "/sites/new" in accepted.headers["Location"]
    form = planner.get(accepted.headers["Location"]).get_data(as_text=True)
    assert 'value="石垟 old bridge"' in form and "suggested by 老王" in form
    assert "石垟 old bridge" not in planner.get("/suggestions").get_data(as_text=True)


def test_suggestions_are_rate_limited(planner_app):
    visitor = planner_app.test_client()
    token = csrf(visitor, "/suggest")
    codes = [visitor.post("/suggest", data={"csrf_token": token, "name": f"p{i}", "message": "x", "lon": "120.06",
                                            "lat": "27.81"}).status_code for i in range(8)]
    assert codes[:6] == [200] * 6 and 429 in codes[6:]


def test_admins_manage_accounts(planner_app):
    with planner_app.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, "boss", PASSWORD, "admin")
    planner = planner_app.test_client()
    signed_in(planner, "ping")
    assert planner.get("/admin/users").status_code == 403
    admin = planner_app.test_client()
    assert admin.get("/admin/users").status_code == 302
    signed_in(admin, "boss")
    page = admin.get("/admin/users").get_data(as_text=True)
    token = csrf_of(page)
    assert admin.post("/admin/users", data={"username": "new", "password": PASSWORD, "role": "director"}).status_code == 400
    admin.post("/admin/users", data={"csrf_token": token, "username": "zhao", "password": PASSWORD, "role": "director"})
    admin.post("/admin/users", data={"csrf_token": token, "username": "x", "password": "short", "role": "director"})
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert 'data-user="zhao"' in listing and 'data-user="x"' not in listing and "at least 10" in listing
    from scouting.models import User
    with planner_app.extensions["scouting"]["sessionmaker"]() as session:
        ping = session.query(User).filter_by(username="ping").one()
        boss = session.query(User).filter_by(username="boss").one()
    # Switch the planner off: their session and token stop working.
    admin.post(f"/admin/users/{ping.id}", data={"csrf_token": token, "role": "planner"})
    assert planner.get("/sites/new").status_code == 302
    assert planner.post("/api/sites", json={}, headers=bearer(planner_app.token)).status_code == 401
    admin.post(f"/admin/users/{boss.id}", data={"csrf_token": token, "role": "director", "active": "on"})
    assert "cannot take away your own admin rights" in admin.get("/admin/users").get_data(as_text=True)
