"""The shared pack page and its print view in Debian's Chromium (Playwright), in Chinese and English, on a desktop
(1366×800) and a phone (390×844): navigation links, copy buttons, the language switch, the owner's editor (order,
notes, add and remove sites, dates; a stale edit), the print view's QR code and whole labels; and the map's pack
panel dropping "give the pack a name first" once a name is typed.

Every test also checks that the page logged no error and asked no host but the blocked tile servers.
"""
from __future__ import annotations

import base64
import io
import json
from urllib.parse import urlsplit

import pytest
import segno
from PIL import Image

from scouting import geo
from scouting.maps import TILE_HOSTS

from .browser import PageWatch, serve

pytestmark = pytest.mark.browser
PACK_READY = "() => window.WenchengPack && WenchengPack.state && WenchengPack.state.ready"
MAP_READY = "() => window.WenchengScout && WenchengScout.state && WenchengScout.state.ready && !WenchengScout.state.loading"
TOKENS_KEY = "wenchengScout.editTokens"
DESKTOP, PHONE = (1366, 800), (390, 844)
LOCALES = {"zh": "zh-CN", "en": "en-GB"}


@pytest.fixture(scope="module")
def base_url(app):
    with serve(app) as url:
        yield url


class Browser:
    """A browser context (fresh storage) in one language and screen size, its pages watched."""

    def __init__(self, chromium, base_url, lang, viewport, allowed_errors=()):
        self.context = chromium.new_context(locale=LOCALES[lang], viewport={"width": viewport[0], "height": viewport[1]})
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
        self.base_url = base_url
        self.allowed_errors = allowed_errors
        self.watches: list[PageWatch] = []

    def page(self):
        page = self.context.new_page()
        self.watches.append(PageWatch(page))
        return page

    def open_pack(self, token: str, lang: str, edit_token: str | None = None):
        page = self.page()
        if edit_token:  # as the map page keeps it when it creates the pack
            page.add_init_script(f"localStorage.setItem({json.dumps(TOKENS_KEY)}, {json.dumps(json.dumps({token: edit_token}))})")
        page.goto(f"{self.base_url}/packs/{token}?lang={lang}")
        page.wait_for_function(PACK_READY, timeout=20_000)
        return page

    def close(self):
        for watch in self.watches:
            errors = [e for e in watch.console_errors if not any(a in e for a in self.allowed_errors)]
            assert not errors, errors
            assert not watch.page_errors, watch.page_errors
            assert watch.blocked_hosts <= TILE_HOSTS, watch.blocked_hosts
        self.context.close()


@pytest.fixture
def browsers(chromium, base_url):
    made = []

    def make(lang, viewport, allowed_errors=()):
        made.append(Browser(chromium, base_url, lang, viewport, allowed_errors))
        return made[-1]

    yield make
    for b in made:
        b.close()


def new_pack(client, count=3, **extra) -> dict:
    ids = [f["id"] for f in client.get("/api/sites?genre=nature&limit=6").get_json()["features"]][:count]
    resp = client.post("/api/packs", json={"name": "瀑布外景 Falls", "site_ids": ids} | extra)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def local_path(url: str) -> str:
    return urlsplit(url).path


BOTH = [("zh", DESKTOP), ("zh", PHONE), ("en", DESKTOP), ("en", PHONE)]


@pytest.mark.parametrize("lang,viewport", BOTH)
def test_navigation_links_copy_buttons_and_language_switch(browsers, client, lang, viewport):
    pack = new_pack(client, notes={})
    b = browsers(lang, viewport)
    page = b.open_pack(pack["id"], lang)
    assert page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh" else "en")
    sites = client.get(f"/api/packs/{pack['id']}").get_json()["sites"]
    for feature in sites:
        lon, lat = feature["geometry"]["coordinates"]
        item = page.locator(f".pack-site[data-site-id='{feature['id']}']")
        links = geo.navigation_links(lon, lat, feature["properties"]["name_zh"])
        assert item.locator(".pack-nav-amap").get_attribute("href") == links["amap"], "Amap opens at the site"
        assert item.locator(".pack-nav-baidu").get_attribute("href") == links["baidu"], "Baidu opens at the site"
        gcj_lon, gcj_lat = geo.wgs84_to_gcj02(lon, lat)
        for kind, expected in (("wgs84", f"{lat:.6f}, {lon:.6f}"), ("gcj02", f"{gcj_lat:.6f}, {gcj_lon:.6f}")):
            button = item.locator(f".pack-copy-{kind}")
            button.scroll_into_view_if_needed()
            button.click()
            page.wait_for_function("(b) => b.dataset.copied === 'true'", arg=button.element_handle())
            assert page.evaluate("navigator.clipboard.readText()") == expected, f"{kind} on the clipboard"
    page.click("#pack-copy-share")
    page.wait_for_function("() => document.getElementById('pack-copy-share').dataset.copied === 'true'")
    # Testing, the link carries the address the page was opened on (PUBLIC_URL in production).
    share_url = page.inner_text("#pack-share-url")
    assert local_path(share_url) == f"/packs/{pack['id']}"
    assert page.evaluate("navigator.clipboard.readText()") == share_url, "the share link on the clipboard"
    text = page.inner_text(".pack-sites")
    if lang == "zh":
        assert "导航：" in text and "近似位置，误差约" in text and "Navigate" not in text
    else:
        assert "Navigate: " in text and "Approximate position, within about" in text and "导航" not in text
    # The switch keeps the pack and changes the language.
    other = "en" if lang == "zh" else "zh_CN"
    page.click(f"#pack-lang-{other}")
    page.wait_for_function(PACK_READY, timeout=20_000)
    assert local_path(page.url) == f"/packs/{pack['id']}"
    assert page.get_attribute("html", "lang") == ("en" if lang == "zh" else "zh-CN")
    assert page.locator(".pack-site").count() == len(sites)


def site_order(page) -> list[int]:
    return page.eval_on_selector_all(".pack-site", "els => els.map(e => +e.dataset.siteId)")


@pytest.mark.parametrize("lang,viewport", [("zh", DESKTOP), ("en", PHONE)])
def test_the_owner_edits_the_pack_and_a_reload_shows_it(browsers, client, lang, viewport):
    pack = new_pack(client, notes={})
    ids = pack["site_ids"]
    stranger = browsers(lang, viewport).open_pack(pack["id"], lang)
    assert not stranger.is_visible("#pack-edit-open"), "no editor without this pack's edit token"

    page = browsers(lang, viewport).open_pack(pack["id"], lang, edit_token=pack["edit_token"])
    page.click("#pack-edit-open")
    page.wait_for_selector("#pack-editor[data-ready='true']")
    page.fill("#pack-edit-name", "  改名 Renamed  ")
    page.fill("#pack-edit-shoot_date", "2026-06-21")
    page.click(f".pack-edit-item[data-site-id='{ids[2]}'] .pack-edit-up")  # third to second
    page.click(f".pack-edit-item[data-site-id='{ids[0]}'] .pack-edit-remove")
    page.fill(f".pack-edit-item[data-site-id='{ids[2]}'] .pack-edit-note", "日出 <b>dawn</b>")
    # Add a site found by its name.
    extra = next(f for f in client.get("/api/sites?limit=50").get_json()["features"] if f["id"] not in ids)
    page.fill("#pack-edit-search", extra["properties"]["name_zh"])
    page.click(f"#pack-edit-found li[data-site-id='{extra['id']}'] .pack-edit-add")
    assert page.eval_on_selector_all(".pack-edit-item", "els => els.map(e => +e.dataset.siteId)") == [
        ids[2], ids[1], extra["id"]]
    with page.expect_navigation():
        page.click("#pack-edit-save")
    page.wait_for_function(PACK_READY, timeout=20_000)

    stored = client.get(f"/api/packs/{pack['id']}").get_json()
    assert stored["site_ids"] == [ids[2], ids[1], extra["id"]] and stored["name"] == "改名 Renamed"
    assert stored["notes"] == {str(ids[2]): "日出 <b>dawn</b>"} and stored["shoot_date"] == "2026-06-21"
    assert site_order(page) == [ids[2], ids[1], extra["id"]], "the reloaded page shows the new order"
    assert page.inner_text("#pack-name") == "改名 Renamed"
    assert "日出 <b>dawn</b>" in page.inner_text(f".pack-site[data-site-id='{ids[2]}'] .pack-note"), "shown as text"
    assert "2026-06-21" in page.inner_text(".pack-dates")


@pytest.mark.parametrize("lang,viewport", [("en", DESKTOP), ("zh", PHONE)])
def test_a_stale_edit_is_told_and_loses_nothing_typed(browsers, client, lang, viewport):
    pack = new_pack(client, notes={})
    # The browser logs the refused saves (412, 400) as failed loads: those are the answers this test asks for.
    page = browsers(lang, viewport, allowed_errors=("412", "400")).open_pack(pack["id"], lang, pack["edit_token"])
    page.click("#pack-edit-open")
    page.wait_for_selector("#pack-editor[data-ready='true']")
    page.fill(f".pack-edit-item[data-site-id='{pack['site_ids'][0]}'] .pack-edit-note", "my note")
    # Meanwhile someone else saves a change.
    other = client.patch(f"/api/packs/{pack['id']}", json={"name": "Theirs"},
                         headers={"X-Edit-Token": pack["edit_token"], "If-Match": '"1"'})
    assert other.status_code == 200
    page.click("#pack-edit-save")
    page.wait_for_selector("#pack-editor[data-failed='412']")
    message = page.inner_text("#pack-edit-status")
    assert message.startswith("在你编辑期间，有人修改了" if lang == "zh" else "Someone changed this pack"), message
    assert "412" not in message and "version" not in message
    assert page.input_value(f".pack-edit-item[data-site-id='{pack['site_ids'][0]}'] .pack-edit-note") == "my note"
    assert client.get(f"/api/packs/{pack['id']}").get_json()["name"] == "Theirs", "nothing was overwritten"

    # Bad input: an empty name is told at its field, in the page's language, and nothing is sent.
    page.fill("#pack-edit-name", " ")
    page.click("#pack-edit-save")
    error = page.inner_text("#pack-edit-name-error")
    assert error == ("请为外景包命名（不超过 200 个字符）。" if lang == "zh" else "Give the pack a name (at most 200 characters).")
    assert page.get_attribute("#pack-edit-name", "aria-invalid") == "true"
    page.fill("#pack-edit-name", "Mine")

    # Saving on top of theirs, knowingly.
    with page.expect_navigation():
        page.click("#pack-edit-overwrite")
    stored = client.get(f"/api/packs/{pack['id']}").get_json()
    assert stored["name"] == "Mine" and stored["notes"] == {str(pack["site_ids"][0]): "my note"}


def qr_matrix_of(img_src: str, size: int) -> list[list[bool]]:
    """The dark modules of a QR code image made at scale 8 with a 4-module border."""
    png = Image.open(io.BytesIO(base64.b64decode(img_src.removeprefix("data:image/png;base64,")))).convert("1")
    return [[png.getpixel((8 * (4 + x) + 4, 8 * (4 + y) + 4)) == 0 for x in range(size)] for y in range(size)]


LINES = """els => els.map(e => {
    const r = document.createRange();
    r.selectNodeContents(e);
    return [e.textContent, new Set([...r.getClientRects()].map(x => Math.round(x.top))).size];
})"""


@pytest.mark.parametrize("lang,viewport", BOTH)
def test_print_view_has_the_qr_code_and_whole_labels(browsers, client, lang, viewport):
    pack = new_pack(client, notes={})
    b = browsers(lang, viewport)
    page = b.page()
    page.goto(f"{b.base_url}/packs/{pack['id']}/print?lang={lang}")
    src = page.get_attribute("#print-qr", "src")
    # The page is opened on its own address, so the share link (and the code) carry that address.
    share_url = page.inner_text(".share-url")
    assert local_path(share_url) == f"/packs/{pack['id']}"
    expected = segno.make(share_url, error="m")
    size = expected.symbol_size(border=0)[0]
    assert qr_matrix_of(src, size) == [[bool(m) for m in row] for row in expected.matrix], "the QR code is the share link"
    assert page.evaluate("(() => { const i = document.getElementById('print-qr'); return i.complete && i.naturalWidth; })()") > 0
    for media in ("screen", "print"):
        page.emulate_media(media=media)
        lines = page.eval_on_selector_all("th", LINES)
        assert lines and all(n == 1 for _, n in lines), f"{media}: labels broken across lines: {lines}"
    labels = {text for text, _ in page.eval_on_selector_all("th", LINES)}
    assert ("位置精度" in labels) if lang == "zh" else ("Position accuracy" in labels)
    text = page.inner_text("body")
    if lang == "zh":
        assert "近似位置，误差约" in text and "Approximate" not in text
    else:
        assert "Approximate position, within about" in text and "近似位置" not in text
    assert "township_seat" not in text and "±" not in text
    assert page.pdf(format="A4")[:5] == b"%PDF-", "Chromium prints it to PDF"


def test_the_name_prompt_goes_once_a_name_is_typed(browsers, client):
    site_id = client.get("/api/sites?limit=1").get_json()["features"][0]["id"]
    b = browsers("zh", DESKTOP)
    page = b.page()
    draft = json.dumps({"items": [{"id": site_id, "note": ""}]})
    page.add_init_script(f"localStorage.setItem('wenchengScout.packDraft', {json.dumps(draft)})")
    page.goto(b.base_url + "/")
    page.wait_for_function(MAP_READY, timeout=20_000)
    if not page.is_visible("#scout-pack-create"):
        page.evaluate("document.getElementById('scout-pack-create').scrollIntoView()")
    page.click("#scout-pack-create")
    assert page.inner_text("#scout-pack-result") == "请先为外景包命名。"
    page.type("#scout-pack-name", "瀑")
    assert page.inner_text("#scout-pack-result") == "", "the prompt goes with the first character"
    assert page.get_attribute("#scout-pack-name", "aria-invalid") is None


@pytest.mark.parametrize("lang,viewport", [("zh", DESKTOP), ("en", PHONE)])
def test_refused_saves_are_told_at_their_field_and_keep_what_was_typed(browsers, client, lang, viewport):
    pack = new_pack(client, notes={})
    first = pack["site_ids"][0]
    page = browsers(lang, viewport, allowed_errors=("400", "403")).open_pack(pack["id"], lang, pack["edit_token"])
    page.click("#pack-edit-open")
    page.wait_for_selector("#pack-editor[data-ready='true']")
    page.fill(f".pack-edit-item[data-site-id='{first}'] .pack-edit-note", "keep me")
    # The server refuses the last day Python has (no sun times for it): told at the date field, in words.
    page.fill("#pack-edit-shoot_date", "9999-12-31")
    page.click("#pack-edit-save")
    page.wait_for_selector("#pack-editor[data-failed='400']")
    error = page.inner_text("#pack-edit-shoot_date-error")
    assert error == ("拍摄日期无法使用，请在日历中选择日期。" if lang == "zh"
                     else "The shooting date cannot be used: choose a date on the calendar."), error
    assert "shoot_date" not in page.inner_text("#pack-editor")
    assert page.input_value(f".pack-edit-item[data-site-id='{first}'] .pack-edit-note") == "keep me"

    # An edit token that does not fit (say, the pack was re-made): said plainly, nothing changes.
    other = browsers(lang, viewport, allowed_errors=("403",)).open_pack(pack["id"], lang, "not-the-token")
    other.click("#pack-edit-open")
    other.wait_for_selector("#pack-editor[data-ready='true']")
    other.fill("#pack-edit-name", "Not mine")
    other.click("#pack-edit-save")
    other.wait_for_selector("#pack-editor[data-failed='403']")
    assert other.inner_text("#pack-edit-status") == (
        "本浏览器保存的编辑密钥与这个外景包不符，无法保存修改。" if lang == "zh"
        else "The edit key kept in this browser does not fit this pack: the changes cannot be saved.")
    assert other.input_value("#pack-edit-name") == "Not mine"
    assert client.get(f"/api/packs/{pack['id']}").get_json()["name"] == "瀑布外景 Falls"
