"""The map page's words in the reader's language, in a real browser (Debian's Chromium via Playwright, tile hosts
blocked), at 1366x800 and on a 390x844 phone: Chinese punctuation in the Chinese detail panel, no Chinese in the
English legend, popups and panels (seed data is bilingual), a text only in the other language marked as such,
and a link with filters that fits the map to its results.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from scouting.sites import update_site

from .test_map_browser import list_ids, wait_ready
from .test_map_reach_browser import COUNTY, DESKTOP, PHONE, open_page, session_for, settle

pytestmark = pytest.mark.browser
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ASCII_PUNCTUATION = re.compile(r"[,:;()]")


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium


@pytest.fixture(scope="module")
def base_url(app):
    from .browser import serve

    with serve(app) as url:
        yield url


def open_site(page, site_id: int) -> None:
    page.evaluate("id => WenchengScout.app.openSite(id)", site_id)
    page.wait_for_selector(f"#scout-detail-body[data-site-id='{site_id}']")


def panel_facts(page) -> dict[str, str]:
    """The detail panel's facts list, term -> value."""
    return dict(zip(page.locator(".scout-facts dt").all_inner_texts(), page.locator(".scout-facts dd").all_inner_texts(),
                    strict=True))


# The panel's text, without the site's name in the other language: shown on purpose (a director on the road
# reads the Chinese name on signs), and without the sources, which another change rewords.
PANEL_TEXT = """() => { const body = document.getElementById('scout-detail-body').cloneNode(true);
    body.querySelectorAll('.scout-detail-secondary, .scout-source').forEach(n => n.remove());
    return body.innerText; }"""


@VIEWPORTS
def test_the_chinese_detail_panel_uses_chinese_punctuation(browser, base_url, client, viewport):
    seat = next(f for f in client.get("/api/sites?limit=1000").get_json()["features"]
                if f["properties"]["position_method"] == "township_seat")
    s = session_for(browser, base_url, "zh", viewport)
    page = open_page(s, "zh", "/")
    open_site(page, seat["id"])
    facts = panel_facts(page)
    accuracy = facts["位置精度"]
    assert accuracy.startswith("近似位置，误差约 ") and accuracy.endswith("（乡镇驻地）"), accuracy
    assert not ASCII_PUNCTUATION.search(accuracy), f"no ASCII punctuation in {accuracy!r}"
    title = page.get_attribute(".scout-facts dd[title]", "title")
    assert title == "乡镇驻地", "the method's full label is its definition on hover"
    lines = {name: page.inner_text(selector) for name, selector in [
        ("from the county seat", ".scout-from-seat"), ("navigate", ".scout-navigate"), ("sun date", ".scout-sun-date"),
        ("seasons", ".scout-facts")]}
    lines["coordinate labels"] = " ".join(page.locator(".scout-coord-label").all_inner_texts())
    for name, line in lines.items():
        # Decimal points and clock times are not punctuation; "WGS-84" and "GCJ-02" are names.
        assert not ASCII_PUNCTUATION.search(line), f"{name}: no ASCII punctuation in {line!r}"
    assert "：" in lines["from the county seat"] and "（" in lines["from the county seat"]
    assert "纬度，经度" in lines["coordinate labels"]
    s.close()


@VIEWPORTS
def test_the_english_page_shows_no_chinese_in_the_legend_popups_or_panels(browser, base_url, client, viewport):
    s = session_for(browser, base_url, "en", viewport)
    page = open_page(s, "en", "/")
    page.click(".scout-legend summary")
    legend = page.inner_text(".scout-legend")
    assert "Wuxi (Wencheng), Zhoushan (Wencheng)" in legend, "towns in English, listed with a comma"
    assert not CJK.search(legend), f"no Chinese in the English legend: {CJK.findall(legend)}"
    popups = page.evaluate("""() => { const out = []; WenchengScout.app.map.eachLayer(l => {
        const p = l.getPopup && l.getPopup(); if (!p || !l.feature) return;
        const box = p.getContent().cloneNode(true);
        box.querySelectorAll('.scout-popup-secondary').forEach(n => n.remove());
        out.push(box.textContent); }); return out; }""")
    assert len(popups) == 10
    sentences = {f["properties"]["provenance_en"] for f in client.get("/api/bases").get_json()["features"]}
    assert {next((s for s in sentences if s in text), None) for text in popups} == sentences, \
        "each base's popup says where its position comes from, as the sentence for the public"
    for text in popups:
        assert not CJK.search(text), f"no Chinese in a base's English popup: {text!r}"
        assert "((" not in text and not re.search(r"\([^)]*\(", text), f"no parentheses inside parentheses: {text!r}"
    base_options = " ".join(page.locator("#scout-base option").all_inner_texts())
    assert not CJK.search(base_options), base_options
    seasons_seen = False
    for feature in client.get("/api/sites?limit=1000").get_json()["features"]:
        open_site(page, feature["id"])
        text = page.evaluate(PANEL_TEXT)
        assert not CJK.search(text), f"site {feature['id']}: no Chinese in the English panel: {CJK.findall(text)}"
        assert not re.search(r"\([^)]*\(", text), f"site {feature['id']}: no parentheses inside parentheses"
        assert page.locator(".scout-untranslated").count() == 0, "seed data is bilingual: nothing marked untranslated"
        if len(feature["properties"]["best_seasons"]) > 1:
            seasons_seen = True
            facts = panel_facts(page)
            assert ", " in facts["Best seasons"] and "、" not in facts["Best seasons"], facts["Best seasons"]
    assert seasons_seen, "some seed site has more than one best season"
    s.close()


def test_a_text_only_in_the_other_language_says_so(browser, base_url, client):
    """A site whose description exists only in Chinese: the English panel says so in English before showing it,
    marked as Chinese, instead of passing it off as English."""
    feature = client.get("/api/sites?limit=1").get_json()["features"][0]
    kept = feature["properties"]["access_notes_en"]
    set_access_notes_en(client, feature["id"], None)
    try:
        s = session_for(browser, base_url, "en", DESKTOP)
        page = open_page(s, "en", "/")
        open_site(page, feature["id"])
        note = page.inner_text(".scout-untranslated")
        assert note == "No English version yet; the Chinese text:"
        shown = page.locator(".scout-untranslated + p")
        assert shown.get_attribute("lang") == "zh-CN" and shown.inner_text() == feature["properties"]["access_notes_zh"]
        s.close()
    finally:
        set_access_notes_en(client, feature["id"], kept)


def set_access_notes_en(client, site_id: int, value) -> None:
    """Through the core write (a revision, the version and the caches' write counter all move)."""
    with client.application.extensions["scouting"]["sessionmaker"]() as session:
        update_site(session, site_id, {"access_notes_en": value}, None, "test")  # commits


@VIEWPORTS
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_link_with_filters_fits_the_map_to_its_results(browser, base_url, client, lang, viewport):
    expected = client.get("/api/sites?limit=1000&genre=religious").get_json()
    assert 0 < expected["numberMatched"] < 10
    s = session_for(browser, base_url, lang, viewport)
    county = open_page(s, lang, "/").evaluate(COUNTY)
    page = open_page(s, lang, "/?genre=religious")
    settle(page)
    assert sorted(list_ids(page)) == sorted(f["id"] for f in expected["features"])
    first = list_ids(page)[0]
    inside = page.evaluate("""() => { const app = WenchengScout.app, b = app.map.getBounds();
        return Object.values(app.markers()).map(m => b.contains(m.getLatLng())); }""")
    assert inside and all(inside), "every result's marker is inside the map"
    box = page.locator("#scout-map").bounding_box()
    point = page.evaluate("id => { const app = WenchengScout.app; const p = app.map.latLngToContainerPoint("
                          "app.markers()[id].getLatLng()); return [p.x, p.y]; }", first)
    assert 0 <= point[0] <= box["width"] and 0 <= point[1] <= box["height"], f"the first result {first} is in sight"
    zoom = page.evaluate("WenchengScout.app.map.getZoom()")
    assert zoom > county[0], f"the map zoomed in to the results ({zoom}) from the county view ({county[0]})"
    # A link that also names a view keeps that view.
    kept = open_page(s, lang, "/?genre=religious&map=10/27.8/120.05")
    wait_ready(kept)
    zoom, lat, lng = (float(v) for v in parse_qs(urlsplit(kept.url).query)["map"][0].split("/"))
    assert (zoom, lat, lng) == (10, pytest.approx(27.8), pytest.approx(120.05)), "the link's view wins"
    s.close()
