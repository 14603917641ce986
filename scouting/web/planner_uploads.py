"""Planner pages for files: a site's photos on its edit page, a new site from a geotagged photo, and the
import page (dry run, then commit of the very same file).

Signed-in planners and admins only (`planner_required`); every POST carries the CSRF token (CSRFProtect).
The cores are scouting.photos (through the photo API's helpers, so a page upload is checked exactly like an
API upload) and scouting.imports.

An import's file is kept between the dry run and the commit by scouting.imports.staging (a random token that
only its owner may commit, at most once; uploads not committed within a day are removed).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from .. import imports, photos, sites, vocab
from ..errors import InvalidParameter, UnsupportedMediaType
from ..i18n import current_language
from ..imports.staging import NotStaged, Staging, staging_root
from .photos import _max_pixels, _uploaded_file, photo_store
from .planner import SiteForm, _choices, _facility_rows, _fill, planner_required, site_labels
from .session import get_session

bp = Blueprint("planner_uploads", __name__)

@bp.app_template_global()
def staff_site_photos(site_id: int) -> list[dict]:
    """A site's photos for its edit page (with the staff facts: who uploaded, EXIF position)."""
    return [photos.photo_json(p, staff=True) for p in photos.site_photos(get_session(), site_id)]


def _site_page(site_id: int | None, status: int, **messages):
    """The site form as its GET shows it, with a message at the photo upload (or the from-photo form)."""
    label = "zh" if current_language() == "zh_CN" else "en"
    form = SiteForm(formdata=None)
    _choices(form, label)
    hit = None
    if site_id is not None:
        hit = sites.site_or_404(get_session(), site_id)
        _fill(form, hit)
    else:
        form.position_method.data = "surveyed"
    return render_template("site_form.html", form=form, hit=hit, errors={}, stale=None, label=label,
                           labels=site_labels(), facility_form=_facility_rows(hit, label, submitted=False),
                           **messages), status


# --------------------------------------------------------------------------- photos of a site

@bp.post("/sites/<int:site_id>/photos")
@planner_required
def add_photo(site_id: int):
    session = get_session()
    sites.site_or_404(session, site_id)
    try:
        data = _uploaded_file()
        photo, _added = photos.add_photo(session, photo_store(), site_id, data, request.form.get("caption"),
                                    current_user.username, _max_pixels())
    except (InvalidParameter, UnsupportedMediaType) as err:
        return _site_page(site_id, err.status, photo_error=err.detail)
    current_app.logger.info("photo %s added to site %s by %s (page)", photo.id, site_id, current_user.username)
    return redirect(url_for("planner.edit", site_id=site_id) + "#site-photos")


@bp.post("/photos/<int:photo_id>/delete")
@planner_required
def delete_photo(photo_id: int):
    session = get_session()
    site_id = photos.get_photo(session, photo_id, include_deleted_sites=True).site_id
    photos.delete_photo(session, photo_store(), photo_id)
    current_app.logger.info("photo %s deleted by %s (page)", photo_id, current_user.username)
    return redirect(url_for("planner.edit", site_id=site_id) + "#site-photos")


def _clean_filename(name: str | None) -> str:
    """The last part of an uploaded name, printable characters only, at most 80."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in "<>\"'`").strip()
    return base[:80] or "photo"


@bp.post("/sites/new/from-photo")
@planner_required
def new_from_photo():
    """Read the position a photo's EXIF GPS records (nothing is stored) and open the new-site form there."""
    try:
        data = _uploaded_file()
        found = photos.locate(data, _max_pixels())
    except (InvalidParameter, UnsupportedMediaType) as err:
        return _site_page(None, err.status, from_photo_error=err.detail)
    position = found.get("position")
    if not position:
        return _site_page(None, 400, from_photo_error="no_gps")
    name = _clean_filename(request.files["file"].filename)
    return redirect(url_for("planner.edit", lon=f"{position['lon']:.7f}", lat=f"{position['lat']:.7f}",
                            source=f"EXIF GPS of a phone photo, {name}"))


# --------------------------------------------------------------------------- import

class ImportForm(FlaskForm):
    datum = SelectField(choices=[], default="wgs84")  # labels in the reader's language: _import_form
    genre_default = SelectField(choices=[], default="")
    confirm_outside = BooleanField()


def _import_form() -> ImportForm:
    form = ImportForm()
    form.datum.choices = [("wgs84", _("WGS-84 (GPS, Tianditu)")), ("gcj02", _("GCJ-02 (Amap)")),
                          ("bd09", _("BD-09 (Baidu Maps)"))]
    label = "zh" if current_language() == "zh_CN" else "en"
    form.genre_default.choices = [("", "—")] + [(t.slug, getattr(t, label)) for t in vocab.GENRES.values()]
    return form


def _staging() -> Staging:
    return Staging(staging_root(current_app.config, current_app.instance_path))


def _report_page(form, report, status: int = 200, token: str | None = None, error: str | None = None):
    return render_template("planner_import.html", form=form, report=report, rows=imports.page_rows(report) if report else [],
                           totals=report.totals if report else None, token=token, error=error), status


@bp.route("/import", methods=["GET"])
@planner_required
def import_page():
    return render_template("planner_import.html", form=_import_form(), report=None, rows=[], totals=None,
                           token=None, error=None)


@bp.post("/import")
@planner_required
def import_dry_run():
    form = _import_form()
    if not form.validate_on_submit():
        return _report_page(form, None, 400, error="; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    staging = _staging()
    staged = None
    try:
        options = imports.options_from_config(current_app.config, datum=form.datum.data,
                                              genre_default=form.genre_default.data or None,
                                              confirm_outside=bool(form.confirm_outside.data)).checked()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidParameter("file", "is missing: choose a file to import")
        staged = staging.new()
        path = staging.save(staged, upload.stream, options.max_bytes)
        filename = imports.display_name(upload.filename)
        report = imports.run_import(get_session(), path, filename, options, commit=False,
                                    actor=f"import:{current_user.username}")
    except InvalidParameter as err:
        if staged:
            staging.discard(staged)
        return _report_page(form, None, err.status, error=err.detail)
    except BaseException:
        if staged:
            staging.discard(staged)
        raise
    totals = report.totals
    if totals["invalid"] or not (totals["create"] + totals["update"]):
        staging.discard(staged)  # nothing could be committed: keep nothing
        return _report_page(form, report)
    staging.keep(staged, current_user.id, filename, {"datum": options.datum, "genre_default": options.genre_default,
                                                     "confirm_outside": options.confirm_outside})
    current_app.logger.info("import dry run by %s of %s: %s", current_user.username, filename, totals)
    return _report_page(form, report, token=staged.token)


@bp.post("/import/<token>/commit")
@planner_required
def import_commit(token: str):
    try:
        with _staging().claim(token, current_user.id) as claimed:
            meta = claimed.meta
            options = imports.options_from_config(current_app.config, **meta["options"]).checked()
            report = imports.run_import(get_session(), claimed.upload, meta["filename"], options, commit=True,
                                        actor=f"import:{current_user.username}")
    except NotStaged:
        abort(404)
    current_app.logger.info("import commit by %s of %s: %s", current_user.username, meta["filename"], report.totals)
    return _report_page(_import_form(), report, 200 if report.committed else 422)
