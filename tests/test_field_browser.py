"""The field page in Chromium on a phone-sized screen, with the device position set by Playwright: two new sites
and one correction captured offline (photo, facility checklist) survive a reload while offline and are on the
server once the connection returns, with revisions, position method gps and the reported accuracy; a correction
whose site changed meanwhile ends in the resolve view, and "keep mine" writes the planner's values as a new
revision.  The taps and typed fields from "I am here" to a synced, photographed, verified site are counted.
"""
from __future__ import annotations

import threading

import pytest
from playwright.sync_api import Error as PlaywrightError

from scouting import accounts
from scouting.geodata import load_geodata

from .browser import serve
from .helpers import small_jpeg
from .test_csp_browser import CspWatch

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
CONTROLLED = "() => !!navigator.serviceWorker.controller"
FIELD_READY = "() => window.WenchengField && WenchengField.state.ready && !WenchengField.state.syncing"
FIELD_KEPT = "async () => !!(await caches.match('/field', {ignoreVary: true}))"
ALL_SENT = "() => WenchengField.state.ready && !WenchengField.state.syncing && WenchengField.state.pending === 0"
# Two spots inside the county, away from every seeded site's township seat.
SPOT_A = {"latitude": 27.7412, "longitude": 120.0213, "accuracy": 8}
SPOT_B = {"latitude": 27.8391, "longitude": 119.9542, "accuracy": 11.4}


class CountingApp:
    """The app, counting the requests that reach it (none may while the browser is offline)."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self.count += 1
        return self.app(environ, start_response)


class LosesFirstAnswer:
    """The app behind a proxy that gives up once: the first POST /field/sites reaches the app, which creates the
    site, but the phone gets 504 instead of the answer."""

    def __init__(self, app):
        self.app = app
        self.swallowed: list[str] = []

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != "/field/sites" or self.swallowed:
            return self.app(environ, start_response)

        def swallow(status, headers, exc_info=None):
            self.swallowed.append(status)
            return lambda data: None

        body = self.app(environ, swallow)
        try:
            b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        start_response("504 Gateway Timeout", [("Content-Type", "text/plain")])
        return [b"the proxy gave up waiting"]


class Taps:
    """A person's work on the page: each tap and each typed field counted (the measurement in the README)."""

    def __init__(self, page):
        self.page = page
        self.taps = 0
        self.typed = 0

    def tap(self, selector: str):
        self.taps += 1
        self.page.click(selector)

    def type(self, selector: str, text: str):
        self.typed += 1
        self.page.fill(selector, text)

    def choose(self, selector: str, value: str):  # open the list and pick: two taps on a phone
        self.taps += 2
        self.page.select_option(selector, value)

    def photo(self, data: bytes):  # open the camera and press the shutter: two taps
        self.taps += 2
        self.page.set_input_files("#field-photos", files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": data}])


@pytest.fixture
def field_app(fresh_app):
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", PASSWORD, "planner")
        fresh_app.token = accounts.create_token(session, "ping")
    return fresh_app



def open_field_page(chromium, base):
    """Signed in as a planner on a phone with location allowed; the field page kept for offline use."""
    context = chromium.new_context(locale="zh-CN", **PHONE)
    context.grant_permissions(["geolocation"], origin=base)
    context.set_geolocation(SPOT_A)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "ping")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#scout-field")
    page.wait_for_function(CONTROLLED, timeout=20_000)
    page.click("#scout-field")  # linked from the map for staff
    page.wait_for_function(FIELD_READY, timeout=20_000)
    page.wait_for_function(FIELD_KEPT, timeout=20_000)
    return context, page


def take_fix(taps: Taps):
    taps.tap("#field-here")
    taps.page.wait_for_selector("#field-use-fix:not([disabled])")
    taps.tap("#field-use-fix")
    taps.page.wait_for_selector("#field-what", state="visible")


def capture_new(taps: Taps, name_zh: str, name_en: str, genre: str, photo: bytes | None, checks: dict):
    take_fix(taps)
    taps.tap("#field-new")
    taps.type("#field-form input[name=name_zh]", name_zh)
    taps.type("#field-form input[name=name_en]", name_en)
    taps.tap(f"#field-genres input[value={genre}]")
    for facility, status in checks.items():
        taps.choose(f"#check-{facility}", status)
    if photo:
        taps.photo(photo)
    taps.tap("#field-save")


def queued(page) -> int:
    page.wait_for_function("() => !document.getElementById('field-form').offsetParent")
    return page.evaluate("() => WenchengFieldQueue.all(document.getElementById('field').dataset.user)"
                         ".then(q => q.length)")


def api(client, token, path):
    return client.get(path, headers={"Authorization": f"Bearer {token}"}).get_json()


def test_captures_made_offline_survive_a_reload_and_sync_with_gps_accuracy(field_app, chromium):
    client = field_app.test_client()
    target = client.get("/api/sites?limit=1").get_json()["features"][0]
    counting = CountingApp(field_app)
    with serve(counting) as base:
        context, page = open_field_page(chromium, base)
        watch = CspWatch(page)
        assert "我在这里" in page.inner_text("#field-here")

        # A poor fix is shown as such, and may still be taken.
        context.set_geolocation(SPOT_A | {"accuracy": 85})
        page.click("#field-here")
        page.wait_for_function("() => document.getElementById('field-accuracy').textContent.includes('±85 米')")
        assert "精度仍较差" in page.inner_text("#field-fix-note")
        assert page.is_enabled("#field-use-fix")

        context.set_offline(True)
        before = counting.count
        context.set_geolocation(SPOT_A)
        taps = Taps(page)
        capture_new(taps, "溪边竹林", "Bamboo by the stream", "nature", small_jpeg(),
                    {"parking": "verified_present", "toilets": "verified_absent"})
        first_site = (taps.taps, taps.typed)
        assert queued(page) == 1
        assert "已保存在这部手机上" in page.inner_text("#field-online")

        context.set_geolocation(SPOT_B)
        capture_new(Taps(page), "山顶茶园", "Hilltop tea garden", "youth", None, {"mains_power": "verified_absent"})
        assert queued(page) == 2

        # A correction: the planner stands at a seeded site and picks it from the nearby list.
        lon, lat = target["geometry"]["coordinates"]
        context.set_geolocation({"latitude": lat + 0.0004, "longitude": lon, "accuracy": 6.2})
        take_fix(Taps(page))
        page.click(f"#field-nearby button[data-site='{target['id']}']")
        page.fill("#field-form textarea[name=access_notes_zh]", "村口停车，步行五分钟")
        page.select_option("#check-mobile_signal", "verified_absent")
        page.click("#field-save")
        assert queued(page) == 3

        # Still offline: the page comes back from the worker's cache, and so does the queue.
        page.reload()
        page.wait_for_function(FIELD_READY, timeout=20_000)
        page.wait_for_function("() => document.querySelectorAll('#field-queue li').length === 3")
        assert "3 条等待发送" in page.inner_text("#field-queue-count")
        assert counting.count == before, "nothing reached the server while offline"

        context.set_offline(False)  # the `online` event sends the queue, each capture as its own write
        page.wait_for_function(ALL_SENT, timeout=30_000)
        assert page.locator("#field-synced li").count() == 3
        assert "没有等待发送的内容" in page.inner_text("#field-queue-count")
        context.close()
    assert not watch.violations, watch.violations
    assert not watch.page_errors, watch.page_errors

    token = field_app.token
    by_name = {f["properties"]["name_en"]: f for f in client.get("/api/sites?limit=1000").get_json()["features"]}
    bamboo, tea = by_name["Bamboo by the stream"], by_name["Hilltop tea garden"]
    for site, spot in ((bamboo, SPOT_A), (tea, SPOT_B)):
        props = api(client, token, f"/api/sites/{site['id']}")["properties"]
        assert props["position_method"] == "gps"
        assert props["coord_accuracy_m"] == -(-spot["accuracy"] // 1), "the reported accuracy, rounded up"
        assert site["geometry"]["coordinates"] == pytest.approx([spot["longitude"], spot["latitude"]], abs=1e-6)
        history = api(client, token, f"/api/sites/{site['id']}/history")["revisions"]
        assert [r["action"] for r in history] == ["create"] and history[0]["actor"] == "ping"
    statuses = {e["facility"]: e["status"] for e in bamboo["properties"]["facility_status"]}
    assert statuses == {"parking": "verified_present", "toilets": "verified_absent"}
    photos = client.get(f"/api/sites/{bamboo['id']}/photos").get_json()["photos"]
    assert len(photos) == 1, "the photo went up after its site existed"
    assert api(client, token, f"/api/sites/{tea['id']}")["properties"]["facility_status"][0]["status"] == "verified_absent"

    corrected = api(client, token, f"/api/sites/{target['id']}")["properties"]
    assert corrected["version"] == target["properties"]["version"] + 1
    assert corrected["position_method"] == "gps" and corrected["coord_accuracy_m"] == 7
    assert corrected["access_notes_zh"] == "村口停车，步行五分钟"
    signal = [e for e in corrected["facility_status"] if e["facility"] == "mobile_signal"]
    assert signal and signal[0]["status"] == "verified_absent" and signal[0]["verified_by"] == "ping"
    history = api(client, token, f"/api/sites/{target['id']}/history")["revisions"]
    assert history[0]["action"] == "update" and history[0]["actor"] == "ping"

    # The measurement: from "I am here" to a synced, photographed, verified site (sent with no further tap).
    taps, typed = first_site
    print(f"\nfield capture: {taps} taps and {typed} typed fields from 'I am here' to a synced, photographed, "
          f"verified site (2 facilities checked)")
    assert taps <= 14 and typed == 2, first_site


def test_a_correction_of_a_site_changed_meanwhile_is_resolved_not_lost(field_app, chromium):
    client = field_app.test_client()
    token = field_app.token
    target = client.get("/api/sites?limit=2").get_json()["features"][1]
    version = target["properties"]["version"]
    with serve(field_app) as base:
        context, page = open_field_page(chromium, base)
        watch = CspWatch(page)
        # From the site's panel on the map: "Verify on site" opens the field page for that site.
        page.goto(f"{base}/?site={target['id']}")
        page.click(".scout-verify-on-site")
        page.wait_for_function(FIELD_READY, timeout=20_000)
        assert target["properties"]["name_zh"] in page.inner_text("#field-verifying")
        context.set_offline(True)
        lon, lat = target["geometry"]["coordinates"]
        context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 5})
        page.click("#field-here")
        page.wait_for_selector("#field-use-fix:not([disabled])")
        page.click("#field-use-fix")  # straight to the correction of that site: no list to pick from
        assert target["properties"]["name_zh"] in page.inner_text("#field-form-title")
        page.fill("#field-form textarea[name=access_notes_zh]", "桥已修好，小车可到")
        page.click("#field-save")
        assert queued(page) == 1

        # Meanwhile someone else changes the same site through the API.
        other = client.patch(f"/api/sites/{target['id']}", headers={"Authorization": f"Bearer {token}",
                                                                    "If-Match": f'"{version}"'},
                             json={"type": "Feature", "properties": {"access_notes_zh": "桥断了，只能步行",
                                                                     "description_zh": "服务器上的新简介"}})
        assert other.status_code == 200

        context.set_offline(False)
        page.wait_for_selector("#field-queue li[data-state=conflict]", timeout=30_000)
        box = page.locator("#field-queue li[data-state=conflict]")
        assert "有人修改了这个外景地" in box.inner_text()
        assert page.input_value("textarea[data-field=access_notes_zh]") == "桥已修好，小车可到"
        assert page.inner_text("td[data-theirs=access_notes_zh]") == "桥断了，只能步行"
        assert client.get(f"/api/sites/{target['id']}").get_json()["properties"]["access_notes_zh"] == "桥断了，只能步行", \
            "the stale correction wrote nothing"

        page.click(".field-keep-mine")
        page.wait_for_function(ALL_SENT, timeout=30_000)

        # Signing out clears the private cache: the field page is no longer kept on this phone.
        assert page.evaluate(FIELD_KEPT)
        page.goto(f"{base}/")
        page.click(".scout-logout button[type=submit]")
        page.wait_for_selector("#scout-login")
        page.wait_for_function("async () => !(await caches.has('scout-private'))", timeout=20_000)
        assert not page.evaluate(FIELD_KEPT), "the field page is gone from the caches after sign-out"
        context.set_offline(True)
        try:
            page.goto(f"{base}/field")
        except PlaywrightError:  # no copy: the browser's own offline error page
            pass
        assert page.locator("#field-here").count() == 0, "offline, the signed-out phone shows no field page"
        context.close()
    assert not watch.violations, watch.violations
    assert not watch.page_errors, watch.page_errors

    props = client.get(f"/api/sites/{target['id']}").get_json()["properties"]
    assert props["access_notes_zh"] == "桥已修好，小车可到", "the planner's value, kept"
    assert props["description_zh"] == "服务器上的新简介", "the other planner's change to another field stays"
    assert props["version"] == version + 2
    history = api(client, token, f"/api/sites/{target['id']}/history")["revisions"]
    assert [r["version"] for r in history[:2]] == [version + 2, version + 1]
    assert history[0]["actor"] == "ping" and "access_notes_zh" in history[0]["changed_fields"]


def test_a_capture_whose_answer_was_lost_is_sent_again_without_a_duplicate(field_app, chromium):
    client = field_app.test_client()
    proxy = LosesFirstAnswer(field_app)
    with serve(proxy) as base:
        context, page = open_field_page(chromium, base)
        watch = CspWatch(page)
        capture_new(Taps(page), "雾中古道", "Misty old trail", "wuxia", small_jpeg(), {"catering": "verified_absent"})
        page.wait_for_function("() => document.getElementById('field-online').textContent.includes('稍后会再次发送')")
        assert proxy.swallowed == ["201 CREATED"], "the first POST created the site; its answer never arrived"
        assert page.locator("#field-queue li[data-state=pending]").count() == 1, "the capture still waits, unchanged"

        page.click("#field-sync")  # the same capture again, with the same slug
        page.wait_for_function(ALL_SENT, timeout=30_000)
        context.close()
    assert not watch.violations, watch.violations

    named = [f for f in client.get("/api/sites?limit=1000").get_json()["features"]
             if f["properties"]["name_en"] == "Misty old trail"]
    assert len(named) == 1, "sent twice, created once"
    history = api(client, field_app.token, f"/api/sites/{named[0]['id']}/history")["revisions"]
    assert [r["action"] for r in history] == ["create"]
    photos = client.get(f"/api/sites/{named[0]['id']}/photos").get_json()["photos"]
    assert len(photos) == 1, "its photo went up once, after the site was found"


def test_taking_the_servers_values_still_sends_the_photos(field_app, chromium):
    client = field_app.test_client()
    token = field_app.token
    target = client.get("/api/sites?limit=3").get_json()["features"][2]
    version = target["properties"]["version"]
    with serve(field_app) as base:
        context, page = open_field_page(chromium, base)
        context.set_offline(True)
        lon, lat = target["geometry"]["coordinates"]
        context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 9})
        take_fix(Taps(page))
        page.click(f"#field-nearby button[data-site='{target['id']}']")
        page.fill("#field-form textarea[name=access_notes_zh]", "我的说明")
        page.set_input_files("#field-photos", files=[{"name": "p.jpg", "mimeType": "image/jpeg",
                                                      "buffer": small_jpeg()}])
        page.click("#field-save")
        assert queued(page) == 1
        other = client.patch(f"/api/sites/{target['id']}", json={"type": "Feature", "properties": {
            "access_notes_zh": "另一位策划的说明"}}, headers={"Authorization": f"Bearer {token}", "If-Match": f'"{version}"'})
        assert other.status_code == 200
        context.set_offline(False)
        page.wait_for_selector("#field-queue li[data-state=conflict]", timeout=30_000)
        page.click(".field-take-theirs")
        page.wait_for_function(ALL_SENT, timeout=30_000)
        context.close()
    props = client.get(f"/api/sites/{target['id']}").get_json()["properties"]
    assert props["access_notes_zh"] == "另一位策划的说明" and props["version"] == version + 1, "the server's values stay"
    photos = client.get(f"/api/sites/{target['id']}/photos").get_json()["photos"]
    assert len(photos) == 1, "the planner's photo was still sent"
