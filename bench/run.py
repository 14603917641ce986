"""`make bench`: every workload of issue #6, ours and its peer in the same run, written to bench/RESULTS.md.

    python bench/run.py [--quick] [--reuse] [--postgis-url URL] [--workers 2]

Data: synthetic sites (`scouting.synth`) in fresh databases of their own, never beside real data.
HTTP workloads: our app and pygeoapi each under gunicorn with the same worker count, one server at a time,
measured by wrk (a separate process) with bench/wrk_report.lua.  Export and import: each side timed around
its own work in a process of its own (bench/timed.py), GDAL's ogr2ogr as a separate program.
Raw output (responses, wrk lines, profiles, logs) goes to bench/out/.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH = ROOT / "bench"
OUT = BENCH / "out"
VENV_BIN = ROOT / ".venv" / "bin"
PEER_BIN = BENCH / ".peer-venv" / "bin"
PY = str(VENV_BIN / "python")

import orjson  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from scouting import migrate  # noqa: E402
from scouting.db import make_engine  # noqa: E402

# The workloads' parameters.  A city-sized box around Hangzhou's centre (~43 x 39 km) and a point in Wenzhou.
CITY_BBOX = (119.95, 30.10, 120.40, 30.45)
GENRES_ANY = ("wuxia", "costume")
FACILITIES_ALL = ("parking", "toilets")
NEAR = (120.67, 28.00)
RADIUS_KM = 10
LIMIT = 100

MODES = {
    # http: (backend, sites) pairs served over HTTP; export: two sizes on SpatiaLite; import: rows.
    # rounds x round_s seconds of wrk per side and workload, alternating sides.
    "quick": {"http": [("spatialite", 20_000), ("postgis", 20_000)], "export": (2_000, 20_000),
              "import": 20_000, "rounds": 3, "round_s": 3, "connections": 4},
    "full": {"http": [("spatialite", 100_000), ("postgis", 100_000), ("postgis", 1_000_000)],
             "export": (10_000, 100_000), "import": 100_000, "rounds": 5, "round_s": 5, "connections": 4},
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- databases

def postgis_base_url(explicit: str | None) -> str | None:
    url = explicit or os.environ.get("SCOUTING_TEST_POSTGIS_URL")
    if url:
        return url
    if shutil.which("pg_ctlcluster") and os.geteuid() == 0:
        return subprocess.run([str(ROOT / "scripts" / "postgis.sh")], check=True, capture_output=True,
                              text=True).stdout.strip()
    return None


def database_url(backend: str, sites: int, pg_base: str | None) -> str:
    if backend == "spatialite":
        return f"sqlite:///{OUT / 'data' / f'sites-{sites}.sqlite'}"
    return make_url(pg_base).set(database=f"scout_bench_{sites}").render_as_string(hide_password=False)


def synth_count(url: str) -> int | None:
    """How many synthetic sites an existing benchmark database holds (None: missing or not usable)."""
    if url.startswith("sqlite"):
        if not Path(make_url(url).database).exists():
            return None
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM sites WHERE slug LIKE 'synth-%'")).scalar()
            peer = conn.execute(text("SELECT count(*) FROM peer_sites")).scalar()
        engine.dispose()
        return n if n == peer else None
    except Exception:
        return None


def fresh_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(make_url(url).database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def build_database(url: str, sites: int, reuse: bool, seed: int = 1) -> dict:
    """A migrated database with `sites` synthetic sites and the peer's flattened table; returns timings."""
    from bench.peer import create_peer_table
    from scouting.synth import synthesize

    if url in BUILT:
        return BUILT[url]
    if reuse and synth_count(url) == sites:
        log(f"reusing {_safe(url)} ({sites} sites), migrated to the current schema")
        engine = make_engine(url)
        migrate.upgrade(engine)  # a database built by an older checkout: measured as the code under test stores it
        engine.dispose()
        BUILT[url] = {"reused": True}
        return BUILT[url]
    log(f"creating {_safe(url)} with {sites} synthetic sites")
    fresh_database(url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    t0 = time.perf_counter()
    synthesize(engine, sites, seed=seed)
    synth_s = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    t0 = time.perf_counter()
    peer_rows = create_peer_table(engine)
    peer_s = time.perf_counter() - t0
    engine.dispose()
    assert peer_rows == sites, (peer_rows, sites)
    log(f"  synth {synth_s:.1f} s, peer table {peer_s:.1f} s")
    BUILT[url] = {"reused": False, "synth_s": synth_s, "peer_table_s": peer_s}
    return BUILT[url]


BUILT: dict[str, dict] = {}  # databases made in this run
SKIPPED: list[str] = []  # workloads of the mode that this run left out, said in the results


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------- servers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            return []
        # gunicorn.conf.py may start a private redis-server beside the workers: it is a child too.
        return [pid for pid in pids if b"redis-server" not in _cmdline(pid)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def start_server(name: str, argv: list[str], env: dict, port: int, health_path: str, cwd: Path = ROOT) -> Server:
    log_path = OUT / f"{name}.log"
    log_file = log_path.open("w")
    proc = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=cwd,
                            start_new_session=True)
    server = Server(name, port, proc, log_path)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited at start: see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{health_path}", timeout=5) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{name} did not answer within 60 s: see {log_path}")


THREADS = int(os.environ.get("THREADS", 4))  # per worker, both sides (gthread)
# gunicorn's default 30 s would stop a sync worker streaming a 100k-site export on a busy machine: both get 300.
GUNICORN_TIMEOUT_S = 300


def start_ours(url: str, workers: int) -> Server:
    port = free_port()
    env = os.environ | {"SCOUTING_DATABASE_URL": url, "SCOUTING_SECRET_KEY": "bench"}
    # Our production configuration (gunicorn.conf.py: gthread workers, THREADS threads each, as `make run`).
    argv = [str(VENV_BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "--workers", str(workers),
            "--threads", str(THREADS), "--timeout", str(GUNICORN_TIMEOUT_S), "--bind", f"127.0.0.1:{port}", "app:app"]
    return start_server("ours", argv, env, port, "/healthz")


def start_peer(url: str, workers: int, tag: str) -> Server:
    from bench.peer import write_config

    port = free_port()
    cfg, openapi = OUT / f"pygeoapi-{tag}.yml", OUT / f"pygeoapi-{tag}-openapi.yml"
    write_config(cfg, port, url, f"bench {tag}")
    env = os.environ | {"PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(openapi),
                        "SPATIALITE_LIBRARY_PATH": "mod_spatialite"}
    subprocess.run([str(PEER_BIN / "pygeoapi"), "openapi", "generate", str(cfg), "--output-file", str(openapi)],
                   env=env, check=True, capture_output=True)
    # The same worker model as ours, and started outside our checkout so gunicorn does not read our gunicorn.conf.py.
    argv = [str(PEER_BIN / "gunicorn"), "--worker-class", "gthread", "--workers", str(workers), "--threads",
            str(THREADS), "--timeout", str(GUNICORN_TIMEOUT_S), "--bind", f"127.0.0.1:{port}", "pygeoapi.flask_app:APP"]
    return start_server("pygeoapi", argv, env, port, "/collections/sites?f=json", cwd=OUT)


# --------------------------------------------------------------------------- measuring

def fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=120) as r:
        return orjson.loads(r.read())


def wrk(url: str, seconds: int, connections: int, tag: str) -> dict:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
            str(BENCH / "wrk_report.lua"), url]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    (OUT / f"wrk-{tag}.txt").write_text(done.stdout + done.stderr)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    stats = json.loads(line)
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    return stats


def profile(server: Server, url: str, seconds: int, connections: int, tag: str) -> list[str]:
    """py-spy on one worker while wrk loads the server: the top frames by own time and by total time."""
    pyspy = str(PEER_BIN / "py-spy") if (PEER_BIN / "py-spy").exists() else (shutil.which("py-spy") or "")
    if not pyspy:
        return ["(py-spy is not installed: no profile)"]
    pids = server.worker_pids()
    if not pids:
        return ["(no worker process found: no profile)"]
    raw = OUT / f"profile-{tag}.txt"
    spy = subprocess.Popen([pyspy, "record", "-p", str(pids[0]), "-d", str(seconds), "-r", "200", "-f", "raw",
                            "-o", str(raw), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wrk(url, seconds, connections, f"{tag}-profiled")
    spy.wait(timeout=seconds + 60)
    return top_frames(raw)


def top_frames(raw: Path, n: int = 8) -> list[str]:
    if not raw.exists():
        return ["(py-spy wrote no profile)"]
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        k = int(count)
        samples += k
        frames = [f for f in stack.split(";") if f]
        if frames:
            own[_frame(frames[-1])] = own.get(_frame(frames[-1]), 0) + k
        for f in {_frame(f) for f in frames if "scouting/" in f or "pygeoapi/" in f}:
            total[f] = total.get(f, 0) + k
    if not samples:
        return ["(no samples)"]
    lines = [f"{samples} samples; own time:"]
    lines += [f"  {100 * v / samples:5.1f}%  {k}" for k, v in sorted(own.items(), key=lambda kv: -kv[1])[:n]]
    lines.append("total time in project frames:")
    lines += [f"  {100 * v / samples:5.1f}%  {k}" for k, v in sorted(total.items(), key=lambda kv: -kv[1])[:n]]
    return lines


def _frame(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "scouting/", "pygeoapi/"):
        if marker in where:
            where = where[where.index(marker):].replace("site-packages/", "")
            break
    return f"{name} ({where})"


def run_timed(job: str, *args: str, python: str = PY) -> dict:
    done = subprocess.run([python, str(BENCH / "timed.py"), job, *args], capture_output=True, text=True, cwd=ROOT)
    (OUT / f"timed-{job}.log").write_text(done.stdout + done.stderr)
    if done.returncode:
        raise RuntimeError(f"{job} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- workloads

def our_filtered_path() -> str:
    bbox = ",".join(map(str, CITY_BBOX))
    return (f"/api/sites?genre={','.join(GENRES_ANY)}&facility={','.join(FACILITIES_ALL)}&bbox={bbox}"
            f"&limit={LIMIT}")


def peer_filtered_path(backend: str) -> str:
    from urllib.parse import quote

    from bench.peer import FACILITY_COLUMNS, GENRE_COLUMNS

    bbox = ",".join(map(str, CITY_BBOX))
    if backend == "postgis":
        genres = " OR ".join(f"{GENRE_COLUMNS[g]} = 1" for g in GENRES_ANY)
        facilities = " AND ".join(f"{FACILITY_COLUMNS[f]} = 1" for f in FACILITIES_ALL)
        cql = quote(f"({genres}) AND {facilities}")
        return f"/collections/sites/items?f=json&bbox={bbox}&limit={LIMIT}&filter-lang=cql-text&filter={cql}"
    props = "&".join(f"{c}=1" for c in [GENRE_COLUMNS[GENRES_ANY[0]], *(FACILITY_COLUMNS[f] for f in FACILITIES_ALL)])
    return f"/collections/sites/items?f=json&bbox={bbox}&limit={LIMIT}&{props}"


def our_radius_path() -> str:
    return f"/api/sites?near={NEAR[0]},{NEAR[1]}&radius_km={RADIUS_KM}&limit={LIMIT}"


def peer_radius_path() -> str:
    from scouting.search import _radius_box

    box = ",".join(f"{v:.6f}" for v in _radius_box(*NEAR, RADIUS_KM * 1000))
    return f"/collections/sites/items?f=json&bbox={box}&limit={LIMIT}"


@dataclass
class HttpResult:
    backend: str
    sites: int
    workload: str
    ours: dict
    peer: dict
    ours_answer: dict
    peer_answer: dict
    profile: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.ours["rps"] / self.peer["rps"] if self.peer["rps"] else float("inf")


def combine(rounds: list[dict]) -> dict:
    """Several wrk rounds as one figure: requests over total time; the median round's latency percentiles."""
    import statistics

    out = {"requests": sum(r["requests"] for r in rounds), "rounds": len(rounds)}
    out["rps"] = out["requests"] / (sum(r["duration_us"] for r in rounds) / 1e6)
    for key in ("p50_us", "p90_us", "p95_us", "p99_us"):
        out[key] = statistics.median(r[key] for r in rounds)
    for key in ("non_2xx", "socket_errors"):
        out[key] = sum(r[key] for r in rounds)
    out["round_rps"] = [round(r["rps"], 1) for r in rounds]
    return out


def http_workloads(backend: str, sites: int, url: str, mode: dict, workers: int) -> list[HttpResult]:
    """Both servers up (an idle one costs nothing); rounds alternate ours, peer, ours, ... so that the load of
    the shared machine falls on both alike."""
    tag = f"{backend}-{sites}"
    paths = {"filtered": (our_filtered_path(), peer_filtered_path(backend)),
             "radius": (our_radius_path(), peer_radius_path())}
    ours = start_ours(url, workers)
    try:
        peer = start_peer(url, workers, tag)
    except Exception:
        ours.stop()
        raise
    servers = {"ours": ours, "peer": peer}
    results = []
    try:
        for workload, (our_path, peer_path) in paths.items():
            urls = {"ours": f"http://127.0.0.1:{ours.port}{our_path}", "peer": f"http://127.0.0.1:{peer.port}{peer_path}"}
            answers, rounds = {}, {"ours": [], "peer": []}
            for side, full in urls.items():
                body = fetch_json(full)
                (OUT / f"answer-{side}-{workload}-{tag}.json").write_bytes(orjson.dumps(body))
                answers[side] = {"path": our_path if side == "ours" else peer_path,
                                 "returned": len(body.get("features", [])), "matched": body.get("numberMatched")}
                wrk(full, 2, mode["connections"], f"{side}-{workload}-{tag}-warmup")
            for n in range(mode["rounds"]):
                for side, full in urls.items():
                    rounds[side].append(wrk(full, mode["round_s"], mode["connections"], f"{side}-{workload}-{tag}-{n}"))
            result = HttpResult(backend, sites, workload, combine(rounds["ours"]), combine(rounds["peer"]),
                                answers["ours"], answers["peer"])
            log(f"{tag} {workload}: ours {result.ours['rps']:.0f} req/s (p95 {result.ours['p95_us'] / 1000:.1f} ms), "
                f"pygeoapi {result.peer['rps']:.0f} req/s (p95 {result.peer['p95_us'] / 1000:.1f} ms): "
                f"{result.ratio:.1f}x")
            if not http_met(result):
                log(f"{tag} {workload}: target not met, profiling ours")
                result.profile = profile(ours, urls["ours"], mode["round_s"] * 2, mode["connections"],
                                         f"ours-{workload}-{tag}")
            results.append(result)
        _export_over_http(ours, tag)
    finally:
        for server in servers.values():
            server.stop()
    return results


EXPORT_HTTP: dict[str, dict] = {}


def _export_over_http(server: Server, tag: str) -> None:
    """GET /api/sites/export of every site from a separate client (curl): time to the last byte, size, worker peak."""
    url = f"http://127.0.0.1:{server.port}/api/sites/export?format=geojson"
    done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{size_download} %{http_code}", url],
                          capture_output=True, text=True)
    seconds, size, status = done.stdout.split()
    if done.returncode:
        log(f"{tag} HTTP export: curl failed (exit {done.returncode}) after {seconds} s")
        status = f"curl exit {done.returncode}"
    peaks = []
    for pid in server.worker_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    EXPORT_HTTP[tag] = {"seconds": float(seconds), "bytes": int(size), "status": status,
                        "worker_peak_mb": max(peaks) if peaks else None}
    log(f"{tag} HTTP export: {float(seconds):.1f} s, {int(size) / 1e6:.0f} MB")


def http_met(r: HttpResult) -> bool:
    ok = r.ratio >= 3
    if r.workload == "filtered" and r.sites >= 100_000:
        ok = ok and r.ours["p95_us"] <= 25_000
    return ok


def export_workload(sizes: tuple[int, int], reuse: bool) -> list[dict]:
    rows = []
    for n in sizes:
        url = database_url("spatialite", n, None)
        build_database(url, n, reuse)
        ours_file, gdal_file = OUT / f"export-ours-{n}.geojson", OUT / f"export-gdal-{n}.geojson"
        log(f"export {n}: ours")
        ours = run_timed("export-ours", url, str(ours_file))
        log(f"export {n}: GDAL")
        gdal = run_timed("export-gdal", str(ours_file), str(gdal_file))
        rows.append({"sites": n, "ours": ours, "gdal": gdal})
        log(f"export {n}: ours {ours['seconds']:.2f} s (+{ours['growth_mb']:.0f} MB), "
            f"GDAL {gdal['seconds']:.2f} s (+{gdal['growth_mb']:.0f} MB)")
    return rows


def write_import_file(url: str, path: Path) -> int:
    """A planner-style GeoJSON of the synthetic sites (names, tags, elevation, seasons, position provenance)."""
    engine = make_engine(url)
    tags: dict[int, dict[str, list[str]]] = {}
    with engine.connect() as conn:
        for site_id, vocabulary, term in conn.execute(text("SELECT site_id, vocabulary, term FROM site_tags")):
            tags.setdefault(site_id, {}).setdefault(vocabulary, []).append(term)
        rows = conn.execute(text(
            "SELECT id, name_zh, name_en, elevation_m, best_seasons, coord_accuracy_m, position_method, coord_source, "
            "ST_X(geom), ST_Y(geom) FROM sites ORDER BY id")).all()
    engine.dispose()
    with path.open("wb") as f:
        f.write(b'{"type":"FeatureCollection","features":[\n')
        for n, (site_id, zh, en, elev, seasons, acc, method, source, x, y) in enumerate(rows):
            t = tags.get(site_id, {})
            props = {"name_zh": zh, "name_en": en, "genres": t.get("genre", []), "terrain": t.get("terrain", []),
                     "facilities": t.get("facility", []), "elevation_m": elev,
                     "best_seasons": json.loads(seasons) if isinstance(seasons, str) else seasons,
                     "coord_accuracy_m": acc, "position_method": method, "coord_source": source}
            feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": props}
            f.write((b",\n" if n else b"") + orjson.dumps(feature))
        f.write(b"\n]}\n")
    return len(rows)


def import_workload(n: int, reuse: bool) -> dict:
    from scouting.geodata import load_geodata

    src_url = database_url("spatialite", n, None)
    build_database(src_url, n, reuse)
    src = OUT / f"import-{n}.geojson"
    count = write_import_file(src_url, src)
    # Ours: a migrated SpatiaLite database with the real seed (bases, boundary), as a planner would have it.
    target = f"sqlite:///{OUT / 'data' / f'import-target-{n}.sqlite'}"
    fresh_database(target)
    engine = make_engine(target)
    migrate.upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        load_geodata(session)
    engine.dispose()
    log(f"import {count}: ours")
    ours = run_timed("import-ours", str(src), target)
    gdal_target = OUT / "data" / f"import-gdal-{n}.sqlite"
    gdal_target.unlink(missing_ok=True)
    log(f"import {count}: ogr2ogr")
    t0 = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "SQLite", "-dsco", "SPATIALITE=YES", "-nln", "sites", str(gdal_target), str(src)],
                   check=True, capture_output=True)
    gdal_s = time.perf_counter() - t0
    log(f"import {count}: ours {ours['seconds']:.1f} s, ogr2ogr {gdal_s:.1f} s")
    return {"rows": count, "ours": ours, "gdal_s": gdal_s, "bytes": src.stat().st_size}


def map_view(sites: int, url: str) -> str | None:
    script = BENCH / "map_view.py"
    if not script.exists():
        return None
    done = subprocess.run([PY, str(script), "--sites", str(sites), "--db", url], capture_output=True, text=True,
                          cwd=ROOT)
    (OUT / "map_view.log").write_text(done.stdout + done.stderr)
    if done.returncode:
        return f"bench/map_view.py failed (exit {done.returncode}); see bench/out/map_view.log:\n\n```\n" \
               f"{done.stderr[-1500:]}\n```\n"
    return done.stdout


# --------------------------------------------------------------------------- report

def machine_facts() -> list[str]:
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    load = os.getloadavg()

    def version(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not found"

    peer_version = version([str(PEER_BIN / "python"), "-c", "import pygeoapi; print(pygeoapi.__version__)"])
    import pyogrio
    import sqlalchemy
    return [
        f"- CPU: {os.cpu_count()} cores ({cpu}); RAM {mem_kb / 1024 / 1024:.1f} GiB; load average at start "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
        "- The machine is shared with other agents' work (builds, test suites): absolute figures move with their "
        "load; ours and the peer run back to back in the same run, so the ratios are the figures to read.",
        f"- Python {platform.python_version()} (ours), SQLAlchemy {sqlalchemy.__version__}, "
        f"pyogrio {pyogrio.__version__} with GDAL {pyogrio.__gdal_version_string__}",
        f"- pygeoapi {peer_version} (PyPI, in bench/.peer-venv on Debian's Python), {version(['wrk', '-v'])}",
        f"- {version(['ogr2ogr', '--version'])}; "
        f"{version(['psql', '--version'])}",
    ]


def fmt_ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report(args, mode_name: str, mode: dict, builds: dict, http: list[HttpResult], exports: list[dict],
           imported: dict | None, maps: str | None, started: float) -> str:
    lines = [
        "# Benchmarks (issue #6)", "",
        f"Written by `make bench{' QUICK=1' if mode_name == 'quick' else ''}` (`bench/run.py`) on "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; mode **{mode_name}**; the run took "
        f"{(time.time() - started) / 60:.1f} min. Raw output: `bench/out/` (not committed).", "",
        "## Machine", "", *machine_facts(), "",
        "## Data", "",
        "Synthetic sites from `scouting.synth` (seed 1) spread over Zhejiang, each in a fresh database of its own; "
        "the peer reads `peer_sites`, a flattened copy of the same sites made by `bench/peer.py` "
        "(tags as 0/1 columns, same points, with a spatial index).", "",
        "| database, sites | synth (`scouting.synth.synthesize`) | peer table |", "|---|---:|---:|",
    ]
    for key, b in builds.items():
        if b.get("reused"):
            lines.append(f"| {key} | (reused from an earlier run) | |")
        else:
            lines.append(f"| {key} | {b['synth_s']:.1f} s | {b['peer_table_s']:.1f} s |")
    if SKIPPED:
        lines += ["", "Not in this run: " + "; ".join(SKIPPED) + "."]
    lines += ["", "## HTTP queries: ours vs pygeoapi", "",
              f"Both under gunicorn with {args.workers} gthread workers of {THREADS} threads, both up at once; wrk (1 thread, "
              f"{mode['connections']} connections) runs {mode['rounds']} rounds of {mode['round_s']} s per side, "
              "alternating ours and pygeoapi, after a 2 s warm-up each; req/s = all requests over all rounds' time, "
              "latency (ms) = the median round's percentile.", "",
              "What each side computes:", "",
              f"- **filtered**, ours: `{our_filtered_path()}` — genre any of {', '.join(GENRES_ANY)}, facilities "
              f"all of {', '.join(FACILITIES_ALL)}, the box, count of all matches, first {LIMIT} by id, full "
              "properties with tags and base.",
              "- **filtered**, pygeoapi on PostGIS: the same box with a CQL filter on the flattened columns that "
              "is the same logic (`(g_wuxia = 1 OR g_costume = 1) AND f_parking = 1 AND f_toilets = 1`); it counts "
              "the matches too.",
              f"- **filtered**, pygeoapi on SpatiaLite: its SQLite provider takes only `property=value` filters "
              f"(ANDed) and a box, so it gets one genre (`g_{GENRES_ANY[0]}=1`) plus the two facilities: a subset "
              "of our query (no count: that provider never counts).",
              f"- **radius**, ours: `{our_radius_path()}` — geodesic distance on the WGS-84 ellipsoid, within "
              f"{RADIUS_KM} km, nearest first, with `distance_m`.",
              f"- **radius**, pygeoapi: the bounding box of that circle (`{peer_radius_path()}`), unordered — "
              "less work than ours (no distance, no sort).", "",
              "| database | sites | workload | ours req/s | peer req/s | ratio | ours p50 / p95 / p99 | "
              "peer p50 / p95 / p99 | returned (matched) ours · peer | target | |",
              "|---|---:|---|---:|---:|---:|---|---|---|---|---|"]
    for r in http:
        target = "≥ 3×" + (", p95 ≤ 25 ms" if r.workload == "filtered" and r.sites >= 100_000 else "")
        if r.workload == "filtered" and r.sites < 100_000:
            target += " (p95 target is at 100k)"
        o, p = r.ours, r.peer
        errors = ""
        if o["non_2xx"] or o["socket_errors"] or p["non_2xx"] or p["socket_errors"]:
            errors = f" (errors: ours {o['non_2xx'] + o['socket_errors']}, peer {p['non_2xx'] + p['socket_errors']})"
        lines.append(
            f"| {r.backend} | {r.sites:,} | {r.workload} | {o['rps']:.0f} | {p['rps']:.0f} | **{r.ratio:.1f}×** | "
            f"{fmt_ms(o['p50_us'])} / {fmt_ms(o['p95_us'])} / {fmt_ms(o['p99_us'])} | "
            f"{fmt_ms(p['p50_us'])} / {fmt_ms(p['p95_us'])} / {fmt_ms(p['p99_us'])} | "
            f"{r.ours_answer['returned']} ({r.ours_answer['matched']}) · {r.peer_answer['returned']} "
            f"({r.peer_answer['matched'] if r.peer_answer['matched'] is not None else '–'}) | {target} | "
            f"{verdict(http_met(r))}{errors} |")
    for r in http:
        if r.profile:
            lines += ["", f"Profile of ours, {r.workload} on {r.backend} {r.sites:,} (py-spy, one worker under load):",
                      "", "```", *r.profile, "```"]
    if EXPORT_HTTP:
        lines += ["", "Our export endpoint over HTTP (`GET /api/sites/export?format=geojson`, every site, curl in "
                  "its own process; worker peak = the largest gunicorn worker's peak RSS after it):", "",
                  "| database | status | seconds | MB sent | worker peak RSS |", "|---|---|---:|---:|---:|"]
        for tag, e in EXPORT_HTTP.items():
            lines.append(f"| {tag} | {e['status']} | {e['seconds']:.1f} | {e['bytes'] / 1e6:.0f} | "
                         f"{e['worker_peak_mb'] or 0:.0f} MB |")
    if exports:
        small, large = exports[0], exports[-1]
        growth = large["ours"]["growth_mb"] - small["ours"]["growth_mb"]
        flat = growth < 20
        lines += ["", "## GeoJSON export: ours vs GDAL (pyogrio)", "",
                  "Ours: `flask --app app export --format geojson -o FILE` (the CLI command, run in-process so "
                  "start-up is not counted): reads the sites from SpatiaLite a page at a time and streams. "
                  "GDAL: `pyogrio.write_dataframe(gdf, FILE, driver='GeoJSON')` of a GeoDataFrame holding the same "
                  "features and properties (read from our file beforehand, not timed). Memory: the process's peak "
                  "resident set during the work minus its resident set before it.", "",
                  "| sites | ours s | GDAL s | speed ours/GDAL | ours memory growth | GDAL memory growth "
                  "(plus the frame it writes from) | MB written ours · GDAL |",
                  "|---:|---:|---:|---:|---:|---:|---|"]
        for e in exports:
            o, g = e["ours"], e["gdal"]
            lines.append(f"| {e['sites']:,} | {o['seconds']:.2f} | {g['seconds']:.2f} | "
                         f"**{g['seconds'] / o['seconds']:.2f}×** | {o['growth_mb']:.0f} MB | {g['growth_mb']:.0f} MB |"
                         f" {o['bytes'] / 1e6:.0f} · {g['bytes'] / 1e6:.0f} |")
        speed = large["gdal"]["seconds"] / large["ours"]["seconds"]
        lines += ["", f"Target ≥ 1.0× GDAL's speed at {large['sites']:,}: {speed:.2f}× {verdict(speed >= 1.0)}. "
                  f"Flat memory: ours grows {small['ours']['growth_mb']:.0f} MB at {small['sites']:,} and "
                  f"{large['ours']['growth_mb']:.0f} MB at {large['sites']:,} sites {verdict(flat)}."]
    if imported:
        o = imported["ours"]
        ratio = o["seconds"] / imported["gdal_s"]
        lines += ["", "## Bulk import with validation: ours vs GDAL", "",
                  f"The same GeoJSON ({imported['rows']:,} features, {imported['bytes'] / 1e6:.0f} MB: names, tags, "
                  "elevation, seasons, position provenance). Ours: `flask --app app import FILE --commit "
                  "--confirm-outside` into a migrated SpatiaLite database with the seed geodata — every row mapped, "
                  "validated, checked for duplicates and slugs, written with its revision, in one transaction. "
                  "GDAL: `ogr2ogr -f SQLite -dsco SPATIALITE=YES` into a new SpatiaLite file (no validation).", "",
                  "| rows | ours s | ogr2ogr s | ours/GDAL time | target | |", "|---:|---:|---:|---:|---|---|",
                  f"| {imported['rows']:,} | {o['seconds']:.1f} | {imported['gdal_s']:.1f} | **{ratio:.2f}×** | "
                  f"≤ 2× | {verdict(ratio <= 2)} |", "", f"Our command's last lines: `{' / '.join(o['output'])}`"]
    analysis = BENCH / "analysis.md"  # the hand-written reading of a run: what falls short, why, what would close it
    if analysis.exists():
        lines += ["", analysis.read_text(encoding="utf-8").strip()]
    lines += ["", "## Map first view", ""]
    if maps:
        lines.append(maps.strip())
    else:
        lines.append("`bench/map_view.py` (the map-clustering work) is not in this tree yet: when it is, `make bench` "
                     "runs `python bench/map_view.py --sites N --db URL` and puts its section here.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller data, shorter runs (under 5 minutes)")
    parser.add_argument("--reuse", action="store_true", help="reuse benchmark databases that already hold the data")
    parser.add_argument("--postgis-url", help="server to create the PostGIS databases on (default: "
                                              "SCOUTING_TEST_POSTGIS_URL, else scripts/postgis.sh)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", 2)))
    parser.add_argument("--only", choices=("http", "export", "import", "map"), action="append")
    parser.add_argument("--max-sites", type=int, help="leave out databases larger than this (e.g. the 1M one)")
    parser.add_argument("--results", default=str(BENCH / "RESULTS.md"))
    args = parser.parse_args()
    mode_name = "quick" if args.quick else "full"
    mode = MODES[mode_name]
    only = set(args.only or ("http", "export", "import", "map"))
    started = time.time()
    (OUT / "data").mkdir(parents=True, exist_ok=True)
    for tool in ("wrk", "ogr2ogr", "curl"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: run `make bench-deps` (Debian packages wrk, gdal-bin, curl)")
    if not (PEER_BIN / "pygeoapi").exists():
        raise SystemExit("pygeoapi is missing: run `make bench-peer` (bench/.peer-venv)")
    pg_base = postgis_base_url(args.postgis_url)

    builds: dict[str, dict] = {}
    http: list[HttpResult] = []
    maps = None
    if "http" in only or "map" in only:
        for backend, n in mode["http"]:
            if args.max_sites and n > args.max_sites:
                log(f"{backend} {n}: left out (--max-sites {args.max_sites})")
                SKIPPED.append(f"{backend} with {n:,} sites (left out of this run with --max-sites {args.max_sites})")
                continue
            if backend == "postgis" and not pg_base:
                log("no PostGIS server (set SCOUTING_TEST_POSTGIS_URL): PostGIS workloads skipped")
                SKIPPED.append(f"PostGIS with {n:,} sites (no PostGIS server: set SCOUTING_TEST_POSTGIS_URL)")
                continue
            url = database_url(backend, n, pg_base)
            builds[f"{backend} {n:,}"] = build_database(url, n, args.reuse)
            if "http" in only:
                http += http_workloads(backend, n, url, mode, args.workers)
    exports = export_workload(mode["export"], args.reuse) if "export" in only else []
    imported = import_workload(mode["import"], args.reuse) if "import" in only else None
    if "map" in only:
        n = max(n for b, n in mode["http"] if b == "spatialite")
        maps = map_view(n, database_url("spatialite", n, None))
    text_out = report(args, mode_name, mode, builds, http, exports, imported, maps, started)
    Path(args.results).write_text(text_out, encoding="utf-8")
    log(f"wrote {args.results}")


if __name__ == "__main__":
    main()
