"""In Chromium (Playwright), desktop and phone, zh and en: the refused site form shows every error next to its field
with the first one focused; the map's detail panel shows the source as a sentence, the staff's notes only to staff."""
from __future__ import annotations

import re

import pytest

from scouting import accounts
from scouting.geodata import load_geodata

from .browser import PageWatch, serve
from .helpers import STAFF_PASSWORD
from .test_map_browser import Session
from .test_site_form_errors import CODES

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": (1366, 800), "phone": (390, 844)}
LOCALES = {"zh": "zh-CN", "en": "en-GB"}


@pytest.fixture
def staff_app(fresh_app):
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", STAFF_PASSWORD, "planner")
    return fresh_app


def signed_in_page(browser, url: str, locale: str, viewport: tuple[int, int]):
    context = browser.new_context(locale=locale, viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(f"{url}/login?next=/sites/new")
    page.fill("input[name=username]", "ping")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#site-form")
    return context, page, watch


def in_viewport(page, selector: str) -> dict | None:
    """None when the element lies wholly inside the viewport, else its rectangle and the viewport's size."""
    return page.eval_on_selector(selector, """el => { const r = el.getBoundingClientRect();
        const inside = r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
        return inside ? null : {top: r.top, left: r.left, bottom: r.bottom, right: r.right, w: innerWidth,
                                h: innerHeight}; }""")


@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("lang", list(LOCALES))
def test_refused_form_shows_each_error_at_its_field(staff_app, chromium, lang, size):
    with serve(staff_app) as url:
        context, page, watch = signed_in_page(chromium, url, LOCALES[lang], VIEWPORTS[size])
        try:
            page.fill("#name_en", "Mist Valley")
            page.fill("#elevation_m", "abc")
            page.fill("#lon", "27.8")
            page.fill("#lat", "120.05")
            page.fill("#coord_source", "GNSS")
            page.fill("#coord_accuracy_m", "5")
            page.click("#site-form button[type=submit]")
            page.wait_for_selector(".scout-error-summary")
            page.wait_for_load_state("load")  # the page's script has run
            # The first field with an error (the Chinese name, first in the form) has the focus, and is in sight.
            assert page.evaluate("document.activeElement.id") == "name_zh", "the first wrong field is not focused"
            assert in_viewport(page, "#name_zh") is None, f"the focused field is not in sight: {in_viewport(page, '#name_zh')}"
            for name in ("name_zh", "genres", "elevation_m", "lat"):
                error = page.locator(f"#{name}-error")
                assert error.is_visible(), f"the error of {name} is not visible"
                text = error.inner_text()
                assert not CODES.search(text), f"{lang}: {text!r} shows a code"
                if lang == "zh":
                    assert not re.search(r"[A-Za-z]{3,}", text.replace("abc", "")), f"English in {text!r}"
                # Next to its field: inside the same label (or fieldset), just below the input.
                box = page.eval_on_selector(f"#{name}-error", """el => {
                    const holder = el.closest('.scout-field, fieldset');
                    const inputs = holder.querySelectorAll('input, select, textarea');
                    const input = inputs[0], a = inputs[inputs.length - 1].getBoundingClientRect();
                    const b = el.getBoundingClientRect();
                    return {gap: b.top - a.bottom, described: (input.getAttribute('aria-describedby') ||
                            holder.getAttribute('aria-describedby') || '').includes(el.id)}; }""")
                assert -1 <= box["gap"] < 80, f"the error of {name} is {box['gap']}px from its field"
                assert box["described"], f"{name} is not described by its error"
            assert page.input_value("#name_en") == "Mist Valley" and page.input_value("#elevation_m") == "abc"
            assert page.locator("#lon-error").count() == 0, "an error at the longitude, which is right"
            # A summary link takes the focus to its field.
            page.click(".scout-error-summary a[href='#lat']")
            assert page.evaluate("document.activeElement.id") == "lat"
            assert not watch.page_errors, watch.page_errors
        finally:
            context.close()


@pytest.mark.parametrize("lang", list(LOCALES))
def test_detail_panel_source_is_a_sentence(staff_app, chromium, lang):
    site = staff_app.test_client().get("/api/sites?limit=1").get_json()["features"][0]
    props = site["properties"]
    with serve(staff_app) as url:
        public = Session(chromium, url, locale=LOCALES[lang], viewport=VIEWPORTS["desktop"])
        try:
            page = public.open(f"/?site={site['id']}")
            page.wait_for_selector(f"#scout-detail-body[data-site-id='{site['id']}'] .scout-provenance",
                                   state="attached")
            page.click("#scout-detail-body .scout-source summary")
            assert page.locator(".scout-provenance").inner_text() == props[f"provenance_{lang}"]
            assert page.locator(".scout-provenance").is_visible()
            source_text = page.locator(".scout-source").inner_text()
            assert "places.csv" not in source_text and "github" not in source_text.lower(), source_text
            assert page.locator(".scout-coord-source").count() == 0, "the staff's notes are shown to the public"
        finally:
            public.close()
        context, page, watch = signed_in_page(chromium, url, LOCALES[lang], VIEWPORTS["desktop"])
        try:
            page.goto(f"{url}/?site={site['id']}")
            page.wait_for_selector(f"#scout-detail-body[data-site-id='{site['id']}'] .scout-coord-source",
                                   state="attached")
            page.click("#scout-detail-body .scout-source summary")
            assert page.locator(".scout-coord-source").inner_text() == props["coord_source"]
            assert page.locator(".scout-provenance").inner_text() == props[f"provenance_{lang}"]
            heading = {"zh": "来源记录（仅工作人员可见）", "en": "Source notes (staff only)"}[lang]
            assert page.locator(".scout-source-notes").inner_text() == heading
        finally:
            context.close()


@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("lang", list(LOCALES))
def test_suggestion_form_errors_at_their_fields(staff_app, chromium, lang, size):
    """The public suggestion form: every error at its field in the page's language, the first focused."""
    with serve(staff_app) as url:
        context = chromium.new_context(locale=LOCALES[lang], viewport=dict(zip(("width", "height"), VIEWPORTS[size], strict=True)))
        page = context.new_page()
        watch = PageWatch(page)
        try:
            page.goto(f"{url}/suggest")
            page.fill("#lon", "120.05")
            page.fill("#lat", "north")
            page.click("form button[type=submit]")
            page.wait_for_selector(".scout-error-summary")
            page.wait_for_load_state("load")
            assert page.evaluate("document.activeElement.id") == "name", "the first wrong field is not focused"
            assert in_viewport(page, "#name") is None, in_viewport(page, "#name")
            for name in ("name", "lat", "message"):
                error = page.locator(f"#{name}-error")
                assert error.is_visible(), f"no visible error at {name}"
                assert not CODES.search(error.inner_text())
                if lang == "zh":
                    assert not re.search(r"[A-Za-z]{3,}", error.inner_text().replace("north", "")), error.inner_text()
            assert page.locator("#lon-error").count() == 0
            assert page.input_value("#lat") == "north"
            assert not watch.page_errors, watch.page_errors
        finally:
            context.close()
