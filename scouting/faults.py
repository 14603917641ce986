"""A test-only pause inside a write, so a test can kill the server at a known point (tests/test_kill.py).

Off unless the server PROCESS was started with SCOUTING_TEST_PAUSE_AT naming the point (or several, comma-
separated): it is read from the environment only, never from configuration a request could reach.  When it
matches, the process writes its pid to the file SCOUTING_TEST_PAUSE_MARKER + "." + point (if set) and sleeps,
to be killed there.
"""
from __future__ import annotations

import os
import time

PAUSE_ENV = "SCOUTING_TEST_PAUSE_AT"
MARKER_ENV = "SCOUTING_TEST_PAUSE_MARKER"
PAUSE_SECONDS = 120


def pause_point(name: str) -> None:
    if name not in os.environ.get(PAUSE_ENV, "").split(","):
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        with open(f"{marker}.{name}", "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    time.sleep(PAUSE_SECONDS)
