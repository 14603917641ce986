"""Accounts and API tokens.  Passwords are hashed with scrypt (werkzeug); tokens are stored as SHA-256."""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .errors import InvalidParameter, NotFound
from .models import ROLES, ApiToken, User

MIN_PASSWORD = 10


def create_user(session: Session, username: str, password: str, role: str) -> User:
    username = (username or "").strip()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "-_." for c in username):
        raise InvalidParameter("username", "use 1–64 letters, digits, '-', '_' or '.'")
    if role not in ROLES:
        raise InvalidParameter("role", f"must be one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD:
        raise InvalidParameter("password", f"must be at least {MIN_PASSWORD} characters long")
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
    user.role, user.active = role, active
    session.commit()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        # Spend the same time as a real check, so timing does not tell which usernames exist.
        check_password_hash(generate_password_hash("x", method="scrypt"), password or "")
        return None
    if not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    return user


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
