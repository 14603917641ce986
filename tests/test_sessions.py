"""Sign-in and sessions (issue #15): same-site `next` only, one password check whatever the account, sessions that
end at sign-out, a new password, a new role or a switch-off, and a new session (and CSRF token) at sign-in.
Both databases (the `writer` fixture: a planner `ping`, a director `dir`)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from scouting import accounts
from scouting.models import User

from .helpers import CSRF_FIELD, STAFF_PASSWORD, bearer
from .helpers import csrf as _csrf
from .helpers import sign_in as _sign_in


def _sign_out(client):
    token = _csrf(client, "/")  # the map's sign-out form carries it
    return client.post("/logout", data={"csrf_token": token})


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def _with_cookie(app, value: str):
    """A second browser that presents a session cookie copied from the first."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def _opens_audit(client) -> bool:
    """Whether the cookie still signs its bearer in: /audit is for planners and admins, anyone else is sent to sign in."""
    resp = client.get("/audit")
    assert resp.status_code in (200, 302), resp.status_code
    return resp.status_code == 200


def _session(app):
    return app.extensions["scouting"]["sessionmaker"]()


# --------------------------------------------------------------------------- next: no open redirect

@pytest.mark.parametrize("target", [
    "/%09/evil.example", "/%09%09/evil.example", "/%0A/evil.example", "/%0D/evil.example", "/%0D%0A/evil.example",
    "//evil.example", "/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example", "https://evil.example/",
    "javascript:alert(1)", "evil.example", "/%00/evil.example", "/%7F/evil.example", "%09/%09/evil.example",
])
def test_sign_in_never_redirects_off_site(writer, target):
    resp = _sign_in(writer, query=f"?next={target}")
    assert resp.status_code == 302, f"next={target} answered {resp.status_code}"
    assert resp.headers["Location"] == "/", f"next={target} led to {resp.headers['Location']!r}, not the map"


@pytest.mark.parametrize("target", ["/sites/new", "/audit?action=login.success", "/packs/abc#map"])
def test_sign_in_follows_next_on_this_site(writer, target):
    from urllib.parse import quote

    resp = _sign_in(writer, query="?next=" + quote(target, safe=""))
    assert resp.status_code == 302 and resp.headers["Location"] == target


# --------------------------------------------------------------------------- no account oracle

@pytest.fixture
def password_checks(monkeypatch):
    """Counts scrypt runs in scouting.accounts: every check and every hash made while signing in."""
    counts = {"check": 0, "generate": 0}
    real_check, real_generate = accounts.check_password_hash, accounts.generate_password_hash

    def check(*args, **kwargs):
        counts["check"] += 1
        return real_check(*args, **kwargs)

    def generate(*args, **kwargs):
        counts["generate"] += 1
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(accounts, "check_password_hash", check)
    monkeypatch.setattr(accounts, "generate_password_hash", generate)
    return counts


def test_every_failed_sign_in_costs_one_password_check(writer, password_checks):
    app = writer.application
    with _session(app) as session:
        accounts.create_user(session, "gone", STAFF_PASSWORD, "planner")
        gone = session.scalar(select(User.id).where(User.username == "gone"))
        accounts.change_user(session, gone, "planner", False)
    _sign_in(app.test_client(), username="nobody-here")  # a first failure, for anything made once per process
    pages = {}
    for case, username, password in (("unknown", "nobody-here", STAFF_PASSWORD), ("wrong password", "ping", "wrong-one!"),
                                     ("switched off", "gone", STAFF_PASSWORD)):
        password_checks.update(check=0, generate=0)
        resp = _sign_in(app.test_client(), username=username, password=password)
        assert resp.status_code == 401, case
        assert password_checks == {"check": 1, "generate": 0}, f"{case}: {password_checks}"
        pages[case] = CSRF_FIELD.sub("", resp.get_data(as_text=True)).replace(username, "NAME")
    assert len(set(pages.values())) == 1, "the answer tells the cases apart"
    password_checks.update(check=0, generate=0)
    assert _sign_in(app.test_client()).status_code == 302
    assert password_checks == {"check": 1, "generate": 0}


# --------------------------------------------------------------------------- sessions end when they should

def test_sign_out_ends_a_copied_session(writer):
    assert _sign_in(writer).status_code == 302
    saved = _session_cookie(writer)
    assert _opens_audit(_with_cookie(writer.application, saved))
    assert _sign_out(writer).status_code == 302
    assert not _opens_audit(writer)
    assert not _opens_audit(_with_cookie(writer.application, saved)), "a cookie saved before sign-out still opens /audit"
    assert _sign_in(writer).status_code == 302 and _opens_audit(writer)  # signing in again works


def test_sign_out_ends_the_accounts_other_sessions(writer):
    app = writer.application
    laptop, phone = app.test_client(), app.test_client()
    assert _sign_in(laptop).status_code == 302 and _sign_in(phone).status_code == 302
    _sign_out(laptop)
    assert not _opens_audit(phone)


def test_switching_an_account_off_and_on_does_not_revive_its_sessions(writer):
    app = writer.application
    assert _sign_in(writer).status_code == 302
    saved = _session_cookie(writer)
    with _session(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == "ping"))
        accounts.change_user(session, user_id, "planner", False)
        assert not _opens_audit(_with_cookie(app, saved))
        accounts.change_user(session, user_id, "planner", True)
    assert not _opens_audit(_with_cookie(app, saved)), "switched off and on, the old cookie opens /audit again"
    assert _sign_in(app.test_client()).status_code == 302  # the account itself works again


def test_a_role_change_ends_the_sessions(writer):
    app = writer.application
    assert _sign_in(writer).status_code == 302
    with _session(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == "ping"))
        accounts.change_user(session, user_id, "admin", True)
    assert not _opens_audit(writer)


def test_an_admin_switching_an_account_off_on_the_page_ends_its_sessions(writer):
    app = writer.application
    with _session(app) as session:
        accounts.create_user(session, "boss", STAFF_PASSWORD, "admin")
    admin = app.test_client()
    assert _sign_in(admin, username="boss").status_code == 302
    assert _sign_in(writer).status_code == 302
    with _session(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == "ping"))
    token = _csrf(admin, "/admin/users")
    for active in ("", "on"):  # off, then on again
        form = {"csrf_token": token, "role": "planner"} | ({"active": active} if active else {})
        assert admin.post(f"/admin/users/{user_id}", data=form).status_code in (200, 302)
    assert not _opens_audit(writer)
    assert _opens_audit(admin)  # the admin's own session is untouched


def test_a_new_password_ends_the_sessions(writer):
    app = writer.application
    assert _sign_in(writer).status_code == 302
    with _session(app) as session:
        accounts.set_password(session, "ping", "another long passphrase")
    assert not _opens_audit(writer)
    assert _sign_in(app.test_client()).status_code == 401
    assert _sign_in(app.test_client(), password="another long passphrase").status_code == 302


def test_the_set_password_command_ends_the_sessions(writer, monkeypatch):
    app = writer.application
    assert _sign_in(writer).status_code == 302
    monkeypatch.setenv("SCOUTING_PASSWORD", "a third long passphrase")
    result = app.test_cli_runner().invoke(args=["set-password", "ping"])
    assert result.exit_code == 0, result.output
    assert not _opens_audit(writer)
    assert _sign_in(app.test_client(), password="a third long passphrase").status_code == 302
    refused = app.test_cli_runner().invoke(args=["set-password", "nobody-here"])
    assert refused.exit_code != 0 and "nobody-here" in refused.output


def test_sign_in_starts_a_new_session_and_csrf_token(writer):
    before_token = _csrf(writer)
    before_cookie = _session_cookie(writer)
    assert _sign_in(writer).status_code == 302
    after_token = _csrf(writer, "/")
    assert after_token != before_token, "the CSRF token is the same across sign-in"
    assert _session_cookie(writer) != before_cookie
    # A form posted with the anonymous session's token is refused after sign-in.
    assert writer.post("/logout", data={"csrf_token": before_token}).status_code == 400
    assert _opens_audit(writer)


def test_a_cookie_of_the_old_form_is_refused(writer):
    """A session from before sessions had generations (`_user_id` is the bare id) signs no one in."""
    app = writer.application
    with _session(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == "ping"))
    browser = app.test_client()
    with browser.session_transaction() as sess:
        sess["_user_id"] = str(user_id)
        sess["_fresh"] = True
    assert not _opens_audit(browser)
    with browser.session_transaction() as sess:
        sess["_user_id"] = f"{user_id}:0"  # the current generation of a new account
    assert _opens_audit(browser)


def test_switching_an_account_off_ends_its_api_tokens_for_good(writer):
    app = writer.application
    auth = bearer(writer.tokens["planner"])
    assert writer.get("/api/sites/1/photos", headers=auth).status_code == 200
    with _session(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == "ping"))
        accounts.change_user(session, user_id, "planner", False)
        assert writer.get("/api/sites/1/photos", headers=auth).status_code == 401
        accounts.change_user(session, user_id, "planner", True)
        assert writer.get("/api/sites/1/photos", headers=auth).status_code == 401, "switched on, the old token works again"
        fresh = bearer(accounts.create_token(session, "ping"))
    assert writer.get("/api/sites/1/photos", headers=fresh).status_code == 200
