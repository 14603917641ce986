"""The director's map at scale: its first view at county and at province zoom, ours against the naive peer.

    python bench/map_view.py --sites 100000 [--db URL] [--workers 2] [--runs 3]

Ours: the app under gunicorn on a database of N synthetic sites (`scouting.synth`; made when the database is
new, reused when it already holds exactly N), `/` opened at each view.  The peer: the naive approach, a folium
map with every one of the N sites embedded as a marker in a MarkerCluster, written to one HTML file and served
as a static file.  Both load Leaflet and the clusterer from static/vendor/; tile servers are blocked.

Each view is opened `--runs` times in headless Debian Chromium (Playwright), each time in a new browser context
with the cache off.  Measured: bytes transferred (the sum of Chrome's encodedDataLength over every response
until the network is idle: headers and bodies as sent, compressed where the server compresses) and the time
from navigation start until the sites are drawn (ours: the page's `WenchengScout.state.ready`; the peer: its
first marker or cluster icon in the DOM).  Prints a Markdown section on stdout; progress goes to stderr.
"""
from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "map_view"
VENV_BIN = ROOT / ".venv" / "bin"

from sqlalchemy import text  # noqa: E402

from scouting import migrate  # noqa: E402
from scouting.db import make_engine  # noqa: E402
from scouting.synth import SLUG_PREFIX, synthesize  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, serving  # noqa: E402
from tests.helpers import free_port  # noqa: E402

# The two first views of issue #6: the county (Wencheng's seat) and the province (all of Zhejiang).
VIEWS = {"county (Wencheng, zoom 11)": (11, 27.7922, 120.0878), "province (Zhejiang, zoom 7)": (7, 29.2, 120.3)}
VIEWPORT = {"width": 1280, "height": 800}
TARGET_BYTES = 300 * 1024
TARGET_SECONDS = 1.5
PAGE_TIMEOUT_MS = 240_000
# Functions, not expressions: the page's CSP allows no eval, which Playwright needs for an expression.
OURS_READY = ("() => window.WenchengScout && WenchengScout.state && WenchengScout.state.ready && "
              "!WenchengScout.state.loading && WenchengScout.state.numberMatched !== null")
PEER_READY = "() => document.querySelector('.leaflet-marker-icon') !== null"


def log(message: str) -> None:
    print(f"[map_view] {message}", file=sys.stderr, flush=True)


def ensure_database(url: str, sites: int) -> None:
    """Migrate; add N synthetic sites to a new database; accept one that holds exactly N already."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM sites WHERE slug LIKE :p"), {"p": SLUG_PREFIX + "%"}).scalar()
    if have == 0:
        started = time.perf_counter()
        synthesize(engine, sites, seed=0)
        log(f"{sites} synthetic sites written in {time.perf_counter() - started:.1f} s")
    elif have != sites:
        engine.dispose()
        sys.exit(f"{url} holds {have} synthetic sites, not {sites}: give a new database with --db")
    engine.dispose()


@contextmanager
def our_server(url: str, workers: int):
    port = free_port()
    env = os.environ | {"SCOUTING_DATABASE_URL": url, "SCOUTING_SECRET_KEY": "map-view-bench"}
    log_file = open(OUT / "gunicorn.log", "w")  # noqa: SIM115 (open for the server's life)
    server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",  # noqa: S603
                               "app:app"], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()  # noqa: S310 (our http://127.0.0.1)
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit(f"gunicorn stopped (exit {server.returncode}); see {OUT / 'gunicorn.log'}")
                time.sleep(0.2)
        else:
            sys.exit("gunicorn did not answer /healthz within 60 s")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log_file.close()


def write_peer(url: str, path: Path) -> float:
    """The naive page: every site a folium Marker in one MarkerCluster, all in one HTML file.  Returns seconds."""
    import folium
    from branca.element import MacroElement
    from folium import plugins
    from jinja2 import Template

    started = time.perf_counter()
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ST_Y(geom), ST_X(geom), name_zh FROM sites WHERE deleted_at IS NULL")).all()
    engine.dispose()
    fmap = folium.Map(location=VIEWS["county (Wencheng, zoom 11)"][1:], zoom_start=11, tiles=None)
    fmap.default_js = [("leaflet", "vendor/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", "vendor/leaflet/leaflet.css")]
    folium.TileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", attr="OpenStreetMap").add_to(fmap)

    class ViewFromUrl(MacroElement):
        """`?map=zoom/lat/lon` sets the view before any marker is added, as our page's URL does."""
        _template = Template("""{% macro script(this, kwargs) %}
            (function () { var v = (new URLSearchParams(location.search).get("map") || "").split("/").map(Number);
              if (v.length === 3) {{ this._parent.get_name() }}.setView([v[1], v[2]], v[0]); })();
        {% endmacro %}""")

    fmap.add_child(ViewFromUrl())
    cluster = plugins.MarkerCluster()
    cluster.default_js = [("markercluster", "vendor/markercluster/leaflet.markercluster.js")]
    cluster.default_css = [("markercluster_css", "vendor/markercluster/MarkerCluster.css"),
                           ("markercluster_default_css", "vendor/markercluster/MarkerCluster.Default.css")]
    cluster.add_to(fmap)
    for lat, lon, name in rows:
        folium.Marker((lat, lon), title=name).add_to(cluster)
    fmap.save(str(path))
    return time.perf_counter() - started


def static_server(directory: Path):
    """The folder served on loopback, as a context of its URL."""
    return serving(ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory))))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def measure(browser, url: str, ready: str, runs: int) -> dict:
    """Open `url` `runs` times, each in a fresh context with the cache off: bytes, seconds, requests."""
    from playwright.sync_api import Error as PlaywrightError

    results = []
    failures = 0
    for _ in range(runs):
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        page = context.new_page()
        page.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname == "127.0.0.1"
                   else route.abort())
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        received = {"bytes": 0, "requests": 0}

        def finished(event, received=received):
            received["bytes"] += event["encodedDataLength"]
            received["requests"] += 1

        cdp.on("Network.loadingFinished", finished)
        try:
            page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
            page.wait_for_function(ready, timeout=PAGE_TIMEOUT_MS, polling=50)
            drawn_ms = page.evaluate("performance.now()")  # since this navigation started
            page.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
            state = page.evaluate("window.WenchengScout && WenchengScout.state ? {...WenchengScout.state} : null")
        except PlaywrightError as err:  # a renderer that crashes or never draws (the peer's 100k markers can)
            log(f"{url}: no drawn map ({str(err).splitlines()[0]})")
            failures += 1
            context.close()
            continue
        results.append({"seconds": drawn_ms / 1000, "bytes": received["bytes"], "requests": received["requests"],
                        "state": state})
        context.close()
    if not results:
        sys.exit(f"{url}: not drawn in any of {runs} runs")
    return {"failures": failures, "seconds": statistics.median(r["seconds"] for r in results),
            "seconds_max": max(r["seconds"] for r in results),
            "bytes": statistics.median(r["bytes"] for r in results),
            "requests": results[0]["requests"], "state": results[-1]["state"], "runs": results}


def human_bytes(n: float) -> str:
    return f"{n / 1024:,.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MB"


def report(sites: int, url: str, workers: int, runs: int, ours: dict, peer: dict, peer_info: dict) -> str:
    backend = "PostGIS" if url.startswith("postgresql") else "SpatiaLite"
    lines = [f"## The map's first view at {sites:,} sites", "",
             f"Ours: `/` under gunicorn ({workers} workers, {backend}), server-side clusters for the view. "
             f"Peer: every site embedded as a folium marker in a MarkerCluster, one static HTML file "
             f"({human_bytes(peer_info['html_bytes'])}; {human_bytes(peer_info['html_gzip'])} if gzipped; "
             f"written by folium in {peer_info['seconds']:.0f} s). Headless Chromium, {VIEWPORT['width']}×"
             f"{VIEWPORT['height']}, cache off, tile servers blocked; median of {runs} runs (slowest in brackets). "
             "Transferred: every response until the network is idle, as sent (our server compresses). "
             "Drawn: navigation start until the sites are on the map. Ours is measured on a running server whose "
             "caches earlier visits have filled (facet counts and clusters are kept per query until the next "
             "write); the first visitor after a start or a write is in its own column.", "",
             "| view | ours: transferred | ours: drawn | ours: first visitor | peer: transferred | peer: drawn "
             "| peer ÷ ours (bytes, time) | target (≤ 300 KB, ≤ 1.5 s) |",
             "|---|---|---|---|---|---|---|---|"]
    for view in VIEWS:
        o, p = ours[view], peer[view]
        met = o["bytes"] <= TARGET_BYTES and o["seconds"] <= TARGET_SECONDS
        lines.append(
            f"| {view} | {human_bytes(o['bytes'])} ({o['requests']} responses) | {o['seconds']:.2f} s "
            f"({o['seconds_max']:.2f}) | {o['cold_seconds']:.2f} s | {human_bytes(p['bytes'])} | {p['seconds']:.2f} s "
            f"({p['seconds_max']:.2f}){' — ' + str(p['failures']) + ' run(s) not drawn' if p['failures'] else ''} | "
            f"{p['bytes'] / o['bytes']:,.0f}×, {p['seconds'] / o['seconds']:,.1f}× | {'met' if met else 'NOT met'} |")
    lines.append("")
    for view in VIEWS:
        state = ours[view]["state"] or {}
        lines.append(f"- {view}, ours: {state.get('clustersDrawn')} cluster bubbles and {state.get('sitesDrawn')} single "
                     f"markers for {state.get('numberInView')} sites in view (mode `{state.get('mode')}`), "
                     f"{state.get('numberMatched')} matching in all.")
    lines.append(f"- The machine: {os.cpu_count()} cores shared with other work (load average "
                 f"{os.getloadavg()[0]:.1f} at the end of the run): the times include waiting for a core.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a SpatiaLite file under bench/out/map_view/)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse-peer", action="store_true", help="use the peer page of an earlier run (same N)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    url = args.db or f"sqlite:///{OUT / f'sites-{args.sites}.sqlite'}"
    ensure_database(url, args.sites)

    peer_dir = OUT / "peer"
    peer_dir.mkdir(exist_ok=True)
    vendor = peer_dir / "vendor"
    if not vendor.exists():
        vendor.symlink_to(ROOT / "static" / "vendor")
    peer_file = peer_dir / f"all-{args.sites}.html"
    timing_file = peer_dir / f"all-{args.sites}.seconds"
    if args.reuse_peer and peer_file.exists() and timing_file.exists():
        peer_seconds = float(timing_file.read_text())
    else:
        log(f"writing the peer page with {args.sites} markers")
        peer_seconds = write_peer(url, peer_file)
        timing_file.write_text(str(peer_seconds))
    html = peer_file.read_bytes()
    peer_info = {"seconds": peer_seconds, "html_bytes": len(html), "html_gzip": len(gzip.compress(html, 6))}

    from playwright.sync_api import sync_playwright

    ours: dict = {}
    peer: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with our_server(url, args.workers) as base:
            for _ in range(2 * args.workers):  # each worker builds the page once; a running server has
                urllib.request.urlopen(base + "/", timeout=60).read()  # noqa: S310
            for view, (zoom, lat, lon) in VIEWS.items():
                page = f"{base}/?map={zoom}/{lat}/{lon}"
                # The first visitor after a start (or a write) finds the caches empty; later visitors are
                # served from them.  Each of the workers fills its own, so it takes a visit per worker.
                cold = measure(browser, page, OURS_READY, 1)
                for _ in range(2 * args.workers - 1):
                    measure(browser, page, OURS_READY, 1)
                ours[view] = measure(browser, page, OURS_READY, args.runs) | {"cold_seconds": cold["seconds"]}
                log(f"ours, {view}: {ours[view]['bytes']:,.0f} bytes, {ours[view]['seconds']:.2f} s "
                    f"(first visitor {cold['seconds']:.2f} s)")
        with static_server(peer_dir) as base:
            for view, (zoom, lat, lon) in VIEWS.items():
                peer[view] = measure(browser, f"{base}/{peer_file.name}?map={zoom}/{lat}/{lon}", PEER_READY, args.runs)
                log(f"peer, {view}: {peer[view]['bytes']:,.0f} bytes, {peer[view]['seconds']:.2f} s")
        browser.close()
    print(report(args.sites, url, args.workers, args.runs, ours, peer, peer_info))


if __name__ == "__main__":
    main()
