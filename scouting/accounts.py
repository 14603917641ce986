"""Accounts and API tokens.  Passwords are hashed with scrypt (werkzeug); tokens are stored as SHA-256."""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .errors import InvalidParameter, NotFound
from .models import ROLES, ApiToken, User

MIN_PASSWORD = 10


@cache
def _dummy_hash() -> str:
    """Checked against when the username is unknown or its account switched off, so that every failed sign-in
    costs one scrypt check, like a wrong password of a real account: timing does not tell which accounts exist."""
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def warm_up() -> None:
    """Make the dummy hash now, so the first failed sign-in costs what every later one does."""
    _dummy_hash()


def _check_password_format(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidParameter("password", f"must be at least {MIN_PASSWORD} characters long")


def create_user(session: Session, username: str, password: str, role: str) -> User:
    username = (username or "").strip()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "-_." for c in username):
        raise InvalidParameter("username", "use 1–64 letters, digits, '-', '_' or '.'")
    if role not in ROLES:
        raise InvalidParameter("role", f"must be one of {', '.join(ROLES)}")
    _check_password_format(password)
    if session.scalar(select(User.id).where(User.username == username)):
        raise InvalidParameter("username", f"{username!r} is taken")
    user = User(username=username, password_hash=generate_password_hash(password, method="scrypt"), role=role)
    session.add(user)
    session.flush()
    audit.record(session, "user.create", "user", user.id, f"{username}, role {role}")
    session.commit()
    return user


def change_user(session: Session, user_id: int, role: str, active: bool) -> User:
    """An admin's change of an account's role or access; each change is its own audit event."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user {user_id}")
    if role not in ROLES:
        raise InvalidParameter("role", f"must be one of {', '.join(ROLES)}")
    if role != user.role:
        audit.record(session, "user.role", "user", user.id, f"{user.username}: {user.role} -> {role}")
    if active != user.active:
        audit.record(session, "user.enable" if active else "user.disable", "user", user.id, user.username)
    if role != user.role or active != user.active:
        # A session signed in under the old role (or before the account was switched off) ends here; switching it
        # back on does not revive it.
        end_sessions(user)
    if user.active and not active:
        # Its API tokens end too, for good: switched on again, the account needs new ones.
        for row in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
            audit.record(session, "token.revoke", "token", row.id, f"of {user.username}, switched off")
            session.delete(row)
    user.role, user.active = role, active
    session.commit()
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """A new password for an account; every session signed in with the old one ends."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"there is no user {username!r}")
    _check_password_format(password)
    user.password_hash = generate_password_hash(password, method="scrypt")
    end_sessions(user)
    audit.record(session, "user.password", "user", user.id, user.username)
    session.commit()
    return user


def end_sessions(user: User) -> None:
    """End every session of the account signed in so far (the caller commits).  Raised in SQL, so two at once
    (sign-outs on two devices) both count."""
    user.session_generation = User.session_generation + 1


def session_user(session: Session, session_id: str) -> User | None:
    """The user of a session cookie's `<id>:<generation>`, when the account is active and that generation current."""
    user_id, _sep, generation = (session_id or "").partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The account for a username and password, or None.  Exactly one scrypt check whatever the outcome: an
    unknown username or a switched-off account is checked against a dummy hash."""
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    usable = user is not None and user.active
    matches = check_password_hash(user.password_hash if usable else _dummy_hash(), password or "")
    return user if usable and matches else None


def sign_in(session: Session, username: str, password: str) -> User | None:
    """`authenticate`, with the attempt in the audit log (never the password, nor a username that exists nowhere:
    people type passwords into the wrong box)."""
    user = authenticate(session, username, password)
    origin = audit.current_origin()
    if user is not None:
        audit.record_now(session, "login.success", "user", user.id, user.username,
                         origin=audit.with_actor(origin, user.username, user.id, "password"))
        return user
    known = session.scalar(select(User).where(User.username == (username or "").strip()))
    if known is None:
        audit.record_now(session, "login.failure", None, None, "unknown username", origin=origin)
    else:
        reason = "wrong password" if known.active else "account switched off"
        audit.record_now(session, "login.failure", "user", known.id, f"{known.username}: {reason}", origin=origin)
    return None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str) -> str:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"there is no user {username!r}")
    token = "ws_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_token_hash(token))
    session.add(row)
    session.flush()
    audit.record(session, "token.create", "token", row.id, f"for {user.username}")
    session.commit()
    return token


def token_row(session: Session, token: str) -> ApiToken | None:
    """The active token row for a presented token (its user is active).

    Its use is recorded by the request's own write, at that commit: a separate write here would make every
    token request wait for the database's write lock (for as long as a bulk import holds it, on SQLite).
    """
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or not row.user.active:
        return None
    used_at = datetime.now(UTC)

    def mark_used(_session: Session) -> None:
        row.last_used_at = used_at

    event.listen(session, "before_commit", mark_used, once=True)
    return row


def user_for_token(session: Session, token: str) -> User | None:
    row = token_row(session, token)
    return row.user if row else None
