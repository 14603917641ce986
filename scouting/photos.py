"""Site photos: checking an upload, making its public copy and thumbnail, storing the files, reading EXIF GPS.

No Flask here.  An upload is identified by its CONTENT (Pillow, limited to the accepted formats); its
name and declared type are never trusted.  Three files are kept per photo, all named by a random token:

* original/<token>.<ext>  the uploaded bytes, unchanged: staff only (it carries the EXIF, GPS included);
* public/<token>.<ext>    re-encoded from the pixels, upright (EXIF orientation applied), converted to
                          sRGB, at most PUBLIC_MAX_SIDE px, with no metadata at all (no EXIF, GPS, XMP, ICC);
* thumb/<token>.<ext>     the same, at most THUMB_SIDE px.

Files are written under temporary names first and renamed into place only after the database row is
committed; whatever fails, what was written is removed again.
"""
from __future__ import annotations

import io
import logging
import math
import os
import re
import secrets
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from . import audit, geo
from .errors import InvalidParameter, NotFound
from .faults import pause_point
from .models import Photo, Site
from .plain_text import check_text
from .sites import site_or_404

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 15 * 1024 * 1024
PUBLIC_MAX_SIDE = 4096
THUMB_SIDE = 320
CAPTION_LIMIT = 500
URL_PREFIX = "/photos"
KINDS = ("original", "public", "thumb")
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")

# Pillow format name -> (content type, file extension) of the original.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
try:  # HEIC (iPhones): only where pillow-heif is installed.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    FORMATS["HEIF"] = ("image/heic", "heic")
except ImportError:  # pragma: no cover - pillow-heif is in requirements.txt
    pass

PUBLIC_TYPES = {"jpg": "image/jpeg", "webp": "image/webp"}
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class UnsupportedImage(InvalidParameter):
    """The upload is not an image of an accepted format (by its content)."""

    status = 415
    title = "Unsupported media type"


class PhotoTooLarge(InvalidParameter):
    """Too many bytes, or too many pixels (a decompression bomb)."""

    status = 413
    title = "Content too large"


def accepted_names() -> str:
    names = [{"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC"}[f] for f in FORMATS]
    return ", ".join(names[:-1]) + " or " + names[-1]


# --------------------------------------------------------------------------- reading an upload

@dataclass
class Inspected:
    image: Image.Image
    format: str
    content_type: str
    original_ext: str
    gps: tuple[float, float] | None  # (lon, lat), WGS-84
    taken_at: datetime | None        # UTC


def inspect_image(data: bytes, max_pixels: int | None = None) -> Inspected:
    """Identify the image by its content and read its EXIF; the pixels are not decoded yet."""
    limit = max_pixels or Image.MAX_IMAGE_PIXELS
    if not data:
        raise InvalidParameter("file", "is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(limit) from None
    except UnidentifiedImageError:
        raise UnsupportedImage("file", f"is not a {accepted_names()} image (judged by its content, "
                                       "not its name or declared type)") from None
    except Exception as err:  # a header the decoder refuses
        log.info("photo refused: header unreadable: %s", err)
        raise InvalidParameter("file", "is damaged: its image header cannot be read") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > limit:
        raise _bomb(limit)
    content_type, ext = FORMATS[image.format]
    try:
        exif = image.getexif()
    except Exception:  # broken EXIF is no reason to refuse the pixels
        exif = Image.Exif()
    return Inspected(image, image.format, content_type, ext, _gps(exif), _taken_at(exif))


def _bomb(limit: int) -> PhotoTooLarge:
    return PhotoTooLarge("file", f"has too many pixels (at most {limit:,} are accepted): "
                                 "it may be a decompression bomb")


def _ascii(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip("\x00 ").upper()


def _dms(value: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    ref = _ascii(ref)
    if ref not in (positive, negative) or not isinstance(value, (tuple, list)) or not 1 <= len(value) <= 3:
        return None
    try:
        parts = [float(v) for v in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    degrees = sum(p / 60 ** i for i, p in enumerate(parts))
    if degrees > limit:
        return None
    return -degrees if ref == negative else degrees


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    """EXIF GPS as WGS-84 (lon, lat): phones record WGS-84.  Missing, partial or impossible values: None."""
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:
        return None
    if not gps:
        return None
    lat = _dms(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90)
    lon = _dms(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180)
    if lat is None or lon is None or (lat == 0 and lon == 0):  # 0,0: a receiver without a fix
        return None
    return lon, lat


def _taken_at(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal (with OffsetTimeOriginal if given, else the county's time zone), as UTC."""
    try:
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
        raw = _ascii(ifd.get(ExifTags.Base.DateTimeOriginal))
        offset = _ascii(ifd.get(ExifTags.Base.OffsetTimeOriginal))
        local = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    except Exception:
        return None
    match = re.fullmatch(r"([+-])(\d\d):(\d\d)", offset)
    if match:
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        tz: Any = timezone(-delta if match[1] == "-" else delta)
    else:
        tz = ZoneInfo(geo.TIMEZONE)
    return local.replace(tzinfo=tz).astimezone(UTC)


# --------------------------------------------------------------------------- making the public copy

@dataclass
class Processed:
    inspected: Inspected
    ext: str             # of the public copy and the thumbnail
    width: int
    height: int
    public: bytes
    thumb: bytes


def process_image(data: bytes, max_pixels: int | None = None) -> Processed:
    info = inspect_image(data, max_pixels)
    image = info.image
    try:
        if info.format == "JPEG":
            image.draft(None, (PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE))  # decode big JPEGs at a reduced scale
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(max_pixels or Image.MAX_IMAGE_PIXELS) from None
    except Exception as err:
        log.info("photo refused: pixels undecodable: %s", err)
        raise InvalidParameter("file", "is truncated or damaged: its pixels cannot be decoded") from None

    try:
        clean = _clean_pixels(image)
        if max(clean.size) > PUBLIC_MAX_SIDE:
            clean.thumbnail((PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE), Image.Resampling.LANCZOS)
        ext = "webp" if clean.mode == "RGBA" else "jpg"
        thumb = clean.copy()
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        public, small = _encode(clean, ext, 85), _encode(thumb, ext, 80)
    except Exception:  # an unusual pixel format Pillow reads but cannot convert
        log.exception("photo refused: could not be converted")
        raise InvalidParameter("file", "could not be converted to a web image (unusual pixel format)") from None
    return Processed(info, ext, clean.width, clean.height, public, small)


def _clean_pixels(image: Image.Image) -> Image.Image:
    """Upright sRGB pixels in a new image that carries nothing else (no EXIF, GPS, XMP, ICC, comments)."""
    icc = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)
    mode = "RGBA" if upright.has_transparency_data else "RGB"
    source = upright if upright.mode in ("RGB", "RGBA", "CMYK", "L") else upright.convert(mode)
    converted = None
    if icc:  # a camera's colour space (Display P3, Adobe RGB): convert, since the profile is dropped
        try:
            converted = ImageCms.profileToProfile(source, ImageCms.ImageCmsProfile(io.BytesIO(icc)), SRGB,
                                                  outputMode=mode)
        except Exception as err:
            log.info("photo: ICC profile not applied: %s", err)
    pixels = converted if converted is not None else source
    if pixels.mode != mode:
        pixels = pixels.convert(mode)
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    return clean


def _encode(image: Image.Image, ext: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if ext == "jpg":
        image.save(buffer, "JPEG", quality=quality, optimize=True)
    else:
        image.save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


# --------------------------------------------------------------------------- files

class PhotoStore:
    """The photo folder: original/, public/ and thumb/, files named <token>.<ext>."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, kind: str, token: str, ext: str) -> Path:
        if kind not in KINDS or not TOKEN_PATTERN.fullmatch(token) or not ext.isalnum():
            raise ValueError("not a photo file")
        return self.root / kind / f"{token}.{ext}"

    def paths(self, photo: Photo) -> list[Path]:
        return [self.path("original", photo.token, photo.original_ext), self.path("public", photo.token, photo.ext),
                self.path("thumb", photo.token, photo.ext)]

    def stage(self, token: str, files: list[tuple[str, str, bytes]]) -> Staged:
        """Write each (kind, ext, bytes) under a temporary name beside its final one."""
        staged = Staged([])
        try:
            for kind, ext, data in files:
                final = self.path(kind, token, ext)
                final.parent.mkdir(parents=True, exist_ok=True)
                temp = final.with_name(f".{final.name}.part")
                staged.moves.append((temp, final))
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
        except BaseException:
            staged.discard()
            raise
        return staged


@dataclass
class Staged:
    moves: list[tuple[Path, Path]]
    published: list[Path] = field(default_factory=list)

    def publish(self) -> None:
        try:
            for temp, final in self.moves:
                os.replace(temp, final)
                self.published.append(final)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Remove what this upload wrote: its temporary files and the final files it renamed into place."""
        for path in [temp for temp, _ in self.moves] + self.published:
            try:
                path.unlink(missing_ok=True)
            except OSError as err:
                log.warning("photo file %s not removed: %s", path, err)


# --------------------------------------------------------------------------- records

def public_url(photo: Photo) -> str:
    return f"{URL_PREFIX}/{photo.token}.{photo.ext}"


def thumb_url(photo: Photo) -> str:
    return f"{URL_PREFIX}/{photo.token}/thumb.{photo.ext}"


def photo_json(photo: Photo, staff: bool = False) -> dict[str, Any]:
    """What anyone may see; with staff=True also the original's facts and its EXIF position and time."""
    body: dict[str, Any] = {"id": photo.id, "url": public_url(photo), "thumb_url": thumb_url(photo),
                            "caption": photo.caption, "width": photo.width, "height": photo.height}
    if staff:
        gps = {"lon": photo.gps_lon, "lat": photo.gps_lat} if photo.gps_lon is not None else None
        body.update(site_id=photo.site_id, original_url=f"/api/photos/{photo.id}/original",
                    content_type=photo.content_type, bytes=photo.bytes, uploaded_by=photo.uploaded_by,
                    uploaded_at=_iso(photo.uploaded_at), taken_at=_iso(photo.taken_at), gps=gps)
    return body


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _live_site(session, site_id: int, include_deleted: bool = False):
    return site_or_404(session, site_id, include_deleted=include_deleted)


def site_photos(session, site_id: int) -> list[Photo]:
    return list(session.scalars(select(Photo).where(Photo.site_id == site_id).order_by(Photo.id)))


def site_photo_list(session, site_id: int) -> list[dict[str, Any]]:
    """The detail panel's photos: public copies only."""
    return [photo_json(p) for p in site_photos(session, site_id)] if session is not None else []


def list_photos(session, site_id: int, staff: bool = False) -> list[dict[str, Any]]:
    _live_site(session, site_id, include_deleted=staff)
    return [photo_json(p, staff) for p in site_photos(session, site_id)]


def get_photo(session, photo_id: int, include_deleted_sites: bool = False) -> Photo:
    query = select(Photo).join(Site, Site.id == Photo.site_id).where(Photo.id == photo_id)
    if not include_deleted_sites:
        query = query.where(Site.deleted_at.is_(None))
    photo = session.scalar(query)
    if photo is None:
        raise NotFound(f"there is no photo with id {photo_id}")
    return photo


def clean_caption(raw: str | None) -> str | None:
    if raw is None:
        return None
    caption = " ".join(check_text("caption", raw).split())
    if len(caption) > CAPTION_LIMIT:
        raise InvalidParameter("caption", f"is {len(caption)} characters long; at most {CAPTION_LIMIT} are allowed")
    return caption or None


def suggested_position(gps: tuple[float, float] | None, site_lon: float, site_lat: float) -> dict | None:
    if gps is None:
        return None
    lon, lat = gps
    distance = geo.distance_bearing(site_lon, site_lat, lon, lat).distance_m
    return {"lon": lon, "lat": lat, "distance_m_from_site": round(distance, 1)}


def add_photo(session, store: PhotoStore, site_id: int, data: bytes, caption: str | None, actor: str,
              max_pixels: int | None = None) -> tuple[Photo, dict | None]:
    """Check, store and record one photo; returns it and the position its EXIF GPS suggests (or None)."""
    hit = _live_site(session, site_id)
    caption = clean_caption(caption)
    done = process_image(data, max_pixels)
    info = done.inspected
    token = secrets.token_urlsafe(18)
    staged = store.stage(token, [("original", info.original_ext, data), ("public", done.ext, done.public),
                                 ("thumb", done.ext, done.thumb)])
    photo = Photo(site_id=site_id, token=token, ext=done.ext, original_ext=info.original_ext, caption=caption,
                  width=done.width, height=done.height, content_type=info.content_type, bytes=len(data),
                  uploaded_by=actor, uploaded_at=datetime.now(UTC), taken_at=info.taken_at,
                  gps_lon=info.gps[0] if info.gps else None, gps_lat=info.gps[1] if info.gps else None)
    try:
        pause_point("photo-staged")
        session.add(photo)
        session.flush()
        audit.record(session, "photo.upload", "photo", photo.id,
                     f"site {site_id}; {info.content_type}, {len(data):,} bytes")
        session.commit()
    except BaseException:
        session.rollback()
        staged.discard()
        raise
    try:
        pause_point("photo-committed")
        staged.publish()
    except BaseException:
        session.delete(photo)
        audit.record(session, "photo.delete", "photo", photo.id, f"site {site_id}; its files could not be stored")
        session.commit()
        raise
    return photo, suggested_position(info.gps, hit.lon, hit.lat)


def delete_photo(session, store: PhotoStore, photo_id: int) -> None:
    photo = get_photo(session, photo_id, include_deleted_sites=True)
    paths = store.paths(photo)
    audit.record(session, "photo.delete", "photo", photo.id, f"site {photo.site_id}")
    session.delete(photo)
    session.commit()
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            log.warning("photo file %s not removed: %s", path, err)


def locate(data: bytes, max_pixels: int | None = None) -> dict[str, Any]:
    """Only the position (and time) a photo's EXIF records; nothing is stored."""
    info = inspect_image(data, max_pixels)
    body: dict[str, Any] = {"position": None, "geometry": None, "taken_at": _iso(info.taken_at),
                            "content_type": info.content_type}
    if info.gps:
        lon, lat = info.gps
        seat = geo.distance_bearing(*geo.COUNTY_SEAT, lon, lat)
        body.update(position={"lon": lon, "lat": lat, "datum": "wgs84",
                              "distance_m_from_county_seat": round(seat.distance_m, 1)},
                    geometry={"type": "Point", "coordinates": [lon, lat]})
    else:
        body["detail"] = "the photo records no GPS position"
    return body


def public_file(session, store: PhotoStore, token: str, ext: str, kind: str) -> tuple[Path, str]:
    """The public copy or thumbnail of a photo of a site that is not deleted: (path, content type)."""
    if not TOKEN_PATTERN.fullmatch(token) or ext not in PUBLIC_TYPES:
        raise NotFound("there is no such photo")
    photo = session.scalar(select(Photo).join(Site, Site.id == Photo.site_id)
                           .where(Photo.token == token, Photo.ext == ext, Site.deleted_at.is_(None)))
    if photo is None:
        raise NotFound("there is no such photo")
    path = store.path(kind, token, ext)
    if not path.is_file():
        raise NotFound("the photo's file is missing")
    return path, PUBLIC_TYPES[ext]


def original_file(session, store: PhotoStore, photo_id: int) -> tuple[Path, Photo]:
    photo = get_photo(session, photo_id, include_deleted_sites=True)
    path = store.path("original", photo.token, photo.original_ext)
    if not path.is_file():
        raise NotFound("the photo's original file is missing")
    return path, photo


def photos_by_site(session, site_ids: list[int]) -> dict[int, list[Photo]]:
    """The photos of some sites, oldest first, by site id (a site without photos is absent)."""
    by_site: dict[int, list[Photo]] = defaultdict(list)
    if site_ids:
        for photo in session.scalars(select(Photo).where(Photo.site_id.in_(site_ids)).order_by(Photo.id)):
            by_site[photo.site_id].append(photo)
    return by_site


def pack_photo_files(session, store: PhotoStore, items: list) -> list[tuple[str, bytes]]:
    """The public copies of a pack's sites' photos as (name in the zip, bytes), in pack order."""
    by_site = photos_by_site(session, [item.hit.site.id for item in items])
    files = []
    for item in items:
        site = item.hit.site
        prefix = f"{item.position:02d}-" if item.position else ""
        for n, photo in enumerate(by_site[site.id], 1):
            try:
                data = store.path("public", photo.token, photo.ext).read_bytes()
            except OSError as err:
                log.warning("photo %s left out of a pack: %s", photo.id, err)
                continue
            files.append((f"{prefix}{site.slug}-{n}.{photo.ext}", data))
    return files
