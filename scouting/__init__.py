"""Wencheng Scout: a location-scouting map for Wencheng County's micro-film bases."""
from __future__ import annotations

from flask import Flask, g

from . import config as config_module
from .db import make_engine, make_sessionmaker, spatial_dialect
from .paths import PROJECT_ROOT


def create_app(config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the app.  Nothing touches the database here: the first query connects."""
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    config_module.configure(app, config)

    engine = make_engine(app.config["DATABASE_URL"], app.config["SPATIALITE_LIBRARY"], int(app.config["DB_POOL_SIZE"]))
    app.extensions["scouting"] = {
        "engine": engine,
        "sessionmaker": make_sessionmaker(engine),
        "dialect": spatial_dialect(engine),
    }

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    from . import i18n
    from .cli import register_commands
    from .web import register_blueprints

    i18n.init_app(app)
    register_blueprints(app)
    register_commands(app)
    return app
