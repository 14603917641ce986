"""Location packs: the API (create, read, change, delete, stale edits), share and print pages, exports, CLI."""
from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import timedelta
from html import escape
from urllib.parse import unquote

import pytest
import segno
from PIL import Image
from sqlalchemy import update

from scouting import geo
from scouting.models import Pack
from scouting.packs import accuracy_sentence, distance_text, seasons_text, today

from .helpers import auth

HOSTILE = '<img src=x onerror=alert(1)>"\'&'


@pytest.fixture
def site_ids(client):
    return [f["id"] for f in client.get("/api/sites?genre=nature&limit=4").get_json()["features"]]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Packs are created at most 30 a minute per address: the session's app is shared with every module, and a
    fast run creates more than that from one address."""
    from scouting.web.auth import limiter

    limiter.reset()



def create(client, site_ids, **extra):
    body = {"name": "瀑布 scenes", "site_ids": site_ids, "notes": {str(site_ids[0]): "dawn, front-lit"}} | extra
    resp = client.post("/api/packs", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp


def test_create_and_read(client, site_ids):
    resp = create(client, site_ids, shoot_date="2026-12-01")
    body = resp.get_json()
    assert len(body["id"]) >= 32 and len(body["edit_token"]) >= 32  # 192 random bits each, base64url
    assert body["share_url"].endswith("/packs/" + body["id"])
    assert resp.headers["Location"] == f"/api/packs/{body['id']}" and resp.headers["ETag"] == '"1"'
    got = client.get(f"/api/packs/{body['id']}").get_json()
    assert got["site_ids"] == site_ids and got["notes"] == {str(site_ids[0]): "dawn, front-lit"}
    assert [s["properties"]["pack_position"] for s in got["sites"]] == [1, 2, 3, 4]
    assert got["sites"][0]["properties"]["pack_note"] == "dawn, front-lit"
    assert "edit_token" not in got and "edit_token_hash" not in json.dumps(got)
    assert client.get("/api/packs/not-a-real-token").status_code == 404


@pytest.mark.parametrize("body,field", [
    ({"site_ids": [1]}, "name"),
    ({"name": " ", "site_ids": [1]}, "name"),
    ({"name": "x" * 201, "site_ids": [1]}, "name"),
    ({"name": "a", "site_ids": []}, "site_ids"),
    ({"name": "a", "site_ids": [1, 1]}, "site_ids"),
    ({"name": "a", "site_ids": ["1"]}, "site_ids"),
    ({"name": "a", "site_ids": [999999]}, "site_ids"),
    ({"name": "a", "site_ids": [1], "notes": {"2": "not in the pack"}}, "notes"),
    ({"name": "a", "site_ids": [1], "notes": {"1": "x" * 2001}}, "notes"),
    ({"name": "a", "site_ids": [1], "shoot_date": "2026-13-01"}, "shoot_date"),
    ({"name": "a", "site_ids": [1], "expires_on": "2000-01-01"}, "expires_on"),
    ({"name": "a", "site_ids": [1], "owner": "me"}, "owner"),
])
def test_invalid_pack_names_the_field(client, body, field):
    resp = client.post("/api/packs", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["invalid-params"][0]["name"] == field


def test_wrong_content_type_and_malformed_json(client):
    assert client.post("/api/packs", data="name=x", content_type="application/x-www-form-urlencoded").status_code == 415
    resp = client.post("/api/packs", data="{not json", content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["invalid-params"][0]["name"] == "body"


def test_change_needs_the_edit_token_and_the_current_version(client, site_ids):
    body = create(client, site_ids).get_json()
    url, token = f"/api/packs/{body['id']}", body["edit_token"]
    assert client.patch(url, json={"name": "x"}).status_code == 403
    assert client.patch(url, json={"name": "x"}, headers={"X-Edit-Token": "guess"}).status_code == 403
    ok = client.patch(url, json={"name": "Renamed", "site_ids": site_ids[::-1]},
                      headers={"X-Edit-Token": token, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    assert ok.get_json()["site_ids"] == site_ids[::-1]
    # The note followed its site to its new place.
    assert ok.get_json()["notes"] == {str(site_ids[0]): "dawn, front-lit"}
    # A second editor still holding version 1 is refused and told what is stored now; nothing changes.
    stale = client.patch(url, json={"name": "Lost edit"}, headers={"X-Edit-Token": token, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.get_json()["current"]["name"] == "Renamed" and stale.get_json()["current"]["version"] == 2
    assert client.get(url).get_json()["name"] == "Renamed"
    assert client.delete(url, headers={"X-Edit-Token": "guess"}).status_code == 403
    assert client.delete(url, headers={"X-Edit-Token": token}).status_code == 204
    assert client.get(url).status_code == 404


def test_expired_pack_is_gone(app, client, site_ids):
    body = create(client, site_ids, expires_on=today().isoformat()).get_json()
    assert client.get(f"/api/packs/{body['id']}").status_code == 200  # valid through its last day
    with app.extensions["scouting"]["sessionmaker"]() as session:
        session.execute(update(Pack).where(Pack.token == body["id"]).values(expires_on=today() - timedelta(days=1)))
        session.commit()
    for path in ("/api/packs/{}", "/packs/{}", "/packs/{}/print", "/api/packs/{}/export?format=csv"):
        assert client.get(path.format(body["id"])).status_code == 410, path


def test_share_page_escapes_user_strings_and_has_a_qr_code(client, site_ids):
    body = create(client, site_ids, name=HOSTILE, notes={str(site_ids[1]): HOSTILE}, description=HOSTILE).get_json()
    html = client.get(f"/packs/{body['id']}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<svg" in html and body["share_url"] in html
    for fmt in ("geojson", "kml", "gpx", "gpkg", "csv", "zip"):
        assert f"format={fmt}" in html
    printed = client.get(f"/packs/{body['id']}/print").get_data(as_text=True)
    assert "<img src=x" not in printed and printed.count('class="locator"') == len(site_ids)
    assert "@page { size: A4" in printed


def test_pack_exports_and_zip(client, site_ids):
    body = create(client, site_ids, name="丽水 & 文成: 5月").get_json()
    geo = client.get(f"/api/packs/{body['id']}/export?format=geojson")
    assert geo.status_code == 200 and geo.mimetype == "application/geo+json"
    disposition = geo.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"") and "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "丽水 & 文成: 5月.geojson"
    features = json.loads(geo.get_data())["features"]
    assert [f["id"] for f in features] == site_ids
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/packs/{body['id']}/export?format=zip").get_data()))
    names = set(archive.namelist())
    assert {"pack.geojson", "pack.kml", "pack.gpx", "pack.gpkg", "pack.csv", "print.html"} <= names
    assert archive.testzip() is None
    assert json.loads(archive.read("pack.geojson"))["features"][0]["id"] == site_ids[0]
    bad = client.get(f"/api/packs/{body['id']}/export?format=shp")
    assert bad.status_code == 400 and "valid formats" in bad.get_json()["detail"]


def test_filter_export_is_the_same_query(client):
    api = client.get("/api/sites?genre=youth&facility=villas&limit=1000").get_json()
    out = client.get("/api/sites/export?format=geojson&genre=youth&facility=villas")
    assert out.status_code == 200 and api["numberMatched"] > 0
    assert sorted(f["id"] for f in json.loads(out.get_data())["features"]) == sorted(f["id"] for f in api["features"])
    assert client.get("/api/sites/export?format=csv&genre=horror").status_code == 400
    assert client.get("/api/sites/export?format=zip").status_code == 400


def test_cli_export(app, client, runner, tmp_path, site_ids):
    body = create(client, site_ids).get_json()
    out = tmp_path / "pack.gpx"
    result = runner.invoke(args=["export", "--pack", body["id"], "--format", "gpx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    import gpxpy
    assert len(gpxpy.parse(out.read_text(encoding="utf-8")).waypoints) == len(site_ids)
    out = tmp_path / "nature.csv"
    result = runner.invoke(args=["export", "--genre", "nature", "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = out.read_text(encoding="utf-8-sig").strip().splitlines()
    assert len(rows) - 1 == client.get("/api/sites?genre=nature").get_json()["numberMatched"]
    zipped = tmp_path / "pack.zip"
    result = runner.invoke(args=["export", "--pack", body["id"], "--format", "zip", "-o", str(zipped)])
    assert result.exit_code == 0, result.output
    assert "print.html" in zipfile.ZipFile(zipped).namelist()
    result = runner.invoke(args=["export", "--pack", "nope", "--format", "csv", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "no pack" in result.output


def test_signed_in_directors_packs_are_listed_under_their_account(writer):
    from .helpers import signed_in

    ids = [f["id"] for f in writer.get("/api/sites?limit=2").get_json()["features"]]
    assert writer.get("/my/packs").status_code == 302
    anonymous = writer.post("/api/packs", json={"name": "Nobody's pack", "site_ids": ids}).get_json()
    signed_in(writer, "dir")
    mine = writer.post("/api/packs", json={"name": "Director's recce", "site_ids": ids}).get_json()
    listing = writer.get("/my/packs").get_data(as_text=True)
    assert f"/packs/{mine['id']}" in listing and f"/packs/{anonymous['id']}" not in listing
    other = writer.application.test_client()
    signed_in(other, "ping")
    assert f"/packs/{mine['id']}" not in other.get("/my/packs").get_data(as_text=True)


def _zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_cli_zip_holds_what_the_web_zip_holds_without_a_request(app, client, runner, tmp_path, site_ids, monkeypatch):
    """One core function builds both; the CLI renders the print view in its app context, with no fake request."""
    import re

    import pyogrio
    from flask import Flask

    body = create(client, site_ids, name="文成 pack", shoot_date="2026-12-01").get_json()
    monkeypatch.setitem(app.config, "PUBLIC_URL", "http://localhost")  # the address the test client's requests carry
    web = _zip_members(client.get(f"/api/packs/{body['id']}/export?format=zip").get_data())

    def no_request(*args, **kwargs):
        raise AssertionError("the CLI built a request context")

    monkeypatch.setattr(Flask, "test_request_context", no_request)
    out = tmp_path / "cli.zip"
    result = runner.invoke(args=["export", "--pack", body["id"], "--format", "zip", "-o", str(out)])
    assert result.exit_code == 0, result.output
    cli = _zip_members(out.read_bytes())

    assert sorted(cli) == sorted(web), "the same members"
    for name in ("pack.geojson", "pack.kml", "pack.gpx", "pack.csv", "README.txt"):
        assert cli[name] == web[name], f"{name} differs between the CLI's zip and the web's"
    web_gpkg, cli_gpkg = tmp_path / "web.gpkg", tmp_path / "cli.gpkg"
    web_gpkg.write_bytes(web["pack.gpkg"])
    cli_gpkg.write_bytes(cli["pack.gpkg"])
    assert pyogrio.read_dataframe(cli_gpkg).equals(pyogrio.read_dataframe(web_gpkg)), "pack.gpkg read back differs"

    def without_nonce(html: bytes) -> str:  # a fresh CSP nonce per rendering is the one intended difference
        return re.sub(r'nonce="[^"]*"', 'nonce=""', html.decode("utf-8"))

    assert without_nonce(cli["print.html"]) == without_nonce(web["print.html"]), "print.html differs"
    assert f"http://localhost/packs/{body['id']}" in cli["print.html"].decode(), "the share link uses PUBLIC_URL"


def test_cli_zip_without_public_url_prints_the_share_path(app, client, runner, tmp_path, site_ids):
    body = create(client, site_ids).get_json()
    assert not app.config.get("PUBLIC_URL")
    out = tmp_path / "cli.zip"
    result = runner.invoke(args=["export", "--pack", body["id"], "--format", "zip", "-o", str(out)])
    assert result.exit_code == 0, result.output
    printed = _zip_members(out.read_bytes())["print.html"].decode("utf-8")
    assert '<p class="share-url" lang="zxx">/packs/' + body['id'] + '</p>' in printed, "a relative share link, not a made-up host"
    assert "localhost" not in printed
    # A QR code of a relative link would lead nowhere: there is none, and the page says why, in its language.
    assert 'id="print-qr"' not in printed and "未显示二维码：本站尚未设置公开网址" in printed
    assert '<html lang="zh-CN">' in printed, "the default language, as a first visit gets"


# --------------------------------------------------------------------------- the pages in the reader's language

def test_accuracy_reads_as_a_sentence_with_the_methods_label():
    assert accuracy_sentence(8000, "township_seat", True, "zh") == "近似位置，误差约 8 公里（乡镇驻地）"
    assert accuracy_sentence(5, "surveyed", False, "zh") == "误差约 5 米（实地测量）"
    assert accuracy_sentence(8000, "township_seat", True, "en") == (
        "Approximate position, within about 8 km. Method: Township seat (the place lies in this township).")
    assert accuracy_sentence(1500, "gps", True, "en") == (
        "Approximate position, within about 1.5 km. Method: Phone GPS (accuracy as reported).")
    assert (distance_text(12000, "zh"), distance_text(850, "en")) == ("12 公里", "850 m")
    assert seasons_text(["spring", "autumn"], "zh") == "春、秋"
    assert seasons_text(["spring", "autumn"], "en") == "Spring, Autumn"


@pytest.mark.parametrize("lang,expected,foreign", [
    ("zh", {"最佳季节：", "位置精度：", "导航：", "高德地图", "百度地图", "拍摄日期："}, ("Spring", "Position accuracy", ": ")),
    ("en", {"Best seasons: ", "Position accuracy: ", "Navigate: ", "Baidu Maps", "Shooting date: "}, ("、", "位置精度", "：")),
])
def test_pack_page_and_print_view_speak_one_language(client, site_ids, lang, expected, foreign):
    body = create(client, site_ids).get_json()
    page = client.get(f"/packs/{body['id']}?lang={lang}").get_data(as_text=True)
    printed = client.get(f"/packs/{body['id']}/print?lang={lang}").get_data(as_text=True)
    sites = client.get(f"/api/packs/{body['id']}").get_json()["sites"]
    for text in expected - {"导航：", "Navigate: ", "高德地图", "百度地图", "Baidu Maps"}:
        assert text.rstrip(": ：") in printed, f"the print view shows {text!r}"
    for text in expected:
        assert text in page, f"the pack page shows {text!r}"
    for html in (page, printed):
        assert "township_seat" not in html and "±" not in html and "(estimate)" not in html, "no code, no bare ±"
    sites_text = page[page.index('<ol class="pack-sites">'):page.index("</ol>", page.index('<ol class="pack-sites">'))]
    for word in foreign:
        assert word not in sites_text, f"the {lang} site list shows {word!r}"
    for feature in sites:
        lon, lat = feature["geometry"]["coordinates"]
        p = feature["properties"]
        links = geo.navigation_links(lon, lat, p["name_zh"])
        assert escape(links["amap"]) in page and escape(links["baidu"]) in page, "Amap and Baidu links, as the detail panel"
        assert f'data-copy="{lat:.6f}, {lon:.6f}"' in page, "WGS-84 to copy"
        gcj_lon, gcj_lat = geo.wgs84_to_gcj02(lon, lat)
        assert f'data-copy="{gcj_lat:.6f}, {gcj_lon:.6f}"' in page, "GCJ-02 to copy"
        sentence = accuracy_sentence(p["coord_accuracy_m"], p["position_method"], p["approximate"], lang)
        assert sentence in page and sentence in printed
        assert seasons_text(p["best_seasons"], lang) in page
    assert f'data-copy="{body["share_url"]}"' in page, "the share link to copy"
    other = "en" if lang == "zh" else "zh_CN"
    assert f'href="?lang={other}"' in page and f'href="?lang={other}"' in printed, "a switch to the other language"


def test_an_untranslated_access_note_says_so_in_the_pages_language(writer):
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    url = f"/api/sites/{site['id']}"
    etag = writer.get(url).headers["ETag"]
    changed = writer.patch(url, json={"type": "Feature", "properties": {"access_notes_en": None}},
                           headers=auth(writer, **{"If-Match": etag}))
    assert changed.status_code == 200, changed.get_json()
    body = create(writer, [site["id"]]).get_json()
    zh_note = site["properties"]["access_notes_zh"]
    for path in ("/packs/{}?lang=en", "/packs/{}/print?lang=en"):
        html = writer.get(path.format(body["id"])).get_data(as_text=True)
        assert "(no English note)" in html, path
        assert escape(zh_note) not in html, f"{path} shows the Chinese note silently"
    for path in ("/packs/{}?lang=zh", "/packs/{}/print?lang=zh"):
        html = writer.get(path.format(body["id"])).get_data(as_text=True)
        assert escape(zh_note) in html and "（无中文说明）" not in html, path


def test_print_view_carries_the_share_links_qr_code(client, site_ids):
    body = create(client, site_ids).get_json()
    printed = client.get(f"/packs/{body['id']}/print").get_data(as_text=True)
    src = printed.split('id="print-qr" src="', 1)[1].split('"', 1)[0]
    png = Image.open(io.BytesIO(base64.b64decode(src.removeprefix("data:image/png;base64,")))).convert("1")
    expected = segno.make(body["share_url"], error="m")
    # Each module read back from the image (scale 8, border 4) is the one segno makes for the share link.
    read = [[png.getpixel((8 * (4 + x) + 4, 8 * (4 + y) + 4)) == 0 for x in range(expected.symbol_size(border=0)[0])]
            for y in range(expected.symbol_size(border=0)[1])]
    assert read == [[bool(m) for m in row] for row in expected.matrix], "the QR code encodes the share link"
