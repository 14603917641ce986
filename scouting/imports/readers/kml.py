"""KML (Google Earth, Ovital 奥维) and KMZ (a zip whose main .kml is doc.kml or the shallowest one).

The XML is checked by defusedxml before GDAL reads it.  Placemark balloons are HTML written by the
exporting app: they become plain text, and describe new sites without overwriting stored descriptions.
"""
from __future__ import annotations

from pathlib import Path

from ..options import ImportFileError
from .archive import extract
from .base import Probe, Reader, Source, parse_xml, xml_kind
from .ogr import read_ogr


class KmlReader(Reader):
    format = "kml"

    def accepts(self, probe: Probe) -> bool:
        if probe.container == "zip":
            return bool(probe.members_ending(".kml"))
        return probe.container == "xml" and probe.xml_kind == "kml"

    def read(self, probe: Probe, workdir: Path) -> Source:
        if probe.container != "zip":
            return _read_kml(probe.data, probe, workdir)
        main = min(probe.members_ending(".kml"),
                   key=lambda i: (i.filename.lower() != "doc.kml", i.filename.count("/"), i.filename))
        target = workdir / "kmz-doc.kml"
        extract(probe.archive, main, target, [probe.opts.max_unzipped_bytes])
        data = target.read_bytes()
        kind = xml_kind(parse_xml(data))
        if kind != "kml":
            raise ImportFileError(f"the archive's .kml is not KML (its root element is <{kind}>)")
        source = _read_kml(data, probe, workdir)
        source.format = "kmz"
        return source


def _read_kml(data: bytes, probe: Probe, workdir: Path) -> Source:
    kml = workdir / "upload.kml"
    kml.write_bytes(data)
    source = read_ogr(kml, "kml", probe.opts)
    source.html_descriptions = source.generated_descriptions = True
    return source
