"""Admins manage accounts: create, change role, switch off (never deleted: revisions name them)."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import accounts
from ..errors import InvalidParameter
from ..models import ROLES, User
from .session import get_session

bp = Blueprint("admin", __name__)


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)
    return wrapper


@bp.get("/admin/users")
@admin_required
def users():
    listing = get_session().scalars(select(User).order_by(User.username)).all()
    return render_template("admin_users.html", users=listing, roles=ROLES)


@bp.post("/admin/users")
@admin_required
def create_user():
    form = request.form
    try:
        accounts.create_user(get_session(), form.get("username", ""), form.get("password", ""), form.get("role", ""))
        flash(f"created {form.get('username')}")
    except InvalidParameter as err:
        flash(f"{err.name}: {err.reason}")
    return redirect(url_for("admin.users"))


@bp.post("/admin/users/<int:user_id>")
@admin_required
def update_user(user_id: int):
    session = get_session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    role, active = request.form.get("role", user.role), request.form.get("active") == "on"
    if role not in ROLES:
        flash(f"role: must be one of {', '.join(ROLES)}")
    elif user.id == current_user.id and (role != "admin" or not active):
        flash("you cannot take away your own admin rights or switch yourself off")
    else:
        accounts.change_user(session, user.id, role, active)
        flash(f"saved {user.username}")
    return redirect(url_for("admin.users"))
