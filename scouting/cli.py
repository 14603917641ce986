"""Command-line tasks: `flask --app app db upgrade`, `flask --app app load-geodata`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import audit, migrate, packs
from .errors import ScoutingError
from .formats.export import ExportItem, export
from .imports.report import TABLE_EVERY_ROW_UP_TO
from .search import iter_sites, parse_site_query
from .web.packs import print_view
from .web.photos import photo_store


def _engine():
    return current_app.extensions["scouting"]["engine"]


def _fail_readably(fn):
    """Core errors (no mod_spatialite, bad geodata, ...) end the command with their one sentence."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with audit.acting_as(_cli_origin()):  # the audit log names the command and the login that ran it
                return fn(*args, **kwargs)
        except ScoutingError as err:
            raise click.ClickException(err.detail) from None

    return wrapper


def _cli_origin() -> audit.Origin:
    import getpass

    try:
        login = getpass.getuser()
    except (OSError, KeyError):
        login = None
    return audit.Origin(actor=f"cli:{click.get_current_context().info_name}", channel="cli",
                        credential=f"os:{login}" if login else None)


db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@_fail_readably
def db_upgrade(revision: str):
    """Create or migrate the schema to REVISION (default: the newest)."""
    migrate.upgrade(_engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(_engine())}")


@db_cli.command("downgrade")
@click.argument("revision")
@_fail_readably
def db_downgrade(revision: str):
    """Migrate the schema back to REVISION ('base' removes every table)."""
    migrate.downgrade(_engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(_engine())}")


@db_cli.command("current")
@_fail_readably
def db_current():
    """Print the schema revision."""
    click.echo(migrate.current_revision(_engine()) or "empty")


@db_cli.command("check")
@_fail_readably
def db_check():
    """Check that the search's tag bitmasks agree with the sites' tags, and their lon/lat with their geometry
    (both are kept in step by triggers)."""
    from .search import point_problems, tag_mask_problems

    with current_app.extensions["scouting"]["sessionmaker"]() as session:
        problems = tag_mask_problems(session)
        points = point_problems(session)
    for problem in (problems + points)[:50]:
        click.echo(problem)
    if problems or points:
        raise click.ClickException(
            f"{len(problems)} disagreement(s) between the tag bitmasks and site_tags, "
            f"{len(points)} between sites' lon/lat and their geometry")
    click.echo("tag bitmasks agree with site_tags; lon/lat agree with the geometry")


@click.command("load-geodata")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only load when the database holds no sites and no bases at all (first run).")
@_fail_readably
def load_geodata_command(if_empty: bool):
    """Load geodata/ (bases, sites, county boundary) idempotently: unchanged records are left alone."""
    from .geodata import is_empty, load_geodata, site_counts

    with current_app.extensions["scouting"]["sessionmaker"]() as session:
        if if_empty and not is_empty(session):
            total, synthetic = site_counts(session)
            held = f"{total} sites, {synthetic} of them synthetic" if synthetic else f"{total} sites"
            click.echo(f"database not empty ({held}); nothing loaded")
            return
        report = load_geodata(session)
    click.echo(report.summary())


@click.command("export")
@click.option("--pack", "pack_token", help="The pack's id (the token in its share link).")
@click.option("--format", "fmt", default="geojson", show_default=True,
              type=click.Choice(["geojson", "kml", "gpx", "gpkg", "csv", "zip"]))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--genre", help="Filters as in the API: comma-separated, any of.")
@click.option("--terrain")
@click.option("--facility", help="Comma-separated, all of.")
@click.option("--facility-status", "facility_status", type=click.Choice(["any", "verified"]),
              help="verified: count only facilities someone verified present.")
@click.option("--base")
@click.option("--q")
@click.option("--bbox", help="minLon,minLat,maxLon,maxLat")
@click.option("--near", help="lon,lat (with --radius-km)")
@click.option("--radius-km", "radius_km")
@click.option("--elev-min", "elev_min")
@click.option("--elev-max", "elev_max")
@with_appcontext
@_fail_readably
def export_command(pack_token, fmt, output, **filters):
    """Export a pack or the sites matching filters to FILE (the same query builder as the API)."""
    args = {k: v for k, v in filters.items() if v}
    with current_app.extensions["scouting"]["sessionmaker"]() as session:
        if pack_token:
            if args:
                raise click.UsageError("give either --pack or filters, not both")
            pack = packs.get_pack(session, pack_token)
            items, title = packs.pack_hits(session, pack), pack.name
        else:
            if fmt == "zip":
                raise click.UsageError("zip is for packs")
            items, title = (ExportItem(hit=h) for h in iter_sites(session, parse_site_query(args))), "Wencheng sites"
        with open(output, "wb") as f:
            if fmt == "zip":
                f.write(packs.pack_archive(session, pack, items, photo_store(), print_view))
            else:
                for chunk in export(items, fmt, title).chunks:
                    f.write(chunk)
    click.echo(f"wrote {output}")


@click.command("create-user")
@click.argument("name")
@click.option("--role", type=click.Choice(["director", "planner", "admin"]), required=True)
@with_appcontext
@_fail_readably
def create_user_command(name: str, role: str):
    """Create an account; the password comes from SCOUTING_PASSWORD, else a hidden prompt."""
    import os

    from . import accounts

    password = os.environ.get("SCOUTING_PASSWORD") or click.prompt("Password", hide_input=True,
                                                                  confirmation_prompt=True)
    with current_app.extensions["scouting"]["sessionmaker"]() as session:
        user = accounts.create_user(session, name, password, role)
        click.echo(f"created {user.role} {user.username}")


@click.command("set-password")
@click.argument("name")
@with_appcontext
@_fail_readably
def set_password_command(name: str):
    """Give account NAME a new password (SCOUTING_PASSWORD, else a hidden prompt); its sessions end."""
    import os

    from . import accounts

    password = os.environ.get("SCOUTING_PASSWORD") or click.prompt("Password", hide_input=True,
                                                                  confirmation_prompt=True)
    with current_app.extensions["scouting"]["sessionmaker"]() as session:
        user = accounts.set_password(session, name, password)
        click.echo(f"new password for {user.username}; its sessions have ended")


@click.command("create-token")
@click.argument("name")
@with_appcontext
@_fail_readably
def create_token_command(name: str):
    """Print a new API token for user NAME (shown once; only its hash is stored)."""
    from . import accounts

    with current_app.extensions["scouting"]["sessionmaker"]() as session:
        click.echo(accounts.create_token(session, name))


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--datum", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True,
              help="The datum of the file's numbers: gcj02 for Amap/Tencent, bd09 for Baidu.")
@click.option("--commit", is_flag=True, help="Write the sites (default: a dry run that only reports).")
@click.option("--actor", help="Who imports, for the history as import:NAME (default: your login name).")
@click.option("--layer", help="Read only this layer (GeoPackage layer, KML folder, shapefile in a zip).")
@click.option("--genre-default", help="The genre (slug or label) of new sites whose row names none.")
@click.option("--confirm-outside", is_flag=True, help="Accept new points outside Wencheng County.")
@click.option("--verbose", "-v", is_flag=True,
              help="List every row (default: every row of a file of at most "
                   f"{TABLE_EVERY_ROW_UP_TO} rows, else the updates, duplicates and invalid rows).")
@with_appcontext
@_fail_readably
def import_command(file, datum, commit, actor, layer, genre_default, confirm_outside, verbose):
    """Import sites from FILE: GeoJSON, KML/KMZ, GPX, CSV, GeoPackage or zipped Shapefile (a dry run unless --commit)."""
    import getpass
    import sys

    from . import imports

    if not actor:
        try:
            actor = getpass.getuser()
        except (OSError, KeyError):
            actor = "cli"
    options = imports.options_from_config(current_app.config, datum=datum, layer=layer, genre_default=genre_default,
                                          confirm_outside=confirm_outside)
    bars = []

    def progress(done: int, total: int) -> None:
        if not bars and total >= imports.PROGRESS_MIN_ROWS:
            bars.append(click.progressbar(length=total, label="checking rows", file=sys.stderr))
            bars[0].__enter__()
        if bars:
            bars[0].update(done - bars[0].pos)

    with current_app.extensions["scouting"]["sessionmaker"]() as session:
        try:
            report = imports.run_import(session, file, file, options, commit=commit, actor=f"import:{actor}",
                                        progress=progress)
        finally:
            for bar in bars:
                bar.__exit__(None, None, None)
    click.echo(report.table(every_row=True if verbose else None))
    if report.totals["invalid"]:
        raise click.ClickException(f"{report.totals['invalid']} invalid row(s)" + ("; nothing was written" if commit else ""))


@click.command("synth")
@with_appcontext
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many synthetic sites to add.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same sites.")
@_fail_readably
def synth_command(count: int, seed: int):
    """Add COUNT synthetic sites over Zhejiang (benchmarks, scale tests) to a database of their own."""
    import time

    from .synth import synthesize

    started = time.perf_counter()
    synthesize(_engine(), count, seed)
    click.echo(f"{count} synthetic sites written in {time.perf_counter() - started:.1f} s (seed {seed})")


@click.command("audit-export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@click.option("--since", help="Only events from this day on (YYYY-MM-DD, UTC).")
@click.option("--until", help="Only events up to this day (YYYY-MM-DD, UTC).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]),
              help="Default: csv for a FILE ending in .csv, else JSON Lines.")
@with_appcontext
@_fail_readably
def audit_export_command(file, since, until, fmt):
    """Write the audit log (oldest first) to FILE as JSON Lines or CSV; '-' writes to standard output."""
    from .formats.audit_export import audit_export

    fmt = fmt or ("csv" if file.lower().endswith(".csv") else "jsonl")
    flt = audit.parse_filter({k: v for k, v in (("since", since), ("until", until)) if v})
    count = 0
    with current_app.extensions["scouting"]["sessionmaker"]() as session, click.open_file(file, "wb") as out:
        def counted():
            nonlocal count
            for event in audit.iter_events(session, flt):
                count += 1
                yield event

        for chunk in audit_export(counted(), fmt):
            out.write(chunk)
    click.echo(f"wrote {count} event(s) to {file}", err=file == "-")

def _photo_dir() -> str:
    from .web.photos import photo_store

    return str(photo_store().root)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
@_fail_readably
def backup_command(file):
    """Write FILE: one archive with the database, the photos and a manifest (safe while the app runs)."""
    from . import backup

    manifest = backup.create_backup(_engine(), _photo_dir(), file)
    click.echo(f"wrote {file}: {manifest.summary()}")
    for name in manifest.missing_photo_files:
        click.echo(f"warning: photo file {name} is recorded but missing; it is not in the backup", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database (and photo folder) that is not empty.")
@with_appcontext
@_fail_readably
def restore_command(file, force):
    """Restore FILE (made by `backup`) into the configured database and photo folder, then migrate.
    Stop the server first."""
    from . import backup

    manifest = backup.restore_backup(_engine(), _photo_dir(), file, force=force)
    click.echo(f"restored {file} (made {manifest.created_at}): {manifest.summary()}")


@click.command("sweep")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), default=None,
              help="Only files older than this many seconds (default SWEEP_AFTER_SECONDS, 900). "
                   "0 only while no server runs on this instance.")
@with_appcontext
@_fail_readably
def sweep_command(older_than):
    """Remove temporary and partial files a crash left behind; finish photo uploads that were committed."""
    from .web import sweep_folders

    if older_than is None:
        older_than = float(current_app.config["SWEEP_AFTER_SECONDS"])
    report = sweep_folders(current_app._get_current_object(), older_than)
    for path in report.removed:
        click.echo(f"removed {path}")
    for path in report.completed:
        click.echo(f"completed {path}")
    click.echo(report.summary())


def register_commands(app: Flask) -> None:
    for command in (
        synth_command, sweep_command, backup_command, restore_command, import_command, create_user_command,
        create_token_command, set_password_command, db_cli, load_geodata_command, export_command,
        audit_export_command,
    ):
        app.cli.add_command(command)
