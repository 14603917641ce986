"""GPX (phone GPS apps, 两步路, Garmin): its waypoints are sites; tracks and routes are not imported."""
from __future__ import annotations

from pathlib import Path

from .base import Probe, Reader, Source
from .ogr import read_ogr


class GpxReader(Reader):
    format = "gpx"

    def accepts(self, probe: Probe) -> bool:
        return probe.container == "xml" and probe.xml_kind == "gpx"

    def read(self, probe: Probe, workdir: Path) -> Source:
        gpx = workdir / "upload.gpx"
        gpx.write_bytes(probe.data)  # checked by defusedxml (the probe's xml_root) before GDAL sees it
        source = read_ogr(gpx, "gpx", probe.opts, layers=["waypoints"])
        source.generated_descriptions = True  # <desc> is often the exporting app's
        return source
