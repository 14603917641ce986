"""A zipped Shapefile (.shp with its .shx, .dbf, .prj and maybe .cpg): each shapefile in the zip is a layer.

A bare .shp cannot be read (its attributes and CRS are in the other files): read_source says so.  Without a
.cpg GDAL would read the attributes as Latin-1, but Chinese shapefiles are UTF-8 or GBK: the .dbf says which.
"""
from __future__ import annotations

import re
from pathlib import Path

from ...errors import InvalidParameter
from ..options import ImportFileError
from .archive import extract, member_label
from .base import Probe, Reader, Source, SourceRow
from .ogr import ogr_layer


class ShapefileReader(Reader):
    format = "shapefile"

    def accepts(self, probe: Probe) -> bool:
        return probe.container == "zip" and bool(probe.members_ending(".shp"))

    def read(self, probe: Probe, workdir: Path) -> Source:
        opts, archive, files = probe.opts, probe.archive, probe.zip_members
        shps = probe.members_ending(".shp")
        budget = [opts.max_unzipped_bytes]
        parts = {}
        for info in files:
            stem, dot, ext = info.filename.rpartition(".")
            if dot and ext.lower() in ("shp", "shx", "dbf", "prj", "cpg"):
                parts.setdefault(stem, {})[ext.lower()] = info
        layers: list[tuple[str, Path, str | None]] = []
        for n, shp in enumerate(sorted(shps, key=lambda i: i.filename), start=1):
            stem = shp.filename.rpartition(".")[0]
            members = parts.get(stem, {})
            label = re.split(r"[\\/]", member_label(shp))[-1].rpartition(".")[0]
            if opts.layer and opts.layer != label:
                continue
            if "dbf" not in members:
                raise ImportFileError(f"the shapefile {label!r} has no .dbf (its attributes) in the archive")
            for ext, info in members.items():
                extract(archive, info, workdir / f"layer{n}.{ext}", budget)
            layers.append((label, workdir / f"layer{n}.shp", None if "cpg" in members else _dbf_encoding(workdir / f"layer{n}.dbf")))
        if not layers:
            raise InvalidParameter("layer", f"the archive has no shapefile {opts.layer!r}; it has "
                                            + ", ".join(re.split(r"[\\/]", s.filename)[-1].rpartition('.')[0] for s in shps))
        rows: list[SourceRow] = []
        for label, shp_path, encoding in layers:
            rows.extend(ogr_layer(shp_path, None, label, opts, len(rows), encoding))
        return Source("shapefile", rows, [label for label, _, _ in layers])


def _dbf_encoding(dbf: Path) -> str:
    try:
        dbf.read_bytes().decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"
