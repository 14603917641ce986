"""One timed job in a process of its own, for bench/run.py: prints one JSON line.

    python bench/timed.py export-ours DB_URL OUT.geojson    # `flask --app app export` (the CLI command, in-process)
    python bench/timed.py export-gdal IN.geojson OUT.geojson  # pyogrio.write_dataframe of the same features
    python bench/timed.py import-ours FILE DB_URL            # `flask --app app import FILE --commit`

Each side is timed around its own work only (start-up and imports excluded on both sides), and its memory
is the process's peak resident set (VmHWM) during that work, after resetting the peak where Linux allows.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Meter:
    def __enter__(self):
        self.rss_before_mb = _status_kb("VmRSS") / 1024
        self.reset = _reset_peak()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.peak_mb = _status_kb("VmHWM") / 1024
        return False

    def as_json(self) -> dict:
        return {"seconds": round(self.seconds, 3), "rss_before_mb": round(self.rss_before_mb, 1),
                "peak_mb": round(self.peak_mb, 1), "growth_mb": round(self.peak_mb - self.rss_before_mb, 1),
                "peak_reset": self.reset}


def _app(db_url: str, **config):
    from scouting import create_app

    instance = tempfile.mkdtemp(prefix="scout-bench-")
    return create_app({"DATABASE_URL": db_url, "SECRET_KEY": "bench", **config}, instance_path=instance)


def export_ours(db_url: str, out: str) -> dict:
    import scouting.formats.export  # noqa: F401  (imports are start-up, not export work)
    import scouting.search  # noqa: F401

    app = _app(db_url)
    runner = app.test_cli_runner()
    with app.app_context():
        app.extensions["scouting"]["engine"].connect().close()
    with Meter() as m:
        result = runner.invoke(args=["export", "--format", "geojson", "-o", out])
    if result.exit_code:
        raise SystemExit(f"export failed: {result.output}\n{result.exception!r}")
    return m.as_json() | {"bytes": Path(out).stat().st_size}


def export_gdal(src: str, out: str) -> dict:
    import pyogrio

    gdf = pyogrio.read_dataframe(src)  # the same features and properties as our export, in memory
    with Meter() as m:
        pyogrio.write_dataframe(gdf, out, driver="GeoJSON")
    return m.as_json() | {"bytes": Path(out).stat().st_size, "features": len(gdf),
                          "gdal": pyogrio.__gdal_version_string__, "pyogrio": pyogrio.__version__}


def import_ours(src: str, db_url: str) -> dict:
    import scouting.imports  # noqa: F401

    big = 1 << 40
    app = _app(db_url, IMPORT_MAX_ROWS=10_000_000, IMPORT_MAX_BYTES=big, IMPORT_MAX_UNZIPPED_BYTES=big)
    runner = app.test_cli_runner()
    with Meter() as m:
        result = runner.invoke(args=["import", src, "--commit", "--confirm-outside", "--actor", "bench"])
    tail = result.output.strip().splitlines()[-3:]
    if result.exit_code:
        raise SystemExit(f"import failed: {tail}\n{result.exception!r}")
    return m.as_json() | {"output": tail}


if __name__ == "__main__":
    jobs = {"export-ours": export_ours, "export-gdal": export_gdal, "import-ours": import_ours}
    job, *args = sys.argv[1:]
    os.environ.setdefault("PYTHONHASHSEED", "0")
    print(json.dumps(jobs[job](*args)))
