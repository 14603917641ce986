"""The shared test helpers (tests/helpers.py, conftest.py's `chromium`) do what they say, and stay the only copies:
no other test module defines its own Bearer headers, sign-in, CSRF reader, free port, wait or server start-up,
nor launches a Chromium of its own.  No database needed."""
from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

from .helpers import CSRF_FIELD, auth, bearer, csrf_of, free_port, gunicorn, wait_for

TESTS = Path(__file__).resolve().parent
SHARED = {"auth", "bearer", "csrf", "csrf_of", "sign_in", "signed_in", "free_port", "wait_for", "gunicorn"}


def test_bearer_and_auth_headers():
    assert bearer("ws_abc", **{"If-Match": '"3"'}) == {"Authorization": "Bearer ws_abc", "If-Match": '"3"'}, \
        "bearer() does not present the token with the other headers"

    class Client:
        tokens = {"planner": "ws_p", "director": "ws_d"}

    assert auth(Client()) == {"Authorization": "Bearer ws_p"}, "auth() does not default to the planner's token"
    assert auth(Client(), "director") == {"Authorization": "Bearer ws_d"}, "auth() does not take the role's token"


def test_csrf_of_reads_both_renderings_and_fails_by_name():
    assert csrf_of('<input id="csrf_token" name="csrf_token" type="hidden" value="IjA.x-1">') == "IjA.x-1", \
        "the hidden field as WTForms renders it"
    assert csrf_of('<input type="hidden" name="csrf_token" value="tok2">') == "tok2", \
        "the field as the admin page's row forms write it"
    with pytest.raises(AssertionError, match="no CSRF token field"):
        csrf_of("<form></form>")
    assert CSRF_FIELD.search('name="csrf_token" type="hidden" value=""') is None, "an empty token is not a token"


def test_free_port_is_free_and_wait_for_gives_up_by_name():
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))  # raises if the port were taken
    calls = iter([0, None, "ready"])
    assert wait_for(lambda: next(calls), "the third call", interval=0) == "ready", "wait_for() returns the value"
    with pytest.raises(pytest.fail.Exception, match="gave up waiting for the moon"):
        wait_for(lambda: False, "the moon", attempts=3, interval=0)


def test_gunicorn_runs_as_make_run_does_with_a_clean_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOUTING_DATABASE_URL", "sqlite:///not-this-one.sqlite")
    server = gunicorn({"SCOUTING_DATABASE_URL": "sqlite:///this-one.sqlite"}, tmp_path / "g.log", workers=3)
    assert server.command[-1] == "app:app" and "gunicorn.conf.py" in server.command, "not the Makefile's run"
    assert server.command[server.command.index("--workers") + 1] == "3", "the workers asked for"
    assert server.command[server.command.index("--bind") + 1] == f"127.0.0.1:{server.port}", "a loopback port"
    assert server.env["SCOUTING_DATABASE_URL"] == "sqlite:///this-one.sqlite", "the test's settings, not the shell's"
    assert server.process is None, "not started before start() or `with`"


def _defined_and_launched(path: Path) -> tuple[set[str], bool]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    launches = any(isinstance(node, ast.Attribute) and node.attr == "launch"
                   and isinstance(node.value, ast.Attribute) and node.value.attr == "chromium"
                   for node in ast.walk(tree))
    return names, launches


def test_no_test_module_keeps_a_copy_of_a_shared_helper():
    copies, launches = {}, []
    for path in sorted(TESTS.glob("*.py")):
        if path.name in ("helpers.py", "conftest.py"):
            continue
        names, launched = _defined_and_launched(path)
        if names & SHARED:
            copies[path.name] = sorted(names & SHARED)
        if launched:
            launches.append(path.name)
    assert copies == {}, f"use tests/helpers.py instead of these copies: {copies}"
    assert launches == [], f"take the module's Chromium (the `chromium` fixture) instead of launching one: {launches}"
