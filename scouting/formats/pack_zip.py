"""The whole pack as one zip: every export format, the print view as HTML, and the photos."""
from __future__ import annotations

import io
import zipfile

from .export import EXPORT_FORMATS, ExportItem, export


def pack_zip(items: list[ExportItem], name: str, print_html: str, photos: list[tuple[str, bytes]] | None = None) -> bytes:
    """A pack has at most a few hundred sites: building the zip in memory is fine.

    `photos`: (file name, bytes) of the public copies (no metadata) of the sites' photos, put under photos/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for fmt in EXPORT_FORMATS:
            out = export(items, fmt, name)
            archive.writestr(f"pack.{out.extension}", b"".join(out.chunks))
        archive.writestr("print.html", print_html.encode("utf-8"))
        for photo_name, data in photos or []:
            archive.writestr(f"photos/{photo_name}", data, compress_type=zipfile.ZIP_STORED)  # already compressed
        archive.writestr("README.txt", (
            f"{name}\n\nWencheng Scout location pack. pack.geojson (RFC 7946, WGS-84), pack.kml (Google Earth, Ovital),\n"
            "pack.gpx (phone GPS apps), pack.gpkg (QGIS), pack.csv (Excel; WGS-84 and GCJ-02 columns), print.html.\n"
            + ("photos/: the sites' photos, named <pack position>-<site slug>-<n>; camera data and GPS removed.\n"
               if photos else "Photos: none are attached to these sites yet.\n")).encode())
    return buffer.getvalue()
