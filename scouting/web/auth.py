"""Sign-in for people (Flask-Login session, CSRF-protected form, rate-limited) and tokens for scripts.

Writes through the JSON API take only `Authorization: Bearer <token>`: a browser's cookie never
authorises an API write, so the API needs no CSRF token.  Forms on pages carry one (Flask-WTF).
"""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from limits import parse as parse_limit
from limits import parse_many
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .. import accounts
from ..errors import Forbidden, ScoutingError
from ..models import User
from .responses import error_response
from .session import get_session

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
# Counts per client address (the real one behind a proxy: PROXY_FIX).  Where they are kept comes from
# RATELIMIT_STORAGE_URI: memory:// for one process, redis://... to share them between gunicorn workers.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Wrong API tokens from one address: guessing a token is hopeless at 30 a minute (they are 256-bit).
BEARER_FAILURES = "30 per minute"


def per_process(spec: str) -> str:
    """A limit stated for the whole site, as this process must count it.  With counts in each process's memory
    while RATELIMIT_WORKERS processes serve (gunicorn.conf.py sets it when no shared storage is at hand), each
    allows its share, so the site never lets more through than stated."""
    workers = int(current_app.config.get("RATELIMIT_WORKERS") or 1)
    if workers <= 1:
        return spec
    return "; ".join(f"{max(1, item.amount // workers)} per {item.multiples} {item.GRANULARITY.name}"
                     for item in parse_many(spec))


def site_limit(spec: str):
    """`spec` for @limiter.limit, counted per process as `per_process` says."""
    return lambda: per_process(spec)


class TooManyTokenFailures(ScoutingError):
    status = 429
    title = "Too Many Requests"


class Unauthorized(ScoutingError):
    status = 401
    title = "Unauthorized"


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=512)])


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # A cookie from before sign-out, a password or role change or a switch-off names an old generation: refused.
    return accounts.session_user(get_session(), session_id)


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None.  Browsers drop tabs and newlines from a URL and read a
    backslash as a slash, so a slash, a tab and a slash (or a slash and a backslash) before a host name would
    leave the site: control characters and backslashes are refused (a newline would also break the header)."""
    if not target or len(target) > 2000 or "\\" in target:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def init_app(app) -> None:
    login_manager.init_app(app)
    accounts.warm_up()
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(err: RateLimitExceeded):
        # flask-limiter words the limit in English ("5 per 1 minute"): it is said again in the reader's language.
        item = err.limit.limit
        detail = _("Too many requests from your address (at most %(amount)s in %(seconds)s seconds). Please wait a "
                   "little and try again.", amount=item.amount, seconds=item.get_expiry())
        return error_response(429, _("Too many requests"), detail, {})


def bearer_user() -> User | None:
    """The user of the request's `Authorization: Bearer` token; None without one (or with another scheme).

    A wrong token raises Unauthorized and counts against the address; past BEARER_FAILURES a minute every
    token from that address is refused with 429 until the minute is over, right or wrong."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None  # no token, or a scheme this app does not use (a proxy's Basic): not ours to judge
    key = ("bearer-failures", get_remote_address())
    failures = parse_limit(per_process(BEARER_FAILURES))
    if not limiter.limiter.test(failures, *key):
        raise TooManyTokenFailures(f"too many wrong API tokens from your address (at most {BEARER_FAILURES}); "
                                   "wait a minute and try again")
    row = accounts.token_row(get_session(), token.strip()) if token.strip() else None
    if row is None:
        limiter.limiter.hit(failures, *key)
        raise Unauthorized("the API token is not valid: Authorization: Bearer <token>")
    g.api_token_id = row.id  # the audit log names the token
    return row.user


def api_user(require_editor: bool = True):
    """Decorator for API writes: the Bearer token's user, who must be a planner or admin."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = bearer_user()
            if user is None:
                raise Unauthorized("this needs an API token: Authorization: Bearer <token> "
                                   "(flask --app app create-token NAME makes one)")
            if require_editor and not user.can_edit_sites():
                raise Forbidden(f"{user.username} is a {user.role}; only planners and admins change sites")
            g.api_user = user
            return view(*args, **kwargs)
        return wrapper
    return decorator


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(site_limit("10 per minute"), methods=["POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.sign_in(get_session(), form.username.data, form.password.data)
        if user:
            # A new session at sign-in: nothing of the anonymous one (its CSRF token included) carries over.
            session.clear()
            g.pop("csrf_token", None)
            login_user(user)
            current_app.logger.info("sign-in: %s from %s", user.username, request.remote_addr)
            # Only paths on this site: never an open redirect; anything else falls back to the map.
            return redirect(safe_next(request.args.get("next")) or url_for("pages.index"))
        error = "wrong"
    return render_template("login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Ends this session and every other one of the account: a copied cookie opens nothing afterwards.
        accounts.end_sessions(current_user)
        get_session().commit()
    logout_user()
    session.clear()
    return redirect(url_for("pages.index"))


def whoami() -> User | None:
    return current_user if current_user.is_authenticated else None
