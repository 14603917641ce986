"""Configuration: defaults, then SCOUTING_* environment variables, then explicit overrides (tests)."""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

from .offline import DEFAULT_AVG_TILE_BYTES, DEFAULT_BUDGET_BYTES

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
    # With memory:// counts: how many processes serve (gunicorn.conf.py sets it); each allows its share of a limit.
    "RATELIMIT_WORKERS": 1,
    # The number of reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (0: none).
    "PROXY_FIX": 0,
    # The site's public address, e.g. https://scout.example.org: every absolute link (pack share links, QR codes,
    # OGC and API links) starts with it, never with a request's Host header (see web/security.public_base).
    "PUBLIC_URL": None,
    "JSON_AS_ASCII": False,
    # Temporary files of uploads and imports; None means <instance>/tmp.  Swept of what a crash left behind.
    "TEMP_DIR": None,
    # The sweep removes temporary and partial files older than this, and checks at most this often.
    "SWEEP_AFTER_SECONDS": 900,
    "SWEEP_INTERVAL_SECONDS": 600,
    # Offline packs' basemap: an XYZ tile URL ({z}/{x}/{y}, no subdomains) of a source whose terms allow saving
    # tiles for offline use (your own tile server, or a plan that permits it).  None: packs save without tiles.
    "OFFLINE_TILE_URL": None,
    "OFFLINE_TILE_ATTRIBUTION": "&copy; OpenStreetMap contributors",
    # The average tile size the estimate counts with (measure your source: bytes of a sample of its tiles).
    "OFFLINE_TILE_AVG_BYTES": DEFAULT_AVG_TILE_BYTES,
    # The most one saved pack may take on a phone (MB); the closest zooms are left out to stay within it.
    "OFFLINE_PACK_BUDGET_MB": DEFAULT_BUDGET_BYTES // (1024 * 1024),
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
    app.config["PUBLIC_URL"] = _public_url(app.config["PUBLIC_URL"])
    app.config["OFFLINE_TILE_URL"] = _tile_url(app.config["OFFLINE_TILE_URL"])
    if not app.config["PUBLIC_URL"] and not (app.debug or app.testing):
        app.logger.warning("SCOUTING_PUBLIC_URL is not set: share links, QR codes and OGC links are relative "
                           "to this site (set it to the address people reach the site at, e.g. https://scout.example.org)")


def _public_url(value: str | None) -> str | None:
    """PUBLIC_URL checked: an http(s) address with a host and no query or fragment.  A wrong one stops start-up."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query or parts.fragment:
        raise ValueError(f"SCOUTING_PUBLIC_URL={value!r} must be an http:// or https:// address such as "
                         "https://scout.example.org (optionally with a path), without a query or fragment")
    return value.strip().rstrip("/")


def _tile_url(value: str | None) -> str | None:
    """OFFLINE_TILE_URL checked: an http(s) XYZ template with {z}, {x} and {y} and no other placeholder."""
    if not value:
        return None
    value = value.strip()
    placeholders = set(re.findall(r"\{([^}]*)\}", value))
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or placeholders != {"z", "x", "y"}:
        raise ValueError(f"SCOUTING_OFFLINE_TILE_URL={value!r} must be an http:// or https:// tile address with "
                         "{z}, {x} and {y} and no other placeholder, such as https://tiles.example.org/{z}/{x}/{y}.png")
    return value


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
