"""The field page (planners on a phone): capture a new site or a correction on the spot, queue it offline in the
browser (static/js/field/), and send it when the connection returns.

The writes here take the signed-in session as authority, so each carries the CSRF token (header X-CSRFToken,
from GET /field/csrf: a page kept offline may hold an expired one).  Answers are JSON, errors problem+json;
a stale correction gets 412 with the site as stored now (`current`), for the page's resolve view.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from .. import facts, field, photos, sites, vocab
from ..errors import Forbidden, InvalidParameter
from ..i18n import current_language
from .api import _feature_body, _if_match, _site_response, json_response
from .auth import Unauthorized
from .photos import _max_pixels, _uploaded_file, photo_store
from .planner import planner_required
from .session import get_session

bp = Blueprint("field", __name__)


def field_writer(view):
    """Signed in as a planner or admin; refused as JSON (never a redirect to the sign-in page a script cannot use)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Unauthorized("sign in again: your captures stay queued on this phone until then")
        if not current_user.can_edit_sites():
            raise Forbidden(f"{current_user.username} is a {current_user.role}; only planners and admins change sites")
        return view(*args, **kwargs)
    return wrapper


@bp.get("/field")
@planner_required
def page():
    label = "zh" if current_language() == "zh_CN" else "en"

    def terms(vocabulary):
        return [(t.slug, getattr(t, label)) for t in vocabulary.values()]

    return render_template("field.html", lang=current_language(), label=label, genres=terms(vocab.GENRES),
                           terrain=terms(vocab.TERRAIN), facilities=terms(vocab.FACILITIES),
                           facility_names=dict(terms(vocab.FACILITIES)),
                           statuses={s: getattr(facts.STATUS_LABELS[s], label) for s in (facts.PRESENT, facts.ABSENT)},
                           sites_url=url_for("api.list_sites", limit=1000))


@bp.get("/field/csrf")
@field_writer
def csrf_token():
    response = json_response({"csrf_token": generate_csrf(), "user": current_user.username})
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _capture() -> tuple[dict, dict, str]:
    body = _feature_body()
    if not isinstance(body, dict):
        raise InvalidParameter("body", "must be a GeoJSON Feature with `checks`")
    checks = body.pop("checks", None) or {}
    how = body.pop("checked_how", None) or "visit"
    return body, checks, how


def _confirm_outside() -> bool:
    return request.args.get("confirm_outside", "").lower() in ("1", "true", "yes")


@bp.post("/field/sites")
@field_writer
def create_site():
    feature, checks, how = _capture()
    raw = sites.feature_to_raw(feature)
    site, created = field.create(get_session(), raw, checks, current_user.username, how, _confirm_outside())
    current_app.logger.info("field capture: site %s %s by %s", site.id, "created" if created else "(retry)",
                            current_user.username)
    response = _site_response(site.id, 201 if created else 200)
    response.headers["Location"] = url_for("api.show_site", site_id=site.id)
    return response


@bp.patch("/field/sites/<int:site_id>")
@field_writer
def correct_site(site_id: int):
    expected = _if_match()
    feature, checks, how = _capture()
    patch = sites.feature_to_raw(feature, partial=True)
    field.correct(get_session(), site_id, patch, checks, expected, current_user.username, how, _confirm_outside())
    return _site_response(site_id)


@bp.post("/field/sites/<int:site_id>/photos")
@field_writer
def add_photo(site_id: int) -> Response:
    """One photo, whole: stored and recorded in one go or not at all (scouting.photos.add_photo)."""
    session = get_session()
    photo, _suggestion = photos.add_photo(session, photo_store(), site_id, _uploaded_file(),
                                          request.form.get("caption"), current_user.username, _max_pixels())
    current_app.logger.info("photo %s added to site %s by %s (field)", photo.id, site_id, current_user.username)
    return json_response(photos.photo_json(photo, staff=True), 201)
