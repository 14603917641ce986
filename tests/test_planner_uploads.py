"""Planner pages for files: photos on the edit page, a new site from a geotagged photo, the import page
(dry run, then commit of the kept file by its owner only).  Every test runs on both databases."""
from __future__ import annotations

import io
import json
import os
import re
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from PIL import Image
from sqlalchemy import func, select

from scouting import accounts
from scouting.models import Photo

from .helpers import STAFF_PASSWORD as PASSWORD
from .helpers import csrf, signed_in
from .test_photos import LAT, LON, geotagged_jpeg

NEW = [
    {"name_zh": "上传测试竹林", "name_en": "Upload Test Bamboo", "lon": 120.0612, "lat": 27.7634, "genres": ["nature"]},
    {"name_zh": "上传测试古村", "name_en": "Upload Test Village", "lon": 120.0987, "lat": 27.7211, "genres": ["costume"]},
]


@pytest.fixture
def staff(writer):
    """Clients signed in as planner `ping`, director `dir` and a second planner `li`; one anonymous; a site."""
    app = writer.application
    with app.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, "li", PASSWORD, "planner")
    clients = {}
    for name in ("ping", "dir", "li"):
        clients[name] = app.test_client()
        signed_in(clients[name], name)
    clients["anon"] = app.test_client()
    clients["app"] = app
    clients["site"] = writer.get("/api/sites?limit=1").get_json()["features"][0]
    return clients


def geojson(features: list[dict]) -> bytes:
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [f.pop("lon"), f.pop("lat")]},
              "properties": f} for f in (dict(x) for x in features)]
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False).encode()


def post_file(client, url, data: bytes, name: str, csrf: str | None, **form):
    body = {"file": (io.BytesIO(data), name), **form}
    if csrf:
        body["csrf_token"] = csrf
    return client.post(url, data=body, content_type="multipart/form-data")


def test_roles_and_csrf_on_every_route(staff):
    sid = staff["site"]["id"]
    gets = ["/import"]
    posts = [f"/sites/{sid}/photos", "/photos/1/delete", "/sites/new/from-photo", "/import",
             "/import/" + "a" * 32 + "/commit"]
    for url in gets:
        resp = staff["anon"].get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
        assert staff["dir"].get(url).status_code == 403, url
    anon_csrf, dir_csrf = csrf(staff["anon"]), csrf(staff["dir"], "/")
    for url in posts:
        resp = post_file(staff["anon"], url, b"x", "x.jpg", anon_csrf)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
        assert post_file(staff["dir"], url, b"x", "x.jpg", dir_csrf).status_code == 403, url
        assert post_file(staff["ping"], url, b"x", "x.jpg", None).status_code == 400, url  # no CSRF token
    assert "/import" in staff["ping"].get("/").get_data(as_text=True)  # the map links to the import page


def test_photo_upload_list_and_delete(staff):
    ping, sid = staff["ping"], staff["site"]["id"]
    edit = f"/sites/{sid}/edit"
    form_token = csrf(ping, edit)
    resp = post_file(ping, f"/sites/{sid}/photos", geotagged_jpeg((600, 400)), "IMG_1.jpg", form_token, caption="Gate <b>")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(edit)
    page = ping.get(edit).get_data(as_text=True)
    assert "Gate &lt;b&gt;" in page and "photo-upload-form" in page
    details = ping.get(f"/api/sites/{sid}/details").get_json()["photos"]
    assert len(details) == 1 and details[0]["caption"] == "Gate <b>"
    public = ping.get(details[0]["url"])
    assert public.status_code == 200
    image = Image.open(io.BytesIO(public.data))
    assert len(image.getexif()) == 0 and "exif" not in image.info and b"Exif\x00\x00" not in public.data
    # Delete: back to the edit page, the photo gone.
    photo_id = details[0]["id"]
    done = ping.post(f"/photos/{photo_id}/delete", data={"csrf_token": form_token})
    assert done.status_code == 302 and done.headers["Location"].startswith(edit)
    assert ping.get(f"/api/sites/{sid}/details").get_json()["photos"] == []
    assert photo_count(staff["app"]) == 0


def photo_count(app) -> int:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        return session.scalar(select(func.count()).select_from(Photo))


def test_refused_photos_are_shown_and_nothing_is_stored(staff):
    ping, sid, app = staff["ping"], staff["site"]["id"], staff["app"]
    form_token = csrf(ping, f"/sites/{sid}/edit")
    app.config["PHOTO_MAX_BYTES"] = 2000
    try:
        resp = post_file(ping, f"/sites/{sid}/photos", geotagged_jpeg((600, 400)), "big.jpg", form_token)
    finally:
        app.config.pop("PHOTO_MAX_BYTES")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 413 and 'id="photo-error"' in page and "2,000 bytes" in page
    resp = post_file(ping, f"/sites/{sid}/photos", b"not an image at all", "fake.jpg", form_token)
    assert resp.status_code == 415 and 'id="photo-error"' in resp.get_data(as_text=True)
    assert photo_count(app) == 0
    photo_dir = Path(app.instance_path) / "photos"
    assert not photo_dir.exists() or not [p for p in photo_dir.rglob("*") if p.is_file()]


def test_new_site_from_a_geotagged_photo(staff):
    ping, app = staff["ping"], staff["app"]
    form_token = csrf(ping, "/sites/new")
    assert "from-photo-form" in ping.get("/sites/new").get_data(as_text=True)
    resp = post_file(ping, "/sites/new/from-photo", geotagged_jpeg((300, 200)), 'DCIM/IMG_<9>x.jpg', form_token)
    assert resp.status_code == 302
    target = urlsplit(resp.headers["Location"])
    query = parse_qs(target.query)
    assert target.path == "/sites/new"
    assert abs(float(query["lon"][0]) - LON) < 1e-6 and abs(float(query["lat"][0]) - LAT) < 1e-6
    assert query["source"][0] == "EXIF GPS of a phone photo, IMG_9x.jpg"
    form = ping.get(resp.headers["Location"]).get_data(as_text=True)
    assert "EXIF GPS of a phone photo" in form
    assert photo_count(app) == 0
    # No GPS: the new-site page again, with the reason.
    plain = io.BytesIO()
    Image.new("RGB", (50, 50), (10, 200, 10)).save(plain, "JPEG")
    resp = post_file(ping, "/sites/new/from-photo", plain.getvalue(), "plain.jpg", form_token)
    assert resp.status_code == 400
    assert 'id="from-photo-error"' in resp.get_data(as_text=True)


def kept(app) -> list[Path]:
    root = Path(app.instance_path) / "imports"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_import_dry_run_then_commit_by_the_owner_only(staff):
    ping, li, app = staff["ping"], staff["li"], staff["app"]
    form_token = csrf(ping, "/import")
    resp = post_file(ping, "/import", geojson(NEW), "places.geojson", form_token, datum="wgs84", genre_default="")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page
    assert page.count('data-status="create"') == 2
    commit_url = re.search(r'action="(/import/[^"]+/commit)"', page).group(1)
    token = commit_url.split("/")[2]
    assert len(token) >= 22 and "places" not in token
    files = kept(app)
    assert {p.name for p in files} == {"upload.bin", "meta.json"}
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in files)
    query = "/api/sites?" + urlencode({"q": "Upload Test", "limit": 100})
    assert ping.get(query).get_json()["features"] == []  # a dry run writes nothing
    # Another planner cannot commit it; an unknown token is 404.
    assert li.post(commit_url, data={"csrf_token": csrf(li, "/import")}).status_code == 404
    assert ping.post("/import/" + "b" * 32 + "/commit", data={"csrf_token": form_token}).status_code == 404
    done = ping.post(commit_url, data={"csrf_token": form_token})
    assert done.status_code == 200 and 'id="import-commit"' not in done.get_data(as_text=True)
    names = {f["properties"]["name_en"] for f in ping.get(query).get_json()["features"]}
    assert names == {"Upload Test Bamboo", "Upload Test Village"}
    assert kept(app) == []
    assert ping.post(commit_url, data={"csrf_token": form_token}).status_code == 404  # once only


def test_an_invalid_row_offers_no_commit(staff):
    ping, app = staff["ping"], staff["app"]
    bad = [NEW[0], {**NEW[1], "lat": 95.0}]
    resp = post_file(ping, "/import", geojson(bad), "bad.geojson", csrf(ping, "/import"), datum="wgs84")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-status="invalid"' in page
    assert 'id="import-commit"' not in page and 'id="import-no-commit"' in page
    assert kept(app) == []
    garbage = post_file(ping, "/import", b"\x00garbage", "x.geojson", csrf(ping, "/import"), datum="wgs84")
    assert garbage.status_code == 400 and 'id="import-error"' in garbage.get_data(as_text=True)
    assert kept(app) == []
