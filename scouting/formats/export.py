"""Site exports for the crew's tools: GeoJSON (QGIS), KML (Google Earth, Ovital), GPX (2bulu, GPS units),
GeoPackage (QGIS/GDAL) and CSV (Excel).

`export()` is the one entry point for the web layer and the CLI.  Items may come from a generator that
pages through the database, so every format produces its body lazily: nothing is pulled from `items`
until the first chunk is asked for, and geojson/csv/kml/gpx hold at most one buffer of output at a
time.  A GeoPackage is a SQLite file, so a child process (see gpkg.py) writes it in batches to a
temporary file first, and that file is streamed.  Coordinates are WGS-84 everywhere; GCJ-02 appears only as extra columns for Amap users.
"""
from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET  # only builds XML, never parses it
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .. import facts, vocab
from ..errors import InvalidParameter
from ..geo import wgs84_to_gcj02
from ..models import Site
from ..search import SiteHit
from . import gpkg
from .geojson import site_feature

EXPORT_FORMATS = ("geojson", "kml", "gpx", "gpkg", "csv")
CHUNK_BYTES = 64 * 1024  # one streamed piece: big enough to keep per-chunk overhead small
# Media types without a charset: Flask's Response(mimetype=...) adds "; charset=utf-8" to text/* and +xml types
# itself (a charset here would be sent twice).
MIMETYPES = {
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
    "gpx": "application/gpx+xml",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv",
}


@dataclass(frozen=True)
class ExportItem:
    hit: SiteHit               # the site and its WGS-84 lon/lat
    note: str | None = None    # a pack's note for this site (shot ideas, dates), may be None
    position: int | None = None  # order in a pack (1-based), None for filter results


@dataclass
class ExportFile:
    chunks: Iterator[bytes]    # the body, produced lazily
    mimetype: str
    extension: str


def export(items: Iterable[ExportItem], fmt: str, title: str) -> ExportFile:
    """The body of an export in `fmt`; raises InvalidParameter("format") before touching `items`."""
    writers: dict[str, Callable[[Iterable[ExportItem], str], Iterator[bytes]]] = {
        "geojson": _geojson, "kml": _kml, "gpx": _gpx, "gpkg": _gpkg, "csv": _csv,
    }
    if fmt not in writers:
        raise InvalidParameter("format", f"unknown format {fmt!r}; valid formats are {', '.join(EXPORT_FORMATS)}")
    return ExportFile(chunks=writers[fmt](items, title), mimetype=MIMETYPES[fmt], extension=fmt)


# --------------------------------------------------------------------------- shared helpers

def _stream_xml(root: ET.Element, tail: str, entries: Iterable[str]) -> Iterator[bytes]:
    """An XML document streamed entry by entry: the serialised header element is split at its closing tags
    (`tail`), the entries go in between.  ElementTree writes no whitespace, so the tail is always last."""
    head = ET.tostring(root, encoding="unicode")
    if not head.endswith(tail):
        raise RuntimeError(f"unexpected XML serialisation: {head[-40:]!r}")
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n' + head[: -len(tail)].encode()
    yield from _buffered(entry.encode() + b"\n" for entry in entries)
    yield tail.encode() + b"\n"


def _buffered(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Join small pieces into ~CHUNK_BYTES chunks (a chunk per feature would be slow to send)."""
    buffer: list[bytes] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def _genres(site: Site) -> list[str]:
    """Genre slugs in vocabulary order (tags are stored alphabetically), so 'first genre' is stable."""
    order = list(vocab.GENRES)
    return sorted((g for g in site.terms("genre") if g in vocab.GENRES), key=order.index)


def _terms(site: Site, vocabulary: str) -> list[vocab.Term]:
    terms = vocab.TAG_VOCABULARIES[vocabulary]
    order = list(terms)
    return [terms[s] for s in sorted((s for s in site.terms(vocabulary) if s in terms), key=order.index)]


def _label_dicts(site: Site, vocabulary: str) -> list[dict[str, str]]:
    return [{"slug": t.slug, "zh": t.zh, "en": t.en} for t in _terms(site, vocabulary)]


def _joined(terms: Iterable[vocab.Term], lang: str, sep: str = "、") -> str:
    return sep.join(getattr(t, lang) for t in terms)


def _seasons(site: Site) -> list[vocab.Term]:
    return [vocab.SEASONS[s] for s in (site.best_seasons or []) if s in vocab.SEASONS]


def _approximate(site: Site) -> bool:
    # The same rule as the GeoJSON `approximate` property the map uses.
    return site.position_method not in vocab.ON_SITE_METHODS or site.coord_accuracy_m > 100


def _distance(metres: float) -> str:
    if metres < 1000:
        return f"±{metres:.0f} m"
    return f"±{round(metres / 1000, 1):g} km"


def accuracy_text(site: Site) -> tuple[str, str]:
    """(zh, en) e.g. ("约 ±8 km（乡镇驻地）", "approximate, ±8 km (township seat)"): how far the real place may be."""
    method = vocab.POSITION_METHODS.get(site.position_method)
    zh = ("约 " if _approximate(site) else "") + _distance(site.coord_accuracy_m)
    en = ("approximate, " if _approximate(site) else "") + _distance(site.coord_accuracy_m)
    if method:
        zh += f"（{method.short('zh')}）"
        en += f" ({method.short('en')})"
    return zh, en


def _facility_labels(site: Site) -> list[tuple[str, str]]:
    """(zh, en) of each facility with its status, e.g. ("停车场（据报道，待核实）", "Parking (reported, unverified)")."""
    return [(facts.label(e, "zh"), facts.label(e, "en")) for e in site.facility_facts()]


def _elevation(site: Site) -> tuple[str, str]:
    return (facts.elevation_text(site.elevation_m, site.position_method, "zh"),
            facts.elevation_text(site.elevation_m, site.position_method, "en"))


def _display_name(site: Site) -> str:
    return f"{site.name_zh} ({site.name_en})" if site.name_en else site.name_zh


def _coord(value: float) -> str:
    """Fixed-point text (no exponent, which some KML/GPX readers reject); 1e-9° is ~0.1 mm."""
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


# Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/FFFF): a stray one in
# user text would make the whole file unreadable, so it is dropped.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: Any) -> str:
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))


# --------------------------------------------------------------------------- GeoJSON

def geojson_feature(item: ExportItem) -> dict[str, Any]:
    """site_feature (never with staff fields) plus labels and the pack's note and position."""
    feature = site_feature(item.hit)
    props = feature["properties"]
    for field, vocabulary in (("genre_labels", "genre"), ("terrain_labels", "terrain"), ("facility_labels", "facility")):
        props[field] = _label_dicts(item.hit.site, vocabulary)
    if item.note is not None:
        props["pack_note"] = item.note
    if item.position is not None:
        props["pack_position"] = item.position
    return feature


def _geojson(items: Iterable[ExportItem], title: str) -> Iterator[bytes]:
    # RFC 7946: no `crs`; the bbox is only known at the end, so it follows `features` (member order is free).
    yield b'{"type":"FeatureCollection","name":' + orjson.dumps(title) + b',"features":['
    box = [float("inf"), float("inf"), float("-inf"), float("-inf")]

    def features() -> Iterator[bytes]:
        for n, item in enumerate(items):
            lon, lat = item.hit.lon, item.hit.lat
            box[0], box[1], box[2], box[3] = min(box[0], lon), min(box[1], lat), max(box[2], lon), max(box[3], lat)
            yield (b"," if n else b"") + b"\n" + orjson.dumps(geojson_feature(item))

    yield from _buffered(features())
    tail = b"\n]"
    if box[0] <= box[2]:  # an empty collection has no bbox
        tail += b',"bbox":' + orjson.dumps(box)
    yield tail + b"}\n"


# --------------------------------------------------------------------------- KML

KML_NS = "http://www.opengis.net/kml/2.2"
KML_ICON = "http://maps.google.com/mapfiles/kml/paddle/wht-blank.png"
# Icon colour per genre, KML aabbggrr (alpha, blue, green, red): the white paddle is tinted with it.
GENRE_COLOURS = {
    "costume": "ff3c14dc",         # crimson
    "ming_qing": "ff1e69d2",       # chocolate
    "period": "ff2f6b55",          # olive
    "youth": "ffb469ff",           # pink
    "wedding": "ffcbc0ff",         # light pink
    "ethnic": "ff00a5ff",          # orange
    "red": "ff0000ff",             # red
    "nature": "ff32cd32",          # lime green
    "religious": "ff00d7ff",       # gold
    "wuxia": "ff4f4f2f",           # dark slate
    "historical": "ff13458b",      # saddle brown
    "documentary": "ff808080",     # grey
    "commercial": "ffe16941",      # royal blue
    "fashion": "ffd355ba",         # orchid
    "public_welfare": "ffd1ce00",  # turquoise
    "music_video": "ffe22b8a",     # blue violet
}
_KML_TAIL = "</Document></kml>"


def _style_id(genre: str) -> str:
    return f"genre-{genre}"


def _kml(items: Iterable[ExportItem], title: str) -> Iterator[bytes]:
    root = ET.Element("kml", xmlns=KML_NS)
    document = ET.SubElement(root, "Document")
    ET.SubElement(document, "name").text = _xml_text(title)
    ET.SubElement(document, "open").text = "1"
    # Every genre gets a style up front: the genres in a streamed export are not known in advance.
    for genre, colour in GENRE_COLOURS.items():
        style = ET.SubElement(document, "Style", id=_style_id(genre))
        icon_style = ET.SubElement(style, "IconStyle")
        ET.SubElement(icon_style, "color").text = colour
        ET.SubElement(ET.SubElement(icon_style, "Icon"), "href").text = KML_ICON
    yield from _stream_xml(root, _KML_TAIL, (_kml_placemark(item) for item in items))


def _kml_placemark(item: ExportItem) -> str:
    site = item.hit.site
    genres = _genres(site)
    placemark = ET.Element("Placemark", id=f"site-{site.id}")
    ET.SubElement(placemark, "name").text = _xml_text(_display_name(site))
    # ElementTree cannot write CDATA: a random token stands in for it and is swapped after serialising.
    token = f"CDATA{uuid.uuid4().hex}"
    ET.SubElement(placemark, "description").text = token
    if genres:
        ET.SubElement(placemark, "styleUrl").text = "#" + _style_id(genres[0])
    extended = ET.SubElement(placemark, "ExtendedData")
    data = {"slug": site.slug, "name_zh": site.name_zh, "name_en": site.name_en, "genres": ",".join(genres),
            "coord_accuracy_m": site.coord_accuracy_m, "position_method": site.position_method,
            "facilities": ",".join(site.terms("facility")), "facility_status": facts.as_cell(site.facility_facts()),
            "pack_position": item.position}
    for name, value in data.items():
        if value is not None:
            ET.SubElement(ET.SubElement(extended, "Data", name=name), "value").text = _xml_text(value)
    point = ET.SubElement(placemark, "Point")
    ET.SubElement(point, "coordinates").text = f"{_coord(item.hit.lon)},{_coord(item.hit.lat)}"
    text = ET.tostring(placemark, encoding="unicode")
    return text.replace(token, _cdata(_balloon(item)), 1)


def _cdata(content: str) -> str:
    """A CDATA section that cannot be closed early: every ']]>' is split across two sections."""
    return "<![CDATA[" + _xml_text(content).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _h(value: Any) -> str:
    """User text for the HTML balloon: escaped, line breaks kept."""
    return html.escape("" if value is None else str(value), quote=True).replace("\n", "<br>")


def _balloon(item: ExportItem) -> str:
    """The placemark's HTML balloon: what a crew needs at the spot, in both languages."""
    site = item.hit.site
    rows: list[tuple[str, str]] = []

    def labels(terms: list[vocab.Term]) -> str:
        return "、".join(f"{_h(t.zh)} {_h(t.en)}" for t in terms)

    if item.position is not None:
        rows.append(("顺序 Order", _h(item.position)))
    rows.append(("题材 Genres", labels([vocab.GENRES[g] for g in _genres(site)])))
    if site.terms("terrain"):
        rows.append(("地貌 Terrain", labels(_terms(site, "terrain"))))
    if site.facility_facts():
        rows.append(("设施 Facilities", "<br>".join(f"{_h(zh)} {_h(en)}" for zh, en in _facility_labels(site))))
    if site.elevation_m is not None:
        rows.append(("海拔 Elevation", "<br>".join(_h(t) for t in _elevation(site))))
    if site.best_seasons:
        rows.append(("最佳季节 Best seasons", labels(_seasons(site))))
    zh, en = accuracy_text(site)
    rows.append(("位置精度 Position accuracy", f"{_h(zh)}<br>{_h(en)}"))
    gcj_lon, gcj_lat = wgs84_to_gcj02(item.hit.lon, item.hit.lat)
    rows.append(("GCJ-02（高德 Amap）", f"{gcj_lon:.6f}, {gcj_lat:.6f}"))
    rows.append(("WGS-84 (GPS)", f"{item.hit.lon:.6f}, {item.hit.lat:.6f}"))
    parts = [f"<h3>{_h(site.name_zh)}</h3>", f"<p><i>{_h(site.name_en)}</i></p>", "<table>"]
    parts += [f"<tr><th align=\"left\">{head}</th><td>{value}</td></tr>" for head, value in rows]
    parts.append("</table>")
    for head, value in (("简介 Description", site.description_zh), ("交通 Access", site.access_notes_zh), ("备注 Pack note", item.note)):
        if value:
            parts.append(f"<p><b>{head}:</b> {_h(value)}</p>")
    return "".join(parts)


# --------------------------------------------------------------------------- GPX

GPX_NS = "http://www.topografix.com/GPX/1/1"
_GPX_TAIL = "</gpx>"


def _gpx(items: Iterable[ExportItem], title: str) -> Iterator[bytes]:
    root = ET.Element("gpx", {
        "xmlns": GPX_NS, "version": "1.1", "creator": "Wencheng Scout",
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:schemaLocation": f"{GPX_NS} http://www.topografix.com/GPX/1/1/gpx.xsd",
    })
    ET.SubElement(ET.SubElement(root, "metadata"), "name").text = _xml_text(title)
    yield from _stream_xml(root, _GPX_TAIL, (_gpx_waypoint(item) for item in items))


def _gpx_waypoint(item: ExportItem) -> str:
    site = item.hit.site
    # GPX 1.1 fixes the child order: ele, name, desc, type.
    wpt = ET.Element("wpt", lat=_coord(item.hit.lat), lon=_coord(item.hit.lon))
    if site.elevation_m is not None and site.position_method not in facts.ESTIMATED_POSITIONS:
        # <ele> is the waypoint's own elevation; at an estimated point the site's is only in <desc>.
        ET.SubElement(wpt, "ele").text = f"{site.elevation_m:g}"
    ET.SubElement(wpt, "name").text = _xml_text(_display_name(site))
    ET.SubElement(wpt, "desc").text = _xml_text(_gpx_description(item))
    genres = _genres(site)
    if genres:
        ET.SubElement(wpt, "type").text = _xml_text(f"{vocab.GENRES[genres[0]].zh} ({vocab.GENRES[genres[0]].en})")
    return ET.tostring(wpt, encoding="unicode")


def _gpx_description(item: ExportItem) -> str:
    """Plain text: GPS apps show <desc> as-is, without HTML."""
    site = item.hit.site
    genres = [vocab.GENRES[g] for g in _genres(site)]
    zh, en = accuracy_text(site)
    lines = [f"{site.name_zh} / {site.name_en}",
             f"题材 Genres: {_joined(genres, 'zh')} / {_joined(genres, 'en', ', ')}",
             f"位置精度 Accuracy: {zh} / {en}"]
    if site.elevation_m is not None:
        lines.append("海拔 Elevation: {} / {}".format(*_elevation(site)))
    for zh, en in _facility_labels(site):
        lines.append(f"设施 Facility: {zh} / {en}")
    if item.position is not None:
        lines.append(f"顺序 Order: {item.position}")
    if item.note:
        lines.append(f"备注 Pack note: {item.note}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- GeoPackage

GPKG_TIMEOUT_S = 600  # a child still writing after this is stuck, not busy


def _gpkg_row(item: ExportItem) -> dict[str, Any]:
    site = item.hit.site
    gcj_lon, gcj_lat = wgs84_to_gcj02(item.hit.lon, item.hit.lat)
    genres = _genres(site)
    return {
        "id": site.id, "slug": site.slug, "name_zh": site.name_zh, "name_en": site.name_en,
        "base": site.base.slug if site.base else None,
        "genres": ",".join(genres), "genre_labels_zh": "、".join(vocab.GENRES[g].zh for g in genres),
        "terrain": ",".join(t.slug for t in _terms(site, "terrain")),
        "facilities": ",".join(t.slug for t in _terms(site, "facility")),
        "facility_status": facts.as_cell(site.facility_facts()),
        "facility_status_zh": facts.labels_text(site.facility_facts(), "zh") or None,
        "elevation_m": site.elevation_m, "coord_accuracy_m": site.coord_accuracy_m,
        "position_method": site.position_method, "gcj02_lon": gcj_lon, "gcj02_lat": gcj_lat,
        "description_zh": site.description_zh, "description_en": site.description_en,
        "access_notes_zh": site.access_notes_zh, "pack_position": item.position, "pack_note": item.note,
        "lon": item.hit.lon, "lat": item.hit.lat,
    }


def _gpkg(items: Iterable[ExportItem], title: str) -> Iterator[bytes]:
    # GDAL needs a seekable file: a child process (see gpkg.py for why) writes it from rows piped to it
    # one by one, then the file is streamed and the directory removed, also when the download stops early.
    with tempfile.TemporaryDirectory(prefix="scout-export-") as tmp:
        path, errors = Path(tmp) / "sites.gpkg", Path(tmp) / "stderr.txt"
        with errors.open("wb") as stderr:
            child = subprocess.Popen(  # noqa: S603 - our own script, run by this interpreter, no shell
                [sys.executable, "-P", gpkg.__file__, str(path), title.replace("\x00", "")], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=stderr, cwd=tmp)
        try:
            assert child.stdin is not None  # stdin=PIPE above
            try:
                with child.stdin:
                    for item in items:
                        child.stdin.write(orjson.dumps(_gpkg_row(item)) + b"\n")
            except BrokenPipeError:
                pass  # the child died: its exit status and stderr say why, below
            status = child.wait(timeout=GPKG_TIMEOUT_S)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if status != 0:
            detail = errors.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise RuntimeError(f"writing the GeoPackage failed (exit status {status}): {detail[0]}")
        with path.open("rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk


# --------------------------------------------------------------------------- CSV

# `facilities` names what the site has; `facility_status_zh` says how each is known (for people) and
# `facility_status` the same as JSON (read back by the importer).
CSV_COLUMNS = ("id", "slug", "name_zh", "name_en", "base", "genres", "terrain", "facilities", "facility_status_zh",
               "facility_status", "lon_wgs84", "lat_wgs84",
               "lon_gcj02", "lat_gcj02", "coord_accuracy_m", "position_method", "elevation_m", "best_seasons",
               "description_zh", "access_notes_zh", "pack_position", "pack_note")
# A text cell starting with one of these is run as a formula by Excel/LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """Neutralise formulas in text; numbers stay numbers (a -3.5 elevation is data, not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_row(item: ExportItem) -> list[Any]:
    site = item.hit.site
    gcj_lon, gcj_lat = wgs84_to_gcj02(item.hit.lon, item.hit.lat)
    row = [
        site.id, site.slug, site.name_zh, site.name_en, site.base.slug if site.base else None,
        "、".join(vocab.GENRES[g].zh for g in _genres(site)),
        _joined(_terms(site, "terrain"), "zh"), _joined(_terms(site, "facility"), "zh"),
        facts.labels_text(site.facility_facts(), "zh"), facts.as_cell(site.facility_facts()),
        item.hit.lon, item.hit.lat, gcj_lon, gcj_lat, site.coord_accuracy_m, site.position_method,
        site.elevation_m, _joined(_seasons(site), "zh"),
        site.description_zh, site.access_notes_zh, item.position, item.note,
    ]
    return [_csv_cell(value) for value in row]


def _csv(items: Iterable[ExportItem], title: str) -> Iterator[bytes]:
    # The BOM makes Excel read the file as UTF-8 (else Chinese text shows as mojibake).
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: Iterable[Any]) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue().encode()

    yield "\ufeff".encode() + line(CSV_COLUMNS)
    yield from _buffered(line(_csv_row(item)) for item in items)
