"""The data version behind the result cache: one row bumped by triggers in the writing transaction, so every
write path changes it (and no cached count outlives a write), and no read does.  Both backends."""
from __future__ import annotations

import re
from urllib.parse import urlencode

from sqlalchemy import text

from scouting import search
from scouting.geodata import load_geodata
from scouting.synth import synthesize

from .helpers import auth, csrf_of, signed_in, site_form
from .test_site_writes import new_feature


def version(app) -> tuple:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        return search.data_version(session)


def matched(client, **params) -> int:
    """numberMatched of /api/sites: the count comes from the result cache (keyed by the data version)."""
    resp = client.get("/api/sites?" + urlencode(params | {"limit": 1}))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["numberMatched"]


def etag(client, site_id: int) -> str:
    return client.get(f"/api/sites/{site_id}").headers["ETag"]


def test_every_api_write_bumps_the_version_and_no_stale_count_is_served(writer):
    app = writer.application
    before, total = version(app), matched(writer)
    created = writer.post("/api/sites", json=new_feature(name_en="Versioned place"), headers=auth(writer))
    assert created.status_code == 201
    sid = created.get_json()["id"]
    after_create = version(app)
    assert after_create != before, "create"
    assert matched(writer) == total + 1, "cached count after create"
    assert matched(writer, q="Renamed place") == 0  # cached now
    patched = writer.patch(f"/api/sites/{sid}", json={"type": "Feature", "properties": {
        "name_en": "Renamed place", "facilities": ["parking"]}}, headers=auth(writer, **{"If-Match": etag(writer, sid)}))
    assert patched.status_code == 200
    after_update = version(app)
    assert after_update != after_create, "update"
    assert matched(writer, q="Renamed place") == 1, "cached count after update"
    assert matched(writer, facility="parking", q="Renamed place") == 1
    history = writer.get(f"/api/sites/{sid}/history", headers=auth(writer)).get_json()["revisions"]
    restored = writer.post(f"/api/sites/{sid}/restore", json={"revision": history[-1]["id"]},
                           headers=auth(writer, **{"If-Match": etag(writer, sid)}))
    assert restored.status_code == 200
    after_restore = version(app)
    assert after_restore != after_update, "restore from history"
    assert matched(writer, q="Renamed place") == 0, "cached count after restore"
    assert matched(writer, facility="parking", q="Versioned place") == 0
    assert writer.delete(f"/api/sites/{sid}", headers=auth(writer, **{"If-Match": etag(writer, sid)})).status_code == 204
    after_delete = version(app)
    assert after_delete != after_restore, "soft delete"
    assert matched(writer) == total, "cached count after delete"
    assert writer.post(f"/api/sites/{sid}/undelete", headers=auth(writer)).status_code == 200
    assert version(app) != after_delete, "undelete"
    assert matched(writer) == total + 1, "cached count after undelete"


def test_reads_leave_the_version_alone(writer):
    app = writer.application
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    before = version(app)
    reads = ["/api/sites", "/api/sites?genre=nature&bbox=119.8,27.6,120.4,28.0", "/api/sites/facets",
             "/api/sites/clusters?bbox=119.8,27.6,120.4,28.0&zoom=10", f"/api/sites/{site['id']}",
             f"/api/sites/{site['id']}/details", "/api/bases", "/ogc/collections/sites/items?limit=5&f=json",
             "/api/sites/export?format=geojson", "/api/sites?near=120.05,27.8&radius_km=5", "/"]
    for url in reads:
        assert writer.get(url).status_code == 200, url
        assert version(app) == before, url
    assert writer.get(f"/api/sites/{site['id']}/history", headers=auth(writer)).status_code == 200
    assert version(app) == before, "history"


def test_form_writes_bump_the_version(writer):
    app = writer.application
    client = app.test_client()
    signed_in(client, "ping")
    page = client.get("/sites/new").get_data(as_text=True)
    form = site_form(page, "表单版本", "Form version")
    assert matched(client, q="表单版本") == 0
    before = version(app)
    ok = client.post("/sites/new", data=form)
    assert ok.status_code == 302
    sid = int(ok.headers["Location"].split("site=")[1])
    assert version(app) != before, "form create"
    assert matched(client, q="表单版本") == 1, "cached count after form create"
    edit_page = client.get(f"/sites/{sid}/edit").get_data(as_text=True)
    number = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', edit_page).group(1)
    before = version(app)
    saved = client.post(f"/sites/{sid}/edit", data=form | {"csrf_token": csrf_of(edit_page), "name_zh": "表单改名",
                                                          "version": number})
    assert saved.status_code == 302
    assert version(app) != before, "form edit"
    assert matched(client, q="表单版本") == 0 and matched(client, q="表单改名") == 1
    before = version(app)
    current = etag(client, sid).strip('"')
    assert client.post(f"/sites/{sid}/delete", data={"version": current, "csrf_token": csrf_of(edit_page)}).status_code == 302
    assert version(app) != before, "form delete"
    assert matched(client, q="表单改名") == 0


def test_import_load_geodata_and_synth_bump_the_version(writer, tmp_path):
    app = writer.application
    csv = tmp_path / "one.csv"
    csv.write_text("name,lon,lat,genres,elevation_m\nImported version place,120.05,27.79,nature,10\n", encoding="utf-8")
    assert matched(writer, q="Imported version place") == 0
    before = version(app)
    done = app.test_cli_runner().invoke(args=["import", str(csv), "--commit"])
    assert done.exit_code == 0, done.output
    assert version(app) != before, "import"
    assert matched(writer, q="Imported version place") == 1, "cached count after import"

    before = version(app)
    with app.extensions["scouting"]["sessionmaker"]() as session:
        session.execute(text("UPDATE sites SET name_en = 'Changed behind load-geodata' WHERE slug IN "
                             "(SELECT slug FROM sites ORDER BY id LIMIT 1)"))
        session.commit()
    assert version(app) != before, "a plain SQL update"
    before = version(app)
    with app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
    assert version(app) != before, "load-geodata"


def test_synth_bumps_the_version(fresh_app):
    before = version(fresh_app)
    client = fresh_app.test_client()
    assert matched(client) == 0
    synthesize(fresh_app.extensions["scouting"]["engine"], 50, seed=3)
    assert version(fresh_app) != before, "synth"
    assert matched(client) == 50, "cached count after synth"


def test_a_restored_backup_gets_a_new_version(writer, tmp_path):
    app = writer.application
    total = matched(writer)
    archive = tmp_path / "scout.tar"
    assert app.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    created = writer.post("/api/sites", json=new_feature(name_en="After the backup"), headers=auth(writer))
    assert created.status_code == 201
    assert matched(writer) == total + 1
    before = version(app)
    result = app.test_cli_runner().invoke(args=["restore", str(archive), "--force"])
    assert result.exit_code == 0, result.output
    assert version(app)[0] != before[0], "a restore starts a new generation"
    assert matched(writer) == total, "cached count after restore"
