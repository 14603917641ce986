"""The director's map above the clustering threshold: server clusters for the view, a paged list.

Chromium (Debian's) via Playwright on 3,000 synthetic sites, on SpatiaLite and PostGIS; no console errors.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .browser import serve
from .conftest import synthetic_app
from .test_map_browser import Session, wait_ready

pytestmark = pytest.mark.browser
SITES = 3000


@pytest.fixture(scope="module")
def synth_app(backend, tmp_path_factory):
    with synthetic_app(backend, tmp_path_factory.mktemp(f"scale-{backend}"), SITES, seed=11) as app:
        yield app


@pytest.fixture(scope="module")
def scale_session(synth_app, chromium):
    with serve(synth_app) as base_url:
        session = Session(chromium, base_url)
        yield session
        session.close()


def status(page) -> dict:
    return page.evaluate("({...WenchengScout.state})")


def view_clusters(page, client) -> dict:
    """What the clusters API says for the bbox and zoom the page asked about last."""
    url = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"
                        ".filter(n => n.includes('/api/sites/clusters')).pop()")
    return client.get(urlsplit(url).path + "?" + urlsplit(url).query).get_json()


def show_more(page, count: int) -> None:
    """Click "show more" until the list holds `count` results.  A reload of the view between the click and its
    answer (the map settling after the page opened) rightly resets the list to its first page; then click again."""
    for _ in range(3):
        wait_ready(page)
        page.click("#scout-more")
        try:
            page.wait_for_function(f"() => document.querySelectorAll('.scout-result').length === {count}",
                                   timeout=15_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the list never reached {count} results")


def test_server_clusters_zoom_in_to_single_sites_and_the_list_pages(scale_session, synth_app):
    client = synth_app.test_client()
    page = scale_session.open("/?map=8/29.2/120.3")
    state = status(page)
    assert state["mode"] == "view" and state["numberMatched"] == SITES
    assert str(SITES) in page.inner_text("#scout-count")
    # The bubbles are the server's cells: their numbers and the single markers add up to the matches in view.
    expected = view_clusters(page, client)
    bubbles = page.eval_on_selector_all(".scout-server-cluster span", "els => els.map(e => +e.textContent)")
    assert sorted(bubbles) == sorted(c["count"] for c in expected["clusters"]) and len(bubbles) > 10
    assert sum(bubbles) + len(expected["features"]) == expected["numberMatched"] == state["numberInView"]
    assert state["sitesDrawn"] == len(expected["features"])

    # The list shows the first page of what is in view; "show more" adds the next.
    assert page.locator(".scout-result").count() == 100
    assert str(state["numberInView"]) in page.inner_text("#scout-results-note")
    show_more(page, 200)
    ids = page.eval_on_selector_all(".scout-result", "els => els.map(e => +e.dataset.siteId)")
    assert len(set(ids)) == 200

    # A click on a bubble zooms into its members' bounds.
    zoom = page.evaluate("WenchengScout.app.map.getZoom()")
    biggest = max(expected["clusters"], key=lambda c: c["count"])
    x, y = page.evaluate("""c => {
        const map = WenchengScout.app.map, box = map.getContainer().getBoundingClientRect();
        const p = map.latLngToContainerPoint([c.lat, c.lon]);
        return [box.x + p.x, box.y + p.y];
    }""", biggest)
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('.scout-server-cluster') !== null", [x, y])
    page.mouse.click(x, y)
    page.wait_for_function(f"() => WenchengScout.app.map.getZoom() > {zoom}")
    wait_ready(page)
    assert parse_qs(urlsplit(page.url).query)["map"][0].split("/")[0] != str(zoom)

    # A site picked from the list: the map zooms to where it stands alone, and its marker opens the details.
    first = page.get_attribute(".scout-result >> nth=0", "data-site-id")
    page.click(".scout-result >> nth=0")
    page.wait_for_selector(f"#scout-detail-body[data-site-id='{first}']")
    wait_ready(page)
    page.wait_for_selector(f".scout-site-dot[data-site-id='{first}']")
    page.click("#scout-detail-close")
    page.click(f".scout-site-dot[data-site-id='{first}']")
    page.wait_for_selector(f"#scout-detail-body[data-site-id='{first}']")
    site = client.get(f"/api/sites/{first}").get_json()
    assert page.inner_text("#scout-detail-title") == site["properties"]["name_zh"]
    assert parse_qs(urlsplit(page.url).query)["site"] == [first]

    # The whole state is in the URL: opening it again gives the same view and list.
    copy = scale_session.open(urlsplit(page.url).path + "?" + urlsplit(page.url).query)
    assert copy.evaluate("WenchengScout.app.map.getZoom()") == page.evaluate("WenchengScout.app.map.getZoom()")
    copy.wait_for_selector(f".scout-site-dot[data-site-id='{first}']")  # drawn once the view has settled
    assert copy.locator(f".scout-site-dot[data-site-id='{first}']").count() == 1
    copy.close()
    page.close()


def test_a_site_picked_while_the_map_still_zooms_is_where_the_map_ends(scale_session, synth_app):
    """A pick from the list made while a zoom (a bubble's) is still running: Leaflet drops a move asked for during a
    zoom animation, and the end of that zoom would put the map back at the bubble's view.  The pick must win."""
    page = scale_session.open("/?map=8/29.2/120.3")
    wait_ready(page)
    first = page.get_attribute(".scout-result >> nth=0", "data-site-id")
    site = synth_app.test_client().get(f"/api/sites/{first}").get_json()
    # A zoom starts (two levels about the centre, as a bubble's: Leaflet animates it); the pick is made as it
    # begins, from the list of the view before it (in the page: a round trip could outlast the 0.25 s zoom).
    picked_while_zooming = page.evaluate("""() => new Promise((resolve) => {
        const map = WenchengScout.app.map;
        map.once("zoomanim", () => {
            document.querySelector(".scout-result").click();
            resolve(map._animatingZoom);
        });
        map.setView(map.getCenter(), map.getZoom() + 2);
    })""")
    assert picked_while_zooming is True
    page.wait_for_selector(f"#scout-detail-body[data-site-id='{first}']")
    page.wait_for_function("() => !WenchengScout.app.map._animatingZoom")
    wait_ready(page)
    # The map ends where the site stands alone: its own dot is drawn, near the middle of the map.
    page.wait_for_selector(f".scout-site-dot[data-site-id='{first}']")
    lon, lat = site["geometry"]["coordinates"]
    centre = page.evaluate("(() => { const c = WenchengScout.app.map.getCenter(); return [c.lng, c.lat]; })()")
    assert abs(centre[0] - lon) < 0.02 and abs(centre[1] - lat) < 0.02, (centre, (lon, lat))
    assert parse_qs(urlsplit(page.url).query)["site"] == [first]
    page.close()


def test_filters_below_the_threshold_load_every_match(scale_session, synth_app):
    client = synth_app.test_client()
    page = scale_session.open("/?map=8/29.2/120.3")
    page.click(".scout-chip[data-term=red]")  # one genre: a few hundred sites, under the threshold
    wait_ready(page)
    expected = client.get("/api/sites?genre=red&limit=1").get_json()["numberMatched"]
    assert 0 < expected <= 2000
    state = status(page)
    assert state["mode"] == "all" and state["numberMatched"] == expected and state["sitesDrawn"] == expected
    assert page.locator(".scout-result").count() == expected
    assert page.locator(".scout-server-cluster").count() == 0 and page.is_hidden("#scout-more")
    page.click(".scout-chip[data-term=red]")
    wait_ready(page)
    assert status(page)["mode"] == "view" and page.locator(".scout-server-cluster").count() > 0
    page.close()


def test_the_list_pages_when_the_public_url_names_the_site_otherwise(scale_session, synth_app):
    """The API's next link starts with SCOUTING_PUBLIC_URL; a page opened under another name of the same server
    (127.0.0.1 here, localhost there) still pages through its own origin (CSP connect-src 'self')."""
    port = urlsplit(scale_session.base_url).port
    synth_app.config["PUBLIC_URL"] = f"http://localhost:{port}"
    try:
        page = scale_session.open("/?map=8/29.2/120.3")
        assert page.locator(".scout-result").count() == 100
        show_more(page, 200)
        asked = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"
                              ".filter(n => n.includes('/api/sites?'))")
        assert asked and all(url.startswith(scale_session.base_url + "/") for url in asked), asked
        page.close()
    finally:
        synth_app.config["PUBLIC_URL"] = None
