"""The request's database session for the views (Flask's `g`); the core takes a session as an argument.

Its own module, not the package's __init__: the views import it, and the app factory imports the views.
"""
from __future__ import annotations

from flask import current_app, g


def get_session():
    """The request's database session, opened on first use and closed at teardown (see create_app)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["scouting"]["sessionmaker"]()
    return g.db_session
