"""The detail panel shows every facility with how it is known, in the page's language (Chromium via Playwright),
and the "verified only" toggle filters the map through the URL state.  Both databases."""
from __future__ import annotations

import pytest

from scouting import accounts
from scouting.geodata import load_geodata

from .browser import serve
from .helpers import STAFF_PASSWORD, bearer
from .test_fact_status import ABSENT_TOILETS, REPORTED_CATERING, VERIFIED_PARKING
from .test_map_browser import Session

pytestmark = pytest.mark.browser

EXPECTED = {
    "zh-CN": {"parking": "停车场（已核实，2026-11-02 实地）", "toilets": "卫生间（已核实没有，2026-11-02 照片）",
              "catering": "餐饮（据报道，待核实）"},
    "en-GB": {"parking": "Parking (verified, 2026-11-02 site visit)",
              "toilets": "Toilets (verified absent, 2026-11-02 photo)", "catering": "Catering (reported, unverified)"},
}


@pytest.fixture
def status_app(fresh_app):
    """The seed data, one site with a facility of each status (written through the API)."""
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", STAFF_PASSWORD, "planner")
        token = accounts.create_token(session, "ping")
    client = fresh_app.test_client()
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    resp = client.patch(f"/api/sites/{site['id']}", json={"type": "Feature", "properties": {
        "facilities": [VERIFIED_PARKING, ABSENT_TOILETS, REPORTED_CATERING]}},
        headers=bearer(token, **{"If-Match": client.get(f"/api/sites/{site['id']}").headers["ETag"]}))
    assert resp.status_code == 200, resp.get_json()
    fresh_app.status_site = site["id"]
    return fresh_app


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_panel_shows_each_facility_with_its_status(status_app, chromium, locale):
    site_id = status_app.status_site
    every = status_app.test_client().get(f"/api/sites/{site_id}").get_json()["properties"]["facility_status"]
    with serve(status_app) as url:
        session = Session(chromium, url, locale=locale)
        try:
            page = session.open(f"/?site={site_id}")
            page.wait_for_selector(f"#scout-detail-body[data-site-id='{site_id}'] .scout-facility")
            shown = page.eval_on_selector_all(
                "#scout-detail-body .scout-facility",
                "els => els.map(e => [e.dataset.facility, e.dataset.status, "
                "e.querySelector('.scout-facility-label').textContent, e.querySelector('.scout-facility-icon').textContent])")
            assert {f: label for f, _, label, _ in shown} == EXPECTED[locale]
            assert {f: s for f, s, _, _ in shown} == {e["facility"]: e["status"] for e in every}
            icons = {f: icon for f, _, _, icon in shown}
            assert icons["parking"] == "🅿️", "a verified facility keeps its pictogram"
            assert icons["catering"] == "?" and icons["toilets"] == "✕", "a reported or absent one is not shown as a fact"
            # The elevation line says whose elevation it is when the point is estimated.
            props = status_app.test_client().get(f"/api/sites/{site_id}").get_json()["properties"]
            label = props["elevation_label_zh" if locale == "zh-CN" else "elevation_label_en"]
            if label:
                assert label in page.inner_text("#scout-detail-body")

            # "Verified only": the toggle writes facility_status=verified to the URL and the list follows the API.
            page.click("label.scout-chip[data-term=parking]")
            page.wait_for_function("() => location.search.includes('facility=parking')")
            page.wait_for_function("() => !WenchengScout.state.loading")
            page.check("#scout-facility-verified input")
            page.wait_for_function("() => location.search.includes('facility_status=verified')")
            page.wait_for_function("() => !WenchengScout.state.loading && "
                                   "document.querySelectorAll('#scout-results .scout-result').length === 1")
            ids = page.eval_on_selector_all("#scout-results .scout-result", "els => els.map(e => +e.dataset.siteId)")
            assert ids == [site_id]
            chip = page.inner_text("label.scout-chip[data-term=parking] .scout-chip-count")
            assert chip == "1", "facet counts honour verified only"
            # Opened from the URL, the toggle is set again.
            again = session.open(page.url.replace(url, ""))
            assert again.is_checked("#scout-facility-verified input")
        finally:
            session.close()
