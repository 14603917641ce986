"""Every kind of page works in Chromium under the Content-Security-Policy, with no violation at all.

Violations are caught twice: the `securitypolicyviolation` DOM event (reported to Python through an exposed
binding, so none is lost on navigation) and Chromium's console line "Refused to ...".  The last test shows the
watch is not blind: with a wrong nonce in the page the map reports violations and draws nothing.
"""
from __future__ import annotations

import pytest

from scouting import accounts
from scouting.geodata import load_geodata
from scouting.maps import TILE_HOSTS

from .browser import PageWatch, serve
from .helpers import STAFF_PASSWORD as PASSWORD

pytestmark = pytest.mark.browser
# Predicates are functions: Playwright evaluates a bare expression with eval(), which the CSP refuses.
MAP_READY = "() => window.WenchengScout && WenchengScout.state && WenchengScout.state.ready && !WenchengScout.state.loading"
PACK_READY = "() => window.WenchengPack && WenchengPack.state && WenchengPack.state.ready"
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolation([e.violatedDirective, e.blockedURI, e.sourceFile + ":" + e.lineNumber, e.sample].join(" | "));
});
"""


class CspWatch(PageWatch):
    """PageWatch (no request leaves the machine, no console error) plus every CSP violation of the page."""

    def __init__(self, page):
        self.violations: list[str] = []
        super().__init__(page)
        page.expose_binding("__cspViolation", lambda _source, text: self.violations.append(text))
        page.add_init_script(REPORT_VIOLATIONS)

    def _on_console(self, msg):
        super()._on_console(msg)
        if "Refused to" in msg.text or "Content Security Policy" in msg.text:
            self.violations.append("console: " + msg.text)

    def assert_clean(self):
        assert not self.violations, self.violations
        assert not self.console_errors, self.console_errors
        assert not self.page_errors, self.page_errors
        assert self.blocked_hosts <= TILE_HOSTS, self.blocked_hosts


def drawn_sites(page) -> int:
    """Sites the map draws: the numbers on the cluster bubbles plus the single markers."""
    return page.evaluate("""() => {
        const clusters = [...document.querySelectorAll('.marker-cluster span')].map(s => parseInt(s.textContent, 10));
        return clusters.reduce((a, b) => a + b, 0) + document.querySelectorAll('.leaflet-marker-pane .scout-site-dot').length;
    }""")


@pytest.fixture
def staff_app(fresh_app):
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "boss", PASSWORD, "admin")
    return fresh_app


def test_every_page_kind_runs_under_the_csp_without_a_violation(staff_app, chromium):
    client = staff_app.test_client()
    sites = client.get("/api/sites?genre=nature&limit=3").get_json()["features"]
    site_id = sites[0]["id"]
    pack = client.post("/api/packs", json={"name": "CSP recce", "site_ids": [s["id"] for s in sites],
                                           "notes": {str(site_id): "dawn"}}).get_json()
    with serve(staff_app) as base:
        # A fixed position for "locate me": its marker is SVG markup with style attributes.
        context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800},
                                       geolocation={"latitude": 27.79, "longitude": 120.09},
                                       permissions=["geolocation"])
        page = context.new_page()
        watch = CspWatch(page)

        # The director's map: markers drawn, a filter, a site's details, draw, measure and locate controls.
        page.goto(f"{base}/")
        page.wait_for_function(MAP_READY, timeout=20_000)
        total = page.evaluate("WenchengScout.state.numberMatched")
        assert total > 0 and drawn_sites(page) == total
        page.click(".scout-measure-line")
        box = page.locator(".folium-map").bounding_box()
        x, y = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6
        vertices = page.locator(".leaflet-marker-pane .leaflet-editing-icon")
        for n, dx in enumerate((0, 150), start=1):
            # Leaflet.draw ignores a click in the 50 ms after a vertex is placed: wait until it takes one.
            page.wait_for_function("() => !WenchengMeasure.active._disableMarkers")
            page.mouse.click(x + dx, y)
            vertices.nth(n - 1).wait_for(state="attached")
        vertices.nth(1).click()  # clicking the last point finishes the line
        result = page.wait_for_selector(".scout-measure-result")
        assert "km" in result.inner_text() or " m" in result.inner_text()
        assert "area=" not in page.url  # a measurement is not a filter
        page.click("label.scout-chip[data-term='nature']")
        page.wait_for_function(f"{MAP_READY} && WenchengScout.state.numberMatched < {total}", timeout=20_000)
        assert 0 < drawn_sites(page) < total
        page.click(f".scout-result[data-site-id='{site_id}']")
        page.wait_for_selector(f"#scout-detail-body[data-site-id='{site_id}']")
        assert page.locator(".leaflet-draw").count() == 1
        page.click(".leaflet-control-locate a")
        page.wait_for_selector(".leaflet-control-locate-location", state="attached", timeout=10_000)

        # A pack's share page (its own map) and its print view.
        page.goto(f"{base}/packs/{pack['id']}")
        page.wait_for_function(PACK_READY, timeout=20_000)
        assert page.evaluate("WenchengPack.state.sitesDrawn") == len(sites)
        page.click(f"a[href='/packs/{pack['id']}/print']")
        page.wait_for_selector("section.site")
        assert page.locator("section.site svg").count() == len(sites)  # locator maps

        # Staff pages, after signing in through the form.
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_function(MAP_READY, timeout=20_000)
        page.goto(f"{base}/sites/new")
        picker = page.locator("#site-form-map")
        picker.wait_for()
        page.wait_for_selector("#site-form-map path.leaflet-interactive, #site-form-map svg path", state="attached")
        picker.click(position={"x": 150, "y": 150})
        assert page.input_value("#lon") and page.input_value("#lat")
        assert page.locator("#site-form-map .leaflet-marker-icon").count() == 1
        for path in (f"/sites/{site_id}/edit", f"/sites/{site_id}/history", "/import", "/suggestions",
                     "/admin/users", "/my/packs", f"/suggest?site={site_id}", "/audit"):
            page.goto(base + path)
            page.wait_for_load_state("load")
            assert page.locator("main, body").first.is_visible(), path

        # The OGC API's readable pages and an error page.
        for path in ("/ogc?f=html", "/ogc/conformance?f=html", "/ogc/api?f=html", "/ogc/collections?f=html",
                     "/ogc/collections/sites?f=html", "/ogc/collections/sites/items?f=html&limit=5",
                     f"/ogc/collections/sites/items/{site_id}?f=html", "/ogc/collections/bases/items?f=html"):
            page.goto(base + path)
            page.wait_for_load_state("load")
        errors_before = list(watch.console_errors)
        assert page.goto(f"{base}/no-such-page").status == 404
        page.wait_for_selector("h1")
        assert len(watch.console_errors) == len(errors_before) + 1 and "404" in watch.console_errors[-1]
        watch.console_errors.pop()  # the error page's own status, reported by Chromium
        context.close()
    watch.assert_clean()


def test_the_watch_sees_a_missing_nonce(staff_app, chromium):
    """The same watch on a page whose inline scripts carry a wrong nonce: violations, and no map."""
    staff_app.jinja_env.globals["csp_nonce"] = lambda: "not-the-nonce"
    with serve(staff_app) as base:
        page = chromium.new_context().new_page()
        watch = CspWatch(page)
        with page.expect_console_message(lambda msg: "Content Security Policy" in msg.text):
            page.goto(f"{base}/")
        page.wait_for_load_state("load")
        assert any("script-src" in v for v in watch.violations), watch.violations
        assert drawn_sites(page) == 0
        assert not page.evaluate("window.WenchengScout && WenchengScout.state && WenchengScout.state.ready")
