"""Planner pages for files: a site's photos on its edit page, a new site from a geotagged photo, and the
import page (dry run, then commit of the very same file).

Signed-in planners and admins only (`planner_required`); every POST carries the CSRF token (CSRFProtect).
The cores are scouting.photos (through the photo API's helpers, so a page upload is checked exactly like an
API upload) and scouting.imports.

An import's file is kept between the dry run and the commit in <instance>/imports/<token>/ (upload.bin, mode
0600, never the uploaded name, and meta.json with the owner's id and the chosen options).  The token is random
(192 bits) and only its owner may commit it; it is claimed by renaming, so it commits at most once, and the
folder is removed after the commit.  Kept files not committed within a day are removed on later uploads.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from .. import get_session, imports, photos, vocab
from ..errors import InvalidParameter, UnsupportedMediaType
from ..i18n import current_language
from ..search import get_site
from .photos import _max_pixels, _uploaded_file, photo_store
from .planner import SiteForm, _choices, _facility_rows, _fill, planner_required

bp = Blueprint("planner_uploads", __name__)

TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
KEEP_SECONDS = 24 * 3600
UPLOAD_NAME, META_NAME = "upload.bin", "meta.json"


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
        hit = get_site(get_session(), site_id)
        if hit is None:
            abort(404)
        _fill(form, hit)
    else:
        form.position_method.data = "surveyed"
    return render_template("site_form.html", form=form, hit=hit, errors={}, stale=None, label=label,
                           facility_form=_facility_rows(hit, label, submitted=False), **messages), status


# --------------------------------------------------------------------------- photos of a site

@bp.post("/sites/<int:site_id>/photos")
@planner_required
def add_photo(site_id: int):
    session = get_session()
    if get_site(session, site_id) is None:
        abort(404)
    try:
        data = _uploaded_file()
        photo, _ = photos.add_photo(session, photo_store(), site_id, data, request.form.get("caption"),
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
    datum = SelectField(choices=[("wgs84", "WGS-84 (GPS, 天地图)"), ("gcj02", "GCJ-02 (高德 Amap)"),
                                 ("bd09", "BD-09 (百度 Baidu)")], default="wgs84")
    genre_default = SelectField(choices=[], default="")
    confirm_outside = BooleanField()


def _import_form() -> ImportForm:
    form = ImportForm()
    label = "zh" if current_language() == "zh_CN" else "en"
    form.genre_default.choices = [("", "—")] + [(t.slug, getattr(t, label)) for t in vocab.GENRES.values()]
    return form


def _import_root() -> Path:
    root = Path(current_app.config.get("IMPORT_KEEP_DIR") or os.path.join(current_app.instance_path, "imports"))
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def _forget_old(root: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for entry in root.iterdir():
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass


def _rows(report: imports.ImportReport) -> list[dict]:
    out = []
    for r in report.rows:
        names = " / ".join(dict.fromkeys(n for n in (r.name_zh, r.name_en) if n))
        field, reason = "", ""
        if r.error:
            field, reason = r.error.get("name", ""), r.error.get("reason", "")
        elif r.duplicate_of or r.changes:
            reason = imports._detail(r)
        out.append({"row": r.line or r.row, "status": r.action, "name": names, "field": field, "reason": reason})
    return out


def _report_page(form, report, status: int = 200, token: str | None = None, error: str | None = None):
    return render_template("planner_import.html", form=form, report=report, rows=_rows(report) if report else [],
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
    root = _import_root()
    _forget_old(root)
    token = secrets.token_urlsafe(24)  # 192 bits, 32 characters
    folder = root / token
    try:
        options = imports.options_from_config(current_app.config, datum=form.datum.data,
                                              genre_default=form.genre_default.data or None,
                                              confirm_outside=bool(form.confirm_outside.data)).checked()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidParameter("file", "is missing: choose a file to import")
        folder.mkdir(mode=0o700)
        path = imports.save_upload(upload.stream, folder, options.max_bytes)
        os.chmod(path, 0o600)
        filename = imports.display_name(upload.filename)
        report = imports.run_import(get_session(), path, filename, options, commit=False,
                                    actor=f"import:{current_user.username}")
    except InvalidParameter as err:
        shutil.rmtree(folder, ignore_errors=True)
        return _report_page(form, None, err.status, error=err.detail)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    totals = report.totals
    if totals["invalid"] or not (totals["create"] + totals["update"]):
        shutil.rmtree(folder, ignore_errors=True)  # nothing could be committed: keep nothing
        return _report_page(form, report)
    meta = {"owner": current_user.id, "filename": filename, "created": time.time(),
            "options": {"datum": options.datum, "genre_default": options.genre_default,
                        "confirm_outside": options.confirm_outside}}
    fd = os.open(folder / META_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(meta, out)
    current_app.logger.info("import dry run by %s of %s: %s", current_user.username, filename, totals)
    return _report_page(form, report, token=token)


@bp.post("/import/<token>/commit")
@planner_required
def import_commit(token: str):
    if not TOKEN.fullmatch(token):
        abort(404)
    folder = _import_root() / token
    try:
        meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        abort(404)
    if meta.get("owner") != current_user.id:
        abort(404)  # another planner's upload: as if it did not exist
    claimed = folder.with_name(token + ".committing")
    try:
        os.rename(folder, claimed)  # at most one commit per token, even when the button is pressed twice
    except OSError:
        abort(404)
    try:
        options = imports.options_from_config(current_app.config, **meta["options"]).checked()
        report = imports.run_import(get_session(), claimed / UPLOAD_NAME, meta["filename"], options, commit=True,
                                    actor=f"import:{current_user.username}")
    finally:
        shutil.rmtree(claimed, ignore_errors=True)
    current_app.logger.info("import commit by %s of %s: %s", current_user.username, meta["filename"], report.totals)
    return _report_page(_import_form(), report, 200 if report.committed else 422)
