"""Command-line tasks: `flask --app app db upgrade`, `flask --app app load-geodata`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import migrate
from .errors import ScoutingError


def _engine():
    return current_app.extensions["scouting"]["engine"]


def _fail_readably(fn):
    """Core errors (no mod_spatialite, bad geodata, ...) end the command with their one sentence."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ScoutingError as err:
            raise click.ClickException(err.detail) from None

    return wrapper


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


@click.command("load-geodata")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only load when the database holds no bases yet (first run).")
@_fail_readably
def load_geodata_command(if_empty: bool):
    """Load geodata/ (bases, sites, county boundary) idempotently: unchanged records are left alone."""
    from .geodata import is_empty, load_geodata

    with current_app.extensions["scouting"]["sessionmaker"]() as session:
        if if_empty and not is_empty(session):
            click.echo("database already seeded; nothing loaded")
            return
        report = load_geodata(session)
    click.echo(report.summary())


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(load_geodata_command)
