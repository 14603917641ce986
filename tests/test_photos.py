"""Site photos: upload by content type, public copies without metadata, private originals, EXIF GPS, refusals
that leave nothing behind, deletion, locate, details and the pack zip.  Every test runs on both databases."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, TiffImagePlugin
from pyproj import Geod
from sqlalchemy import func, select

from scouting.models import Photo

from .helpers import auth

GEOD = Geod(ellps="WGS84")
LAT, LON = 27.791234, 120.081234  # near the county seat
RED, BLUE = (220, 20, 20), (20, 20, 220)
SECRET_WORDS = (b"Apple", b"iPhone 15", b"Wang Wei 13800000000", b"xmpmeta", b"Exif\x00\x00", b"2025:10:01")


# --------------------------------------------------------------------------- fixtures and helpers

@pytest.fixture
def writer(writer):
    """The shared staff client (conftest), plus where photos land and a site to attach them to."""
    writer.app = writer.application
    writer.photo_dir = Path(writer.application.instance_path) / "photos"  # the default PHOTO_DIR
    writer.site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    return writer


def files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def photo_rows(client) -> int:
    with client.app.extensions["scouting"]["sessionmaker"]() as session:
        return session.scalar(select(func.count()).select_from(Photo))


def upload(client, data: bytes, name="IMG_0001.jpg", mimetype="image/jpeg", role="planner", site_id=None, **form):
    site_id = client.site["id"] if site_id is None else site_id
    headers = auth(client, role) if role else {}
    return client.post(f"/api/sites/{site_id}/photos", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name, mimetype), **form})


def _dms(value: float):
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return (TiffImagePlugin.IFDRational(degrees, 1), TiffImagePlugin.IFDRational(minutes, 1),
            TiffImagePlugin.IFDRational(round(seconds * 1_000_000), 1_000_000))


def halves(size=(1200, 800), mode="RGB") -> Image.Image:
    """Left half red, right half blue: shows which way the picture was turned."""
    image = Image.new(mode, size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def geotagged_jpeg(size=(1200, 800), orientation=6, lat=LAT, lon=LON) -> bytes:
    """A phone photo: EXIF GPS, orientation, camera make/model and time, an ICC profile, XMP and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Artist] = "Wang Wei 13800000000"
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    detail[ExifTags.Base.DateTimeOriginal] = "2025:10:01 07:30:00"
    detail[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
    gps[ExifTags.GPS.GPSLatitude] = _dms(abs(lat))
    gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
    gps[ExifTags.GPS.GPSLongitude] = _dms(abs(lon))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    buffer = io.BytesIO()
    halves(size).save(buffer, "JPEG", quality=95, exif=exif, icc_profile=icc, xmp=xmp, comment=b"Wang Wei 13800000000")
    return buffer.getvalue()


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_bomb(side=30_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels (900 megapixels) that is only about 100 kB."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + side // 8)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def near(colour, expected, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour[:3], expected, strict=True))


# --------------------------------------------------------------------------- tests

def test_geotagged_phone_photo(writer):
    raw = geotagged_jpeg()
    resp = upload(writer, raw, caption="  Waterfall   at dawn ")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"] == f"/api/photos/{body['id']}"
    assert body["caption"] == "Waterfall at dawn" and body["uploaded_by"] == "ping"
    assert body["content_type"] == "image/jpeg" and body["bytes"] == len(raw)
    assert abs(body["gps"]["lat"] - LAT) < 1e-6 and abs(body["gps"]["lon"] - LON) < 1e-6
    assert body["taken_at"] == "2025-09-30T23:30:00Z"  # 07:30 at +08:00
    site_lon, site_lat = writer.site["geometry"]["coordinates"]
    suggested = body["suggested_position"]
    assert abs(suggested["lat"] - LAT) < 1e-6 and abs(suggested["lon"] - LON) < 1e-6
    assert abs(suggested["distance_m_from_site"] - GEOD.inv(site_lon, site_lat, LON, LAT)[2]) < 1
    # Upright: the raw 1200x800 pixels turned 90° clockwise (orientation 6), so the left (red) half is on top.
    assert (body["width"], body["height"]) == (800, 1200)

    public = writer.get(body["url"])
    assert public.status_code == 200 and public.mimetype == "image/jpeg"
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert "public" in public.headers["Cache-Control"] and "max-age" in public.headers["Cache-Control"]
    image = Image.open(io.BytesIO(public.get_data()))
    assert image.size == (800, 1200)
    assert near(image.getpixel((400, 200)), RED) and near(image.getpixel((400, 1000)), BLUE)
    # No metadata at all: no EXIF (so no GPS, camera, orientation or time), no ICC, XMP or comment.
    assert len(image.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment"} & set(image.info)
    for secret in SECRET_WORDS:
        assert secret not in public.get_data(), secret

    thumb = writer.get(body["thumb_url"])
    assert thumb.status_code == 200 and thumb.headers["X-Content-Type-Options"] == "nosniff"
    small = Image.open(io.BytesIO(thumb.get_data()))
    assert max(small.size) <= 320 and small.size == (213, 320)
    assert len(small.getexif()) == 0 and "exif" not in small.info

    # The original: byte-identical, for planners only.
    original = f"/api/photos/{body['id']}/original"
    assert body["original_url"] == original
    assert writer.get(original).status_code == 401
    assert writer.get(original, headers=auth(writer, "director")).status_code == 403
    got = writer.get(original, headers=auth(writer))
    assert got.status_code == 200 and got.get_data() == raw and got.mimetype == "image/jpeg"
    assert "no-store" in got.headers["Cache-Control"] and got.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in got.headers["Content-Disposition"]

    # On disk: three files named by a random token, none by the uploaded name, no temporary files left.
    names = [p.relative_to(writer.photo_dir).as_posix() for p in files_in(writer.photo_dir)]
    token = body["url"].rsplit("/", 1)[1].split(".")[0]
    assert names == sorted([f"original/{token}.jpg", f"public/{token}.jpg", f"thumb/{token}.jpg"])
    assert (writer.photo_dir / "original" / f"{token}.jpg").read_bytes() == raw
    assert len(token) >= 24

    # Lists and details: anyone sees the public copies; only staff see where and when it was taken.
    sid = writer.site["id"]
    anonymous = writer.get(f"/api/sites/{sid}/photos").get_json()["photos"]
    assert [p["id"] for p in anonymous] == [body["id"]]
    assert "gps" not in anonymous[0] and "original_url" not in anonymous[0] and "uploaded_by" not in anonymous[0]
    staff = writer.get(f"/api/sites/{sid}/photos", headers=auth(writer)).get_json()["photos"]
    assert abs(staff[0]["gps"]["lat"] - LAT) < 1e-6
    assert writer.get(f"/api/sites/{sid}/photos", headers={"Authorization": "Bearer ws_guess"}).status_code == 401
    details = writer.get(f"/api/sites/{sid}/details").get_json()["photos"]
    assert details == [{"id": body["id"], "url": body["url"], "thumb_url": body["thumb_url"],
                        "caption": "Waterfall at dawn", "width": 800, "height": 1200}]
    other = writer.get("/api/sites?limit=2").get_json()["features"][1]["id"]
    assert writer.get(f"/api/sites/{other}/details").get_json()["photos"] == []


@pytest.mark.parametrize("kind", ["png", "png_alpha", "webp", "heic"])
def test_png_webp_and_heic_are_accepted_by_content(writer, kind):
    image = halves((400, 300), "RGBA" if kind == "png_alpha" else "RGB")
    if kind == "png_alpha":
        image.putpixel((0, 0), (0, 0, 0, 0))
    fmt = {"png": "PNG", "png_alpha": "PNG", "webp": "WEBP", "heic": "HEIF"}[kind]
    data = encoded(image, fmt)
    # The name and declared type say "text": only the content counts.
    resp = upload(writer, data, name="notes.txt", mimetype="text/plain")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["content_type"] == {"PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}[fmt]
    assert body["gps"] is None and "suggested_position" not in body
    assert (body["width"], body["height"]) == (400, 300)
    public = writer.get(body["url"])
    assert public.status_code == 200
    expected = "image/webp" if kind == "png_alpha" else "image/jpeg"  # transparency is kept, in WebP
    assert public.mimetype == expected and body["url"].endswith(".webp" if kind == "png_alpha" else ".jpg")
    assert Image.open(io.BytesIO(public.get_data())).size == (400, 300)
    assert writer.get(f"/api/photos/{body['id']}/original", headers=auth(writer)).get_data() == data


def test_refused_uploads_leave_no_files_and_no_rows(writer):
    jpeg = geotagged_jpeg((300, 200))
    cases = [
        ("text renamed .jpg", dict(data=b"just some notes, not a picture\n" * 20), 415, "file"),
        ("a GIF", dict(data=encoded(halves((40, 30)), "GIF"), name="x.gif", mimetype="image/gif"), 415, "file"),
        ("a TIFF", dict(data=encoded(halves((40, 30)), "TIFF"), name="x.tif"), 415, "file"),
        ("truncated JPEG", dict(data=jpeg[: len(jpeg) // 2]), 400, "file"),
        ("empty file", dict(data=b""), 400, "file"),
        ("decompression bomb", dict(data=png_bomb(), name="bomb.png", mimetype="image/png"), 413, "file"),
        ("long caption", dict(data=jpeg, caption="x" * 501), 400, "caption"),
    ]
    for label, kwargs, status, field in cases:
        resp = upload(writer, **kwargs)
        assert resp.status_code == status, (label, resp.get_json())
        assert resp.mimetype == "application/problem+json", label
        assert resp.get_json()["invalid-params"][0]["name"] == field, label
        assert files_in(writer.photo_dir) == [] and photo_rows(writer) == 0, label
    bomb = upload(writer, png_bomb(), name="bomb.png")
    assert "decompression bomb" in bomb.get_json()["detail"]

    # Not multipart, no `file` field, no such site.
    sid = writer.site["id"]
    assert writer.post(f"/api/sites/{sid}/photos", json={"file": "x"}, headers=auth(writer)).status_code == 415
    missing = writer.post(f"/api/sites/{sid}/photos", data={"caption": "x"}, content_type="multipart/form-data",
                          headers=auth(writer))
    assert missing.status_code == 400 and missing.get_json()["invalid-params"][0]["name"] == "file"
    assert upload(writer, jpeg, site_id=999999).status_code == 404

    # Over the photo size limit: 413 as problem+json naming the field.
    writer.app.config["PHOTO_MAX_BYTES"] = 1000
    big = upload(writer, jpeg)
    assert big.status_code == 413 and big.mimetype == "application/problem+json"
    assert big.get_json()["invalid-params"][0]["name"] == "file" and "1,000 bytes" in big.get_json()["detail"]
    # Over Flask's MAX_CONTENT_LENGTH for the whole request: Werkzeug's 413, also problem+json (no HTML 500).
    writer.app.config.update(PHOTO_MAX_BYTES=10_000_000, MAX_CONTENT_LENGTH=2000)
    whole = upload(writer, jpeg)
    assert whole.status_code == 413 and whole.mimetype == "application/problem+json"
    assert whole.get_json()["status"] == 413
    assert files_in(writer.photo_dir) == [] and photo_rows(writer) == 0


def test_pixel_limit_is_configurable(writer):
    writer.app.config["PHOTO_MAX_PIXELS"] = 100 * 100
    resp = upload(writer, encoded(halves((101, 100)), "PNG"), name="a.png")
    assert resp.status_code == 413 and "10,000" in resp.get_json()["detail"]
    assert upload(writer, encoded(halves((100, 100)), "PNG"), name="a.png").status_code == 201


def test_who_may_upload_delete_and_locate(writer):
    jpeg = geotagged_jpeg((300, 200))
    assert upload(writer, jpeg, role=None).status_code == 401
    assert upload(writer, jpeg, role="director").status_code == 403
    bad = writer.post(f"/api/sites/{writer.site['id']}/photos", headers={"Authorization": "Bearer ws_guess"},
                      content_type="multipart/form-data", data={"file": (io.BytesIO(jpeg), "a.jpg")})
    assert bad.status_code == 401
    assert files_in(writer.photo_dir) == [] and photo_rows(writer) == 0
    photo = upload(writer, jpeg).get_json()
    assert writer.delete(f"/api/photos/{photo['id']}").status_code == 401
    assert writer.delete(f"/api/photos/{photo['id']}", headers=auth(writer, "director")).status_code == 403
    locate = {"file": (io.BytesIO(jpeg), "a.jpg")}
    assert writer.post("/api/photos/locate", data=locate, content_type="multipart/form-data").status_code == 401
    assert photo_rows(writer) == 1


def test_delete_removes_row_and_files(writer):
    body = upload(writer, geotagged_jpeg((300, 200))).get_json()
    assert len(files_in(writer.photo_dir)) == 3
    resp = writer.delete(f"/api/photos/{body['id']}", headers=auth(writer))
    assert resp.status_code == 204
    assert files_in(writer.photo_dir) == [] and photo_rows(writer) == 0
    assert writer.get(body["url"]).status_code == 404 and writer.get(body["thumb_url"]).status_code == 404
    assert writer.get(f"/api/photos/{body['id']}/original", headers=auth(writer)).status_code == 404
    assert writer.delete(f"/api/photos/{body['id']}", headers=auth(writer)).status_code == 404
    assert writer.get(f"/api/sites/{writer.site['id']}/photos").get_json()["photos"] == []


def test_public_files_are_only_those_of_live_sites(writer):
    body = upload(writer, geotagged_jpeg((300, 200))).get_json()
    token = body["url"].rsplit("/", 1)[1].split(".")[0]
    assert writer.get(f"/photos/{token}.png").status_code == 404  # the wrong extension
    assert writer.get("/photos/..%2F..%2Fsecret_key.jpg").status_code == 404
    other = "y" if token.endswith("x") else "x"  # a token one letter off (never the real one)
    assert writer.get(f"/photos/{token[:-1]}{other}.jpg").status_code == 404
    sid = writer.site["id"]
    etag = writer.get(f"/api/sites/{sid}").headers["ETag"]
    assert writer.delete(f"/api/sites/{sid}", headers={**auth(writer), "If-Match": etag}).status_code == 204
    assert writer.get(body["url"]).status_code == 404
    assert writer.get(f"/api/sites/{sid}/photos").status_code == 404
    assert writer.get(f"/api/photos/{body['id']}/original", headers=auth(writer)).status_code == 200  # staff still can
    assert writer.post(f"/api/sites/{sid}/undelete", headers=auth(writer)).status_code == 200
    assert writer.get(body["url"]).status_code == 200


def test_a_failed_write_leaves_no_orphans(writer, monkeypatch):
    import scouting.photos as photos

    first = upload(writer, geotagged_jpeg((300, 200))).get_json()
    before = files_in(writer.photo_dir)
    # The database refuses the row (the same token twice): nothing of the second upload stays, the first is intact.
    token = first["url"].rsplit("/", 1)[1].split(".")[0]
    monkeypatch.setattr(photos.secrets, "token_urlsafe", lambda n: token)
    clash = upload(writer, geotagged_jpeg((200, 300)))
    assert clash.status_code == 500 and clash.mimetype == "application/problem+json"
    assert files_in(writer.photo_dir) == before and photo_rows(writer) == 1
    assert writer.get(first["url"]).status_code == 200
    monkeypatch.undo()

    # Renaming into place fails after the commit: the row is removed again, and the files.
    def broken(self):
        self.discard()
        raise OSError("disk full")

    monkeypatch.setattr(photos.Staged, "publish", broken)
    assert upload(writer, geotagged_jpeg((200, 300))).status_code == 500
    assert files_in(writer.photo_dir) == before and photo_rows(writer) == 1


def test_locate_reads_the_position_without_storing(writer):
    resp = writer.post("/api/photos/locate", headers=auth(writer), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(geotagged_jpeg(lat=-33.5, lon=-70.25)), "x.jpg")})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert abs(body["position"]["lat"] + 33.5) < 1e-6 and abs(body["position"]["lon"] + 70.25) < 1e-6  # S and W
    assert body["geometry"]["type"] == "Point"
    near_seat = writer.post("/api/photos/locate", headers=auth(writer), content_type="multipart/form-data",
                            data={"file": (io.BytesIO(geotagged_jpeg()), "x.jpg")}).get_json()
    lon, lat = near_seat["geometry"]["coordinates"]
    assert abs(lon - LON) < 1e-6 and abs(lat - LAT) < 1e-6
    assert near_seat["taken_at"] == "2025-09-30T23:30:00Z"
    assert files_in(writer.photo_dir) == [] and photo_rows(writer) == 0
    # ... from which a planner creates a site.
    feature = {"type": "Feature", "geometry": near_seat["geometry"], "properties": {
        "name_zh": "照片定位", "name_en": "From a photo", "genres": ["nature"], "coord_source": "phone photo EXIF GPS",
        "coord_accuracy_m": 10, "position_method": "surveyed"}}
    assert writer.post("/api/sites", json=feature, headers=auth(writer)).status_code == 201
    plain = writer.post("/api/photos/locate", headers=auth(writer), content_type="multipart/form-data",
                        data={"file": (io.BytesIO(encoded(halves((50, 50)), "PNG")), "x.png")}).get_json()
    assert plain["position"] is None and plain["geometry"] is None
    text = writer.post("/api/photos/locate", headers=auth(writer), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"not a photo at all"), "x.jpg")})
    assert text.status_code == 415 and text.get_json()["invalid-params"][0]["name"] == "file"


def test_pack_zip_contains_the_public_copies(writer):
    body = upload(writer, geotagged_jpeg((300, 200))).get_json()
    public = writer.get(body["url"]).get_data()
    sid = writer.site["id"]
    other = writer.get("/api/sites?limit=2").get_json()["features"][1]["id"]
    pack = writer.post("/api/packs", json={"name": "With photos", "site_ids": [other, sid]}).get_json()
    archive = zipfile.ZipFile(io.BytesIO(writer.get(f"/api/packs/{pack['id']}/export?format=zip").get_data()))
    assert archive.testzip() is None
    slug = writer.site["properties"]["slug"]
    assert [n for n in archive.namelist() if n.startswith("photos/")] == [f"photos/02-{slug}-1.jpg"]
    assert archive.read(f"photos/02-{slug}-1.jpg") == public
    assert b"photos/" in archive.read("README.txt")
    for secret in SECRET_WORDS:
        assert secret not in public


@pytest.mark.browser
def test_detail_panel_shows_thumbnails(writer, chromium):
    from scouting.maps import TILE_HOSTS

    from .browser import PageWatch, serve

    hostile = '<img src=x onerror="window.pwned=1">'
    body = upload(writer, geotagged_jpeg((600, 400)), caption=hostile).get_json()
    sid = writer.site["id"]
    ready = "() => window.WenchengScout && WenchengScout.state && WenchengScout.state.ready && !WenchengScout.state.loading"
    with serve(writer.app) as url:
        page = chromium.new_page(viewport={"width": 1280, "height": 800})  # in a context of its own
        try:
            watch = PageWatch(page)
            page.goto(url + "/")
            page.wait_for_function(ready, timeout=20_000)
            page.click(f".scout-result[data-site-id='{sid}']")
            page.wait_for_selector(f"#scout-detail-body[data-site-id='{sid}'] .scout-photos img")
            link = page.locator(".scout-photos a").first
            assert link.get_attribute("href") == body["url"], "the thumbnail does not link to the photo"
            image = link.locator("img")
            assert image.get_attribute("src") == body["thumb_url"] and image.get_attribute("alt") == hostile, \
                "the thumbnail's source or its caption as alt text"
            page.wait_for_function("() => document.querySelector('.scout-photos img').naturalWidth > 0", timeout=10_000)
            assert page.evaluate("document.querySelector('.scout-photos img').naturalHeight") == 320, \
                "the thumbnail loaded is not 320 px high"
            assert page.evaluate("window.pwned") is None, "the hostile caption ran a script"
            assert not watch.console_errors and not watch.page_errors, (watch.console_errors, watch.page_errors)
            assert watch.blocked_hosts <= TILE_HOSTS, f"requests left for hosts other than tiles: {watch.blocked_hosts}"
        finally:
            page.context.close()
