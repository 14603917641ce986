"""GeoPackage writing, run in a child process: `python -P gpkg.py OUT.gpkg [TITLE] < rows.jsonl`.

Why a child: SQLite loads mod_spatialite with RTLD_GLOBAL, and GDAL (bundled in the pyogrio wheel,
with its own SQLite and PROJ) loaded into the same process afterwards binds to those system copies
and crashes.  A fresh interpreter that never loads SpatiaLite is safe whatever the app imported first,
and a GDAL failure cannot take a web worker down with it.

This file imports nothing from the app (it runs as a script); rows are JSON objects, one a line,
with the GPKG_COLUMNS plus `lon`/`lat` (WGS-84).
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any

GPKG_LAYER = "sites"
GPKG_COLUMNS = ("id", "slug", "name_zh", "name_en", "base", "genres", "genre_labels_zh", "terrain", "facilities",
                "facility_status", "facility_status_zh", "elevation_m", "coord_accuracy_m", "position_method",
                "gcj02_lon", "gcj02_lat", "description_zh", "description_en", "access_notes_zh", "pack_position",
                "pack_note")
# Fixed column types: each batch is appended to the layer the first one created, so a batch whose
# elevations are all missing must not turn the column into text.
GPKG_DTYPES = {"id": "int64", "elevation_m": "float64", "coord_accuracy_m": "int64", "gcj02_lon": "float64",
               "gcj02_lat": "float64", "pack_position": "Int64"}
BATCH_ROWS = 1000  # rows per append: bounds the child's memory on big exports


def _write_batch(path: str, rows: list[dict[str, Any]], append: bool, title: str | None) -> None:
    import geopandas
    import pandas

    columns = {name: pandas.Series([row[name] for row in rows], dtype=GPKG_DTYPES.get(name, object)) for name in GPKG_COLUMNS}
    geometry = geopandas.points_from_xy([row["lon"] for row in rows], [row["lat"] for row in rows])
    frame = geopandas.GeoDataFrame(pandas.DataFrame(columns), geometry=geometry, crs="EPSG:4326")
    # The title becomes the layer's identifier, the name QGIS shows in its browser.
    options = {} if append or not title else {"layer_options": {"IDENTIFIER": title}}
    frame.to_file(path, driver="GPKG", layer=GPKG_LAYER, engine="pyogrio", mode="a" if append else "w",
                  geometry_type="Point", **options)


def write_gpkg(rows: Iterable[dict[str, Any]], path: str, title: str | None = None, batch_rows: int = BATCH_ROWS) -> int:
    """Write the rows as layer `sites` in batches; an empty export still gets its (empty) layer."""
    batch: list[dict[str, Any]] = []
    written = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_rows:
            _write_batch(path, batch, append=written > 0, title=title)
            written += len(batch)
            batch = []
    if batch or not written:
        _write_batch(path, batch, append=written > 0, title=title)
        written += len(batch)
    return written


def _read_rows(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.strip():
            yield json.loads(line)  # UTF-8 bytes: independent of the child's locale


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -P gpkg.py OUT.gpkg [TITLE] < rows.jsonl", file=sys.stderr)
        return 2
    write_gpkg(_read_rows(sys.stdin.buffer), argv[0], argv[1] if len(argv) == 2 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
