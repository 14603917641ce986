"""Planner pages (signed in as planner or admin): a site's history with restore."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired

from .. import get_session, sites
from ..errors import PreconditionFailed, ScoutingError
from ..search import get_site

bp = Blueprint("planner", __name__)


class RestoreForm(FlaskForm):
    revision = IntegerField(validators=[DataRequired()])
    version = HiddenField(validators=[DataRequired()])


def planner_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not current_user.can_edit_sites():
            abort(403)
        return view(*args, **kwargs)
    return wrapper


@bp.route("/sites/<int:site_id>/history", methods=["GET", "POST"])
@planner_required
def history(site_id: int):
    session = get_session()
    form = RestoreForm()
    if form.validate_on_submit():
        try:
            sites.restore_revision(session, site_id, form.revision.data, int(form.version.data), current_user.username)
            flash("restored")
        except PreconditionFailed:
            flash("stale")
        except ScoutingError as err:
            flash(err.detail)
        return redirect(url_for("planner.history", site_id=site_id))
    revisions = sites.site_history(session, site_id)
    hit = get_site(session, site_id, include_deleted=True)
    return render_template("history.html", site=hit.site, revisions=revisions, form=form)
