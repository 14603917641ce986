"""Configuration: defaults, then SCOUTING_* environment variables, then explicit overrides (tests)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

DEFAULTS = {
    # None means: a SpatiaLite file in the instance folder.  postgresql+psycopg://... selects PostGIS.
    "DATABASE_URL": None,
    # None means: generated once and kept in the instance folder.
    "SECRET_KEY": None,
    # Where mod_spatialite is looked up; the bare name lets the dynamic loader search its usual paths.
    "SPATIALITE_LIBRARY": os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite"),
    "TIANDITU_KEY": None,
    # Database connections kept per process; gunicorn.conf.py sets it to the threads of a worker.
    "DB_POOL_SIZE": 5,
    # The largest request body of any kind; photos and imports have their own, smaller limits.
    "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
    # Cookies: never readable by scripts, not sent on cross-site requests.
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Rate-limit counters: memory:// counts per process; redis://HOST:PORT shares them between gunicorn workers.
    "RATELIMIT_STORAGE_URI": "memory://",
    # The number of reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (0: none).
    "PROXY_FIX": 0,
    "JSON_AS_ASCII": False,
    # Temporary files of uploads and imports; None means <instance>/tmp.  Swept of what a crash left behind.
    "TEMP_DIR": None,
    # The sweep removes temporary and partial files older than this, and checks at most this often.
    "SWEEP_AFTER_SECONDS": 900,
    "SWEEP_INTERVAL_SECONDS": 600,
}


def configure(app: Flask, overrides: dict | None = None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("SCOUTING")
    if overrides:
        app.config.from_mapping(overrides)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "scouting.sqlite")
    if not app.config["TEMP_DIR"]:
        app.config["TEMP_DIR"] = str(Path(app.instance_path) / "tmp")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")


def _instance_secret(path: Path) -> str:
    """Read the instance's secret key, creating it (readable by this user only) on first use."""
    if not path.exists():
        # Write aside, then link into place: two processes starting at once agree on one key.
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
