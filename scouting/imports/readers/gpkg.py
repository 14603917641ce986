"""GeoPackage (QGIS, ArcGIS): every point layer, or the one chosen; read by GDAL from a copy under our name."""
from __future__ import annotations

import shutil
from pathlib import Path

from .base import GEOPACKAGE_IDS, Probe, Reader, Source
from .ogr import read_ogr


class GeoPackageReader(Reader):
    format = "gpkg"

    def accepts(self, probe: Probe) -> bool:
        # Any other SQLite database is refused by read_source ("an SQLite database but not a GeoPackage").
        return probe.container == "sqlite" and probe.head[68:72] in GEOPACKAGE_IDS

    def read(self, probe: Probe, workdir: Path) -> Source:
        gpkg = workdir / "upload.gpkg"
        shutil.copyfile(probe.path, gpkg)
        return read_ogr(gpkg, "gpkg", probe.opts)
