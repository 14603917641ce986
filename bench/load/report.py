"""Turn bench/load.sh's raw results (one JSON per database, from mix.lua's done()) into figures.

Prints a summary, writes the Markdown report (bench/LOAD.md unless --report is empty), and exits 1 when
a run failed: a 5xx, a 4xx other than a PATCH's lost If-Match race (412), a socket error, a timeout, or
"database is locked" / a traceback / a worker timeout in the server's log.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

KIND_NOTES = {
    "map_page": "GET / (the director's map page)",
    "sites_filter": "GET /api/sites with genre/terrain/facility/elevation/text filters",
    "sites_bbox": "GET /api/sites?bbox=",
    "sites_near": "GET /api/sites?near=&radius_km=",
    "facets": "GET /api/sites/facets with filters",
    "details": "GET /api/sites/<id>/details?date=",
    "bases": "GET /api/bases",
    "vocabulary": "GET /api/vocabulary",
    "ogc_items": "GET /ogc/collections/sites/items?bbox=",
    "ogc_item": "GET /ogc/collections/sites/items/<id>",
    "export": "GET /api/sites/export?format=geojson|kml|csv|gpx with filters",
    "export_gpkg": "GET /api/sites/export?format=gpkg",
    "pack_create": "POST /api/packs",
    "pack_read": "GET /api/packs/<id>",
    "site_get": "GET /api/sites/<id> (a planner reads the ETag)",
    "site_patch": "PATCH /api/sites/<id> with Bearer token and If-Match",
}
LABELS = {"spatialite": "SpatiaLite", "postgis": "PostGIS"}


def failures(r: dict) -> list[str]:
    e, o, log = r["errors"], r["outcomes"], r["log"]
    problems = []
    for name in ("connect", "read", "write", "timeout"):
        if e[name]:
            problems.append(f"{e[name]} socket {name} error(s)" if name != "timeout" else f"{e[name]} timeout(s)")
    if o["server_error"]:
        problems.append(f"{o['server_error']} 5xx answer(s)")
    if o["client_error"]:
        problems.append(f"{o['client_error']} unexpected 4xx answer(s)")
    if log["database_is_locked"]:
        problems.append(f'{log["database_is_locked"]} "database is locked" in the server log')
    if log["tracebacks"]:
        problems.append(f"{log['tracebacks']} traceback(s) in the server log")
    if log["worker_timeouts"]:
        problems.append(f"{log['worker_timeouts']} gunicorn worker timeout(s)")
    if not r["requests"]:
        problems.append("no request was answered")
    return problems


def ms(us: float) -> str:
    return f"{us / 1000:.0f}" if us >= 10_000 else f"{us / 1000:.1f}"


def rate(r: dict) -> float:
    return r["requests"] / (r["duration_us"] / 1e6)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


def markdown(results: list[dict], args) -> str:
    lines = [
        "# Load test figures",
        "",
        f"Written by `bench/load.sh` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {args.commit}.",
        "",
        f"- Load: wrk, {args.connections} connections (one per wrk thread) for {args.duration}, on loopback, "
        f"timeout {args.timeout}; the request mix of `bench/load/mix.lua`.",
        f"- Server: `make run` (gunicorn gthread workers, `WORKERS={args.workers}`, "
        f"`THREADS={os.environ.get('THREADS', '4')}`, a database pool of one connection per thread; see the Makefile "
        "and gunicorn.conf.py), on a new database seeded from geodata/ (35 sites).",
        f"- Machine: {machine()}; wrk, the server and (for PostGIS) PostgreSQL share it.",
        "",
        "| database | requests | requests/s | p50 ms | p95 ms | p99 ms | max ms | 412 (lost race) "
        "| failed | socket errors + timeouts | log: locked / tracebacks | load avg before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        lat, e, o, log = r["latency_us"], r["errors"], r["outcomes"], r["log"]
        sockets = e["connect"] + e["read"] + e["write"] + e["timeout"]
        lines.append(
            f"| {LABELS.get(r['database'], r['database'])} | {r['requests']} | {rate(r):.1f} | {ms(lat['p50'])} "
            f"| {ms(lat['p95'])} | {ms(lat['p99'])} | {ms(lat['max'])} | {o['conflict']} "
            f"| {o['server_error'] + o['client_error']} | {sockets} | {log['database_is_locked']} / {log['tracebacks']} "
            f"| {r['loadavg_before']} → {r['loadavg_after']} |")
    lines += ["", "Answers by kind of request (ok = 2xx/3xx):", "",
              "| kind | request | " + " | ".join(f"{LABELS.get(r['database'], r['database'])} ok / 412 / failed"
                                                 for r in results) + " |",
              "|---|---|" + "---:|" * len(results)]
    kinds = sorted({k for r in results for k in r["kinds"]}, key=lambda k: list(KIND_NOTES).index(k)
                   if k in KIND_NOTES else 99)
    for kind in kinds:
        cells = []
        for r in results:
            c = r["kinds"].get(kind, {"ok": 0, "conflict": 0, "client_error": 0, "server_error": 0})
            cells.append(f"{c['ok']} / {c['conflict']} / {c['client_error'] + c['server_error']}")
        lines.append(f"| {kind} | {KIND_NOTES.get(kind, '')} | " + " | ".join(cells) + " |")
    lines += ["", "Status codes: " + "; ".join(
        f"{LABELS.get(r['database'], r['database'])}: " + ", ".join(f"{s} × {n}" for s, n in sorted(r["statuses"].items()))
        for r in results), ""]
    verdicts = [(r, failures(r)) for r in results]
    if all(not p for _, p in verdicts):
        lines.append("Result: **passed** — no 5xx, no unexpected 4xx, no socket error or timeout, and no "
                     "\"database is locked\" or traceback in the server logs.")
    else:
        for r, p in verdicts:
            if p:
                lines.append(f"Result on {LABELS.get(r['database'], r['database'])}: **failed** — {'; '.join(p)}.")
    busiest = max(float(r["loadavg_before"].split()[0]) for r in results)
    if busiest > 1.0:
        lines += ["", f"The machine was not idle: other jobs were running (1-minute load average up to {busiest:.1f} "
                      f"before a run, on {os.cpu_count()} cores), so these figures are lower than the same "
                      "machine would give on its own."]
    if args.note:
        lines += ["", args.note]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--duration", required=True)
    parser.add_argument("--connections", required=True)
    parser.add_argument("--workers", required=True)
    parser.add_argument("--timeout", required=True)
    parser.add_argument("--report", default="")
    parser.add_argument("--commit", default="unknown")
    parser.add_argument("--note", default=os.environ.get("LOAD_NOTE", ""))
    args = parser.parse_args()
    results = [json.loads(p.read_text()) for p in args.results]
    text = markdown(results, args)
    print(text)
    if args.report:
        Path(args.report).write_text(text, encoding="utf-8")
        print(f"written to {args.report}")
    return 1 if any(failures(r) for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
