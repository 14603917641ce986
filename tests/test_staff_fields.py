"""Staff-only facts never reach anyone outside the staff: every GET route of the app, every export format.

A site gets permit and contact notes, a photo whose original carries camera EXIF and is uploaded by a staff
account, and a suggestion with the suggester's contact.  Then every GET rule of app.url_map is requested
anonymously (and as a director, who is signed in but not staff), with real ids and tokens for its variables
and the representations it offers (f=html/json, every export format); the answers are searched for those
strings, binary formats after reading them back (GeoPackage with pyogrio, the zip member by member).
"""
from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import pyogrio
import pytest

from scouting import accounts
from scouting.formats.export import EXPORT_FORMATS

from .conftest import STAFF_PASSWORD
from .helpers import bearer
from .test_photos import geotagged_jpeg

PERMIT = "STAFFPERMIT-4c1e9 ask the township office"
CONTACT = "STAFFCONTACT-8d2f7 Mr Chen 13912345678"
SUGGESTER = "STAFFSUGGESTER-61b0 wx:hidden"
UPLOADER = "stafferq8z"  # the account name is staff-only on photos
CAMERA = ("iPhone 15", "Wang Wei 13800000000")  # the original's EXIF; the public copy has none
SECRETS = (PERMIT, CONTACT, SUGGESTER, UPLOADER, *CAMERA, "STAFFPERMIT", "STAFFCONTACT", "STAFFSUGGESTER")


@pytest.fixture
def filled(writer):
    """The writer's database with every staff-only field filled on one site; returns what the walk needs."""
    app = writer.application
    with app.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, UPLOADER, STAFF_PASSWORD, "planner")
        token = accounts.create_token(session, UPLOADER)
    auth = bearer(token)
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    sid = site["id"]
    stored = writer.get(f"/api/sites/{sid}", headers=auth)
    resp = writer.patch(f"/api/sites/{sid}", json={"type": "Feature", "properties": {"permit_notes": PERMIT, "contact_notes": CONTACT}},
                        headers={**auth, "If-Match": stored.headers["ETag"]})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["properties"]["permit_notes"] == PERMIT  # staff see them
    photo = writer.post(f"/api/sites/{sid}/photos", headers=auth, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(geotagged_jpeg()), "IMG_1.jpg", "image/jpeg"), "caption": "falls"})
    assert photo.status_code == 201, photo.get_json()
    photo = photo.get_json()
    assert photo["uploaded_by"] == UPLOADER

    visitor = app.test_client()
    form = visitor.get(f"/suggest?site={sid}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    sent = visitor.post("/suggest", data={"csrf_token": csrf, "site_id": str(sid), "name": "a better name",
                                          "message": "the path moved", "suggester_contact": SUGGESTER,
                                          "lon": "120.06", "lat": "27.81"})
    assert sent.status_code == 200
    pack = writer.post("/api/packs", json={"name": "Staff walk", "site_ids": [sid], "notes": {str(sid): "dawn"}})
    base_id = writer.get("/ogc/collections/bases/items?f=json&limit=1").get_json()["features"][0]["id"]
    return {"app": app, "site_id": sid, "pack": pack.get_json()["id"], "photo": photo, "base_id": base_id}


def urls_to_visit(filled) -> list[str]:
    """Every GET rule of the app with its variables filled in, in each representation it offers."""
    app = filled["app"]
    photo_url, thumb_url = filled["photo"]["url"], filled["photo"]["thumb_url"]
    photo_token, photo_ext = re.search(r"/photos/([^/.]+)\.(\w+)$", photo_url).groups()
    values = {"site_id": filled["site_id"], "photo_id": filled["photo"]["id"]}
    urls: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        args = set(rule.arguments)
        if rule.endpoint.startswith("photos.") and "token" in args:
            urls += [photo_url, thumb_url] if rule.endpoint == "photos.public_photo" else [thumb_url]
            assert {"token", "ext"} == args and photo_token in photo_url and photo_ext
            continue
        if "collection_id" in args:
            for collection, feature in (("sites", filled["site_id"]), ("bases", filled["base_id"])):
                path = rule.rule.replace("<collection_id>", collection).replace("<feature_id>", str(feature))
                query = "&limit=1000" if path.endswith("/items") else ""
                urls += [f"{path}?f=json{query}", f"{path}?f=html{query}"]
            continue
        path = rule.rule
        for name in args:
            value = filled["pack"] if name == "token" else values.get(name)
            assert value is not None, f"no value for <{name}> in {rule.rule}: add one to this test"
            path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
        urls.append(path)
        if path.startswith("/ogc"):
            urls += [path + "?f=json", path + "?f=html"]
        if path.endswith("/export"):
            urls += [f"{path}?format={fmt}" for fmt in (*EXPORT_FORMATS, "zip") if fmt != "zip" or "packs" in path]
    urls += ["/api/sites?limit=1000", f"/api/sites/{filled['site_id']}/details?date=2025-05-01",
             f"/?site={filled['site_id']}", f"/suggest?site={filled['site_id']}"]
    return urls


def texts_of(resp) -> list[str]:
    """The answer as text, and binary formats read back: GeoPackage attributes, each member of a zip."""
    data = resp.get_data()
    texts = [data.decode("utf-8", "replace")]
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                member = archive.read(name)
                texts.append(member.decode("utf-8", "replace"))
                if name.endswith(".gpkg"):
                    texts += gpkg_values(member)
    elif data[:16] == b"SQLite format 3\x00":
        texts += gpkg_values(data)
    return texts


def gpkg_values(data: bytes) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answer.gpkg"
        path.write_bytes(data)
        frames = [pyogrio.read_dataframe(path, layer=layer) for layer, _geometry in pyogrio.list_layers(path)]
    assert frames and sum(len(f) for f in frames) > 0
    return [str(value) for frame in frames for column in frame.columns for value in frame[column].tolist()]


@pytest.mark.parametrize("who", ["anonymous", "director"])
def test_staff_only_fields_appear_in_no_public_answer(filled, who):
    client = filled["app"].test_client()
    if who == "director":
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post("/login", data={"username": "dir", "password": STAFF_PASSWORD,
                                           "csrf_token": csrf}).status_code == 302
    visited: list[tuple[str, int]] = []
    leaks: list[tuple[str, str]] = []
    for url in urls_to_visit(filled):
        resp = client.get(url)
        assert resp.status_code < 500, (url, resp.status_code)
        visited.append((url, resp.status_code))
        for text in texts_of(resp):
            leaks += [(url, secret) for secret in SECRETS if secret in text]
    assert not leaks, leaks
    served = {url for url, status in visited if status == 200}
    # The walk really saw the site, its photo and the pack, in every format.
    assert f"/api/sites/{filled['site_id']}" in served and filled["photo"]["url"] in served
    assert {f"/api/packs/{filled['pack']}/export?format={fmt}" for fmt in (*EXPORT_FORMATS, "zip")} <= served
    assert {f"/api/sites/export?format={fmt}" for fmt in EXPORT_FORMATS} <= served
    assert f"/ogc/collections/sites/items/{filled['site_id']}?f=json" in served
    assert "/ogc/collections/sites/items?f=json&limit=1000" in served
    # Staff pages answer, but with a sign-in page, 401 or 403 and nothing of the staff's.
    assert dict(visited)["/suggestions"] in (302, 401, 403)
    assert dict(visited)[f"/api/photos/{filled['photo']['id']}/original"] in (401, 403)


def test_staff_notes_are_not_searchable_by_outsiders(filled):
    client = filled["app"].test_client()
    assert client.get("/api/sites?q=STAFFPERMIT").get_json()["numberMatched"] == 0
    assert client.get("/api/sites?q=STAFFCONTACT").get_json()["numberMatched"] == 0
