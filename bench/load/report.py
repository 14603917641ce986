"""bench/load.sh's figures.

`collect`: wrk's output (the LOAD-RESULT line that mix.lua's done() prints) and what the server's log holds
("database is locked", tracebacks, worker timeouts, the slowest requests) into one JSON per database.
`report`: prints the figures, writes the Markdown report (bench/LOAD.md unless --report is empty), and exits 1
when a run failed: a 5xx, a 4xx other than a PATCH's lost If-Match race (412) or a new pack over the rate
limit (429), a socket error, a timeout, or
any of those in the server's log.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
        "| database | requests | requests/s | p50 ms | p95 ms | p99 ms | max ms | 412 (lost race) | 429 (pack limit) "
        "| failed | socket errors + timeouts | log: locked / tracebacks | load avg before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        lat, e, o, log = r["latency_us"], r["errors"], r["outcomes"], r["log"]
        sockets = e["connect"] + e["read"] + e["write"] + e["timeout"]
        lines.append(
            f"| {LABELS.get(r['database'], r['database'])} | {r['requests']} | {rate(r):.1f} | {ms(lat['p50'])} "
            f"| {ms(lat['p95'])} | {ms(lat['p99'])} | {ms(lat['max'])} | {o['conflict']} | {o.get('limited', 0)} "
            f"| {o['server_error'] + o['client_error']} | {sockets} | {log['database_is_locked']} / {log['tracebacks']} "
            f"| {r['loadavg_before']} → {r['loadavg_after']} |")
    lines += ["", "Answers by kind of request (ok = 2xx/3xx; 412 and 429 are the expected refusals):", "",
              "| kind | request | " + " | ".join(f"{LABELS.get(r['database'], r['database'])} ok / 412 / 429 / failed"
                                                 for r in results) + " |",
              "|---|---|" + "---:|" * len(results)]
    kinds = sorted({k for r in results for k in r["kinds"]}, key=lambda k: list(KIND_NOTES).index(k)
                   if k in KIND_NOTES else 99)
    for kind in kinds:
        cells = []
        for r in results:
            c = r["kinds"].get(kind, {"ok": 0, "conflict": 0, "limited": 0, "client_error": 0, "server_error": 0})
            cells.append(f"{c['ok']} / {c['conflict']} / {c.get('limited', 0)} / {c['client_error'] + c['server_error']}")
        lines.append(f"| {kind} | {KIND_NOTES.get(kind, '')} | " + " | ".join(cells) + " |")
    lines += ["", "Status codes: " + "; ".join(
        f"{LABELS.get(r['database'], r['database'])}: " + ", ".join(f"{s} × {n}" for s, n in sorted(r["statuses"].items()))
        for r in results), ""]
    lines += ["Slowest requests in the server log (time spent in gunicorn, without the wait for a free thread):", ""]
    for r in results:
        slow = ", ".join(f"`{x['request']}` {x['ms']} ms" for x in r.get("slowest", []))
        lines.append(f"- {LABELS.get(r['database'], r['database'])}: {slow or 'none logged'}")
    lines.append("")
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


# An access log line (gunicorn.conf.py's format) ends with the time the server spent on the request.
TIMED_LINE = re.compile(r'"([A-Z]+ \S+) HTTP/[^"]*" (\d{3}) .* (\d+)ms$', re.M)


def collect(args) -> int:
    marker = "LOAD-RESULT "
    lines = [line for line in args.wrk_output.read_text().splitlines() if line.startswith(marker)]
    if not lines:
        raise SystemExit(f"{args.wrk_output} holds no {marker.strip()} line: wrk or mix.lua failed")
    result = json.loads(lines[-1][len(marker):])
    log = args.server_log.read_text(encoding="utf-8", errors="replace")
    result["log"] = {
        "database_is_locked": log.count("database is locked"),
        "tracebacks": log.count("Traceback (most recent call last)"),
        "worker_timeouts": log.count("WORKER TIMEOUT"),
    }
    timed = sorted(TIMED_LINE.findall(log), key=lambda hit: -int(hit[2]))
    result["slowest"] = [{"request": req, "status": int(status), "ms": int(ms)} for req, status, ms in timed[:5]]
    result.update(database=args.database, loadavg_before=args.loadavg_before, loadavg_after=args.loadavg_after)
    args.out.write_text(json.dumps(result, indent=1))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    gather = commands.add_parser("collect")
    gather.add_argument("--wrk-output", type=Path, required=True)
    gather.add_argument("--server-log", type=Path, required=True)
    gather.add_argument("--database", required=True)
    gather.add_argument("--loadavg-before", required=True)
    gather.add_argument("--loadavg-after", required=True)
    gather.add_argument("--out", type=Path, required=True)
    parser_report = commands.add_parser("report")
    parser_report.add_argument("results", nargs="+", type=Path)
    parser_report.add_argument("--duration", required=True)
    parser_report.add_argument("--connections", required=True)
    parser_report.add_argument("--workers", required=True)
    parser_report.add_argument("--timeout", required=True)
    parser_report.add_argument("--report", default="")
    parser_report.add_argument("--commit", default="unknown")
    parser_report.add_argument("--note", default=os.environ.get("LOAD_NOTE", ""))
    args = parser.parse_args()
    if args.command == "collect":
        return collect(args)
    results = [json.loads(p.read_text()) for p in args.results]
    text = markdown(results, args)
    print(text)
    if args.report:
        Path(args.report).write_text(text, encoding="utf-8")
        print(f"written to {args.report}")
    return 1 if any(failures(r) for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
