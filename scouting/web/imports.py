"""POST /api/import: a planner's file of sites, as a dry run (the default) or committed in one transaction.

Token-authorised like every API write (so exempt from CSRF); the core is scouting.imports.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, current_app, g, request

from .. import checks, imports
from ..errors import InvalidParameter, UnsupportedMediaType
from .api import json_response
from .auth import api_user
from .session import get_session

bp = Blueprint("imports", __name__)

PARAMETERS = ("datum", "commit", "layer", "genre_default", "confirm_outside")
MULTIPART_SLACK = 64 * 1024  # the multipart envelope around the file


@bp.post("/api/import")
@api_user()
def import_sites():
    options = imports.options_from_config(current_app.config)
    # Let through an upload up to the import limit (the app-wide MAX_CONTENT_LENGTH may be lower), no more.
    request.max_content_length = options.max_bytes + MULTIPART_SLACK
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send the file as multipart/form-data, in the field `file`")
    args = request.form.to_dict() | request.args.to_dict()
    # A multipart part whose name Werkzeug cannot read comes as the key None.
    unknown = sorted(k if isinstance(k, str) else "(a form field without a readable name)"
                     for k in set(args) - set(PARAMETERS))
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; valid parameters are {', '.join(PARAMETERS)}")
    commit = checks.flag(args.get("commit"), "commit")
    confirm_outside = checks.flag(args.get("confirm_outside"), "confirm_outside")
    options = imports.options_from_config(
        current_app.config, datum=args.get("datum") or "wgs84", layer=args.get("layer"),
        genre_default=args.get("genre_default") or None, confirm_outside=confirm_outside).checked()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidParameter("file", "is missing: send the file as multipart/form-data in the field `file`")
    Path(options.temp_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scout-upload-", dir=options.temp_dir) as tmp:
        path = imports.save_upload(upload.stream, Path(tmp), options.max_bytes)
        report = imports.run_import(get_session(), path, upload.filename, options, commit=commit,
                                    actor=f"import:{g.api_user.username}")
    body = report.as_json()
    current_app.logger.info("import by %s of %s: %s", g.api_user.username, report.file, body["totals"])
    if commit and not report.committed:
        return json_response(body, 422)
    return json_response(body, 201 if report.committed and body["totals"]["create"] else 200)
