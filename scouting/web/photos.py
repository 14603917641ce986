"""Site photos over HTTP: upload, list, delete and locate through the token API; public copies and thumbnails
as plain files; originals only with a planner's token.

Configuration (app.config, or SCOUTING_* environment variables): PHOTO_DIR (default <instance>/photos),
PHOTO_MAX_BYTES (default 15 MiB), PHOTO_MAX_PIXELS (default Pillow's decompression-bomb limit).
"""
from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, g, request, send_file, url_for

from .. import photos
from ..errors import InvalidParameter, UnsupportedMediaType
from .api import json_response
from .auth import api_user, bearer_user
from .session import get_session

bp = Blueprint("photos", __name__)

FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and a caption, beyond the photo itself
PUBLIC_MAX_AGE = 24 * 3600


def photo_store() -> photos.PhotoStore:
    return photos.PhotoStore(current_app.config.get("PHOTO_DIR") or os.path.join(current_app.instance_path, "photos"))


def _max_bytes() -> int:
    return int(current_app.config.get("PHOTO_MAX_BYTES") or photos.DEFAULT_MAX_BYTES)


def _max_pixels() -> int | None:
    value = current_app.config.get("PHOTO_MAX_PIXELS")
    return int(value) if value else None


def _too_large(limit: int) -> photos.PhotoTooLarge:
    return photos.PhotoTooLarge("file", f"is larger than {limit:,} bytes, the most a photo may have")


def _uploaded_file() -> bytes:
    """The multipart field `file`, read up to the limit (its name and declared type are ignored)."""
    limit = _max_bytes()
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD:
        raise _too_large(limit)
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send the photo as multipart/form-data, in the field 'file'")
    upload = request.files.get("file")  # over MAX_CONTENT_LENGTH: Werkzeug's 413, answered as problem+json
    if upload is None:
        raise InvalidParameter("file", "is required: send the photo as multipart/form-data in the field 'file'")
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _staff_reader() -> bool:
    """Optional token on reads: a planner's or admin's token shows the staff fields; a wrong token is refused."""
    user = bearer_user()
    return user is not None and user.can_edit_sites()


def _file_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --------------------------------------------------------------------------- API

@bp.post("/api/sites/<int:site_id>/photos")
@api_user()
def upload_photo(site_id: int):
    session = get_session()
    data = _uploaded_file()
    photo, suggestion = photos.add_photo(session, photo_store(), site_id, data, request.form.get("caption"),
                                         g.api_user.username, _max_pixels())
    current_app.logger.info("photo %s added to site %s by %s", photo.id, site_id, g.api_user.username)
    body = photos.photo_json(photo, staff=True)
    if suggestion:
        body["suggested_position"] = suggestion
    response = json_response(body, 201)
    response.headers["Location"] = url_for("photos.show_photo", photo_id=photo.id)
    return response


@bp.get("/api/sites/<int:site_id>/photos")
def list_site_photos(site_id: int):
    staff = _staff_reader()
    return json_response({"site_id": site_id, "photos": photos.list_photos(get_session(), site_id, staff)})


@bp.get("/api/photos/<int:photo_id>")
def show_photo(photo_id: int):
    staff = _staff_reader()
    return json_response(photos.photo_json(photos.get_photo(get_session(), photo_id, staff), staff))


@bp.get("/api/photos/<int:photo_id>/original")
@api_user()
def photo_original(photo_id: int):
    path, photo = photos.original_file(get_session(), photo_store(), photo_id)
    response = send_file(path, mimetype=photo.content_type, as_attachment=True,
                         download_name=f"photo-{photo.id}.{photo.original_ext}", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return _file_headers(response)


@bp.delete("/api/photos/<int:photo_id>")
@api_user()
def delete_photo(photo_id: int):
    photos.delete_photo(get_session(), photo_store(), photo_id)
    current_app.logger.info("photo %s deleted by %s", photo_id, g.api_user.username)
    return Response(status=204)


@bp.post("/api/photos/locate")
@api_user()
def locate_photo():
    """The GPS position a photo records, to create a site from it (POST /api/sites); nothing is stored."""
    return json_response(photos.locate(_uploaded_file(), _max_pixels()))


# --------------------------------------------------------------------------- public files

def _public(token: str, ext: str, kind: str):
    path, mimetype = photos.public_file(get_session(), photo_store(), token, ext, kind)
    return _file_headers(send_file(path, mimetype=mimetype, max_age=PUBLIC_MAX_AGE, conditional=True))


@bp.get("/photos/<token>.<ext>")
def public_photo(token: str, ext: str):
    return _public(token, ext, "public")


@bp.get("/photos/<token>/thumb.<ext>")
def photo_thumbnail(token: str, ext: str):
    return _public(token, ext, "thumb")


# Token-authorised writes: no cookie is authority here, so no CSRF token is needed.
CSRF_EXEMPT = (upload_photo, delete_photo, locate_photo)
