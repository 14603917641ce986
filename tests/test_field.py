"""Field capture on the server: the `gps` position method (accuracy rounded up, county check), the field page
(planners only, one language), and its session writes: CSRF, a facility checklist recorded as verified by the
planner today, a retried POST that creates nothing twice, a stale correction answered 412 with the current site,
photos through the session."""
from __future__ import annotations

import io
import re
from datetime import date

from PIL import Image

from scouting import accounts

from .conftest import STAFF_PASSWORD
from .helpers import auth, signed_in
from .test_site_writes import INSIDE, new_feature

OUTSIDE = [121.5, 29.0]  # Ningbo: far outside Wencheng


def field_csrf(client, username="ping"):
    """Sign `username` in through the form; the CSRF token the field page's writes carry."""
    signed_in(client, username)
    return client.get("/field/csrf").get_json()["csrf_token"]


def capture(slug="field-test-1a2b3c", coords=INSIDE, **props):
    base = {"slug": slug, "name_zh": "田野外景", "name_en": "Field site", "genres": ["nature"],
            "coord_accuracy_m": 12, "position_method": "gps"}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coords}, "properties": base | props}


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_gps_is_a_position_method_with_its_accuracy_rounded_up(writer):
    methods = {m["slug"]: m for m in writer.get("/api/vocabulary").get_json()["position_methods"]}
    assert methods["gps"]["zh"] == "手机定位" and methods["gps"]["en"] == "Phone GPS (accuracy as reported)"
    schemas = writer.get("/api/openapi.json").get_json()["components"]["schemas"]
    for name in ("NewSite", "SiteInput"):
        enum = schemas[name]["properties"]["properties"]["properties"]["position_method"]["enum"]
        assert "gps" in enum, f"the OpenAPI {name} schema lists gps among the position methods"
    queryables = writer.get("/ogc/collections/sites/queryables?f=json").get_json()
    assert "gps" in queryables["properties"]["position_method"]["enum"], "and so do the OGC queryables"
    created = writer.post("/api/sites", json=new_feature(position_method="gps", coord_accuracy_m=12.2),
                          headers=auth(writer))
    assert created.status_code == 201, created.get_json()
    props = created.get_json()["properties"]
    assert props["coord_accuracy_m"] == 13, "a device's ±12.2 m is stored as 13 m (an upper bound, rounded up)"
    assert props["approximate"] is False, "a good phone fix is not an approximate position"
    surveyed = writer.post("/api/sites", json=new_feature(name_en="Surveyed", coord_accuracy_m=12.2),
                           headers=auth(writer)).get_json()["properties"]
    assert surveyed["coord_accuracy_m"] == 12, "other methods keep rounding to the nearest metre"
    far = new_feature(name_en="Far", position_method="gps") | {"geometry": {"type": "Point", "coordinates": OUTSIDE}}
    outside = writer.post("/api/sites", json=far, headers=auth(writer))
    assert outside.status_code == 400 and outside.get_json()["invalid-params"][0]["name"] == "geometry", \
        "the county check applies to phone fixes too"


def test_the_field_page_is_for_planners_in_one_language(writer):
    anonymous = writer.get("/field")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert writer.get("/field/csrf").status_code == 401
    director = writer.application.test_client()
    page = director.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    director.post("/login", data={"username": "dir", "password": STAFF_PASSWORD, "csrf_token": token})
    assert director.get("/field").status_code == 403, "a director may not capture sites"
    assert director.get("/field/csrf").status_code == 403
    planner = writer.application.test_client()
    field_csrf(planner)
    zh = planner.get("/field?lang=zh_CN").get_data(as_text=True)
    assert "我在这里" in zh and "采用此定位" in zh and 'capture="environment"' in zh
    visible = re.sub(r"<[^>]+>|data-messages=\"[^\"]*\"", " ", zh)
    for english in ("I am here", "Use this fix", "verified_present", "Parking"):
        assert english not in visible, f"{english!r} on the Chinese field page"
    en = planner.get("/field?lang=en").get_data(as_text=True)
    assert "I am here" in en and "我在这里" not in re.sub(r"<[^>]+>", " ", en)
    assert planner.get("/field").headers["X-Scout-Audience"] == "private"
    assert 'id="scout-field"' in planner.get("/").get_data(as_text=True), "the map links the field page for staff"


def test_a_capture_needs_the_csrf_token_and_records_the_checklist(writer):
    csrf = field_csrf(writer)
    no_token = writer.post("/field/sites", json=capture())
    assert no_token.status_code == 400, "a cookie-authorised write without the CSRF token is refused"
    body = capture() | {"checks": {"parking": "verified_present", "toilets": "verified_absent"}}
    created = writer.post("/field/sites", json=body, headers={"X-CSRFToken": csrf})
    assert created.status_code == 201, created.get_json()
    feature = created.get_json()
    props = feature["properties"]
    assert props["position_method"] == "gps" and props["coord_accuracy_m"] == 12
    assert props["verified"] is True, "a site captured on the spot is verified"
    assert props["coord_source"].startswith("phone GPS fix by ping on ")
    statuses = {e["facility"]: e for e in props["facility_status"]}
    today = date.today().isoformat()
    assert statuses["parking"]["status"] == "verified_present" and statuses["toilets"]["status"] == "verified_absent"
    assert {(e["verified_by"], e["verified_at"], e["verified_how"]) for e in statuses.values()} == {("ping", today, "visit")}
    assert props["facilities"] == ["parking"], "a facility verified absent is not among the site's facilities"
    history = writer.get(f"/api/sites/{feature['id']}/history", headers=auth(writer)).get_json()["revisions"]
    assert [r["action"] for r in history] == ["create"] and history[0]["actor"] == "ping"

    bad = writer.post("/field/sites", json=capture(slug="field-bad-000000") | {"checks": {"parking": "maybe"}},
                      headers={"X-CSRFToken": csrf})
    assert bad.status_code == 400, (bad.status_code, bad.get_data(as_text=True))
    assert bad.get_json()["invalid-params"][0]["name"] == "checks", (bad.content_type, bad.get_data(as_text=True))


def test_a_retried_post_creates_the_site_once(writer):
    csrf = field_csrf(writer)
    before = writer.get("/api/sites?limit=1").get_json()["numberMatched"]
    first = writer.post("/field/sites", json=capture(slug="retry-me-abcdef"), headers={"X-CSRFToken": csrf})
    again = writer.post("/field/sites", json=capture(slug="retry-me-abcdef"), headers={"X-CSRFToken": csrf})
    assert first.status_code == 201 and again.status_code == 200, (first.status_code, again.status_code)
    assert again.get_json()["id"] == first.get_json()["id"], "the retry answers with the site the first created"
    assert writer.get("/api/sites?limit=1").get_json()["numberMatched"] == before + 1
    history = writer.get(f"/api/sites/{first.get_json()['id']}/history", headers=auth(writer)).get_json()["revisions"]
    assert len(history) == 1, "the retry wrote no second revision"
    # Another planner's slug is not a retry: it is refused, naming the field.
    other = writer.post("/api/sites", json=new_feature(slug="someone-elses-site"), headers=auth(writer))
    assert other.status_code == 201
    second = writer.application.test_client()
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, "mei", STAFF_PASSWORD, "planner")
    mei_csrf = field_csrf(second, "mei")
    clash = second.post("/field/sites", json=capture(slug="someone-elses-site"), headers={"X-CSRFToken": mei_csrf})
    assert clash.status_code == 400 and clash.get_json()["invalid-params"][0]["name"] == "slug"
    missing = writer.post("/field/sites", json=capture(slug=""), headers={"X-CSRFToken": csrf})
    assert missing.status_code == 400 and missing.get_json()["invalid-params"][0]["name"] == "slug"


def test_a_correction_merges_the_checklist_and_a_stale_one_gets_the_current_site(writer):
    csrf = field_csrf(writer)
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    sid, version = site["id"], site["properties"]["version"]
    kept = [e for e in site["properties"]["facility_status"] if e["facility"] != "mains_power"]
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": site["geometry"]["coordinates"]},
            "properties": {"coord_accuracy_m": 7.01, "position_method": "gps", "access_notes_zh": "沿溪步行十分钟"},
            "checks": {"mains_power": "verified_absent"}}
    assert writer.patch(f"/field/sites/{sid}", json=body, headers={"X-CSRFToken": csrf}).status_code == 428
    done = writer.patch(f"/field/sites/{sid}", json=body, headers={"X-CSRFToken": csrf, "If-Match": f'"{version}"'})
    assert done.status_code == 200, done.get_json()
    props = done.get_json()["properties"]
    assert props["version"] == version + 1 and props["coord_accuracy_m"] == 8 and props["position_method"] == "gps"
    assert props["access_notes_zh"] == "沿溪步行十分钟"
    assert site["properties"]["verified"] is False and props["verified"] is True, "verified on the spot"
    statuses = {e["facility"]: e for e in props["facility_status"]}
    assert statuses["mains_power"]["status"] == "verified_absent" and statuses["mains_power"]["verified_by"] == "ping"
    for entry in kept:
        assert statuses[entry["facility"]]["status"] == entry["status"], f"{entry['facility']} kept what was known"

    stale = writer.patch(f"/field/sites/{sid}", json=body | {"properties": {"access_notes_zh": "旧版本"}},
                         headers={"X-CSRFToken": csrf, "If-Match": f'"{version}"'})
    assert stale.status_code == 412
    current = stale.get_json()["current"]
    assert current["properties"]["version"] == version + 1 and current["properties"]["access_notes_zh"] == "沿溪步行十分钟"
    assert writer.get(f"/api/sites/{sid}").get_json()["properties"]["access_notes_zh"] == "沿溪步行十分钟", \
        "nothing of the stale correction was written"


def test_photos_go_up_through_the_session_whole_or_not_at_all(writer):
    csrf = field_csrf(writer)
    sid = writer.get("/api/sites?limit=1").get_json()["features"][0]["id"]
    up = writer.post(f"/field/sites/{sid}/photos", headers={"X-CSRFToken": csrf}, content_type="multipart/form-data",
                     data={"file": (io.BytesIO(jpeg()), "photo.jpg", "image/jpeg")})
    assert up.status_code == 201, up.get_json()
    assert up.get_json()["uploaded_by"] == "ping"
    broken = writer.post(f"/field/sites/{sid}/photos", headers={"X-CSRFToken": csrf},
                         content_type="multipart/form-data",
                         data={"file": (io.BytesIO(jpeg()[:200]), "photo.jpg", "image/jpeg")})
    assert broken.status_code == 400, "a cut-off photo is refused"
    listed = writer.get(f"/api/sites/{sid}/photos").get_json()["photos"]
    assert len(listed) == 1, "the refused upload left no photo behind"
