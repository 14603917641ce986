"""Bulk import of sites from a planner's file: GeoJSON, KML/KMZ, GPX, CSV, GeoPackage, zipped Shapefile.

Framework-free core shared by `flask --app app import`, `POST /api/import` and the import page.  Its parts,
each readable on its own:

* `readers` — one reader per format behind one interface, chosen by the file's content (never its name);
  hostile files (too big, XML with a DTD/entities, zip bombs, unsafe paths in archives, garbage) are
  refused with an `ImportFileError` naming `file`;
* `mapping` — a row's attributes -> the fields of a site record (pure: no database);
* `plan` — `run_import`: each row classified (create, update, unchanged, duplicate, invalid) and, on a
  commit with no invalid row, written in one transaction;
* `report` — the report as JSON, as the CLI's table and as the page's rows;
* `staging` — uploads kept between the page's dry run and its commit;
* `options` — the caller's choices and the size limits, and the errors.

Callers use the names below (`imports.run_import`, ...): the split into modules is not their concern.
"""
from __future__ import annotations

from .mapping import map_props, site_names
from .options import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_UNZIPPED_BYTES,
    FORMATS,
    PROGRESS_MIN_ROWS,
    READABLE,
    ImportFileError,
    ImportOptions,
    ImportTooLarge,
    MiB,
    display_name,
    options_from_config,
)
from .plan import DEFAULT_ACCURACY_M, DEFAULT_POSITION_METHOD, DUPLICATE_RADIUS_M, SAME_POSITION_M, run_import
from .readers import READERS, Reader, Source, SourceRow, read_source
from .report import ACTIONS, ImportReport, RowResult, page_rows, row_detail
from .staging import Staging, save_upload, staging_root

__all__ = [
    "ACTIONS", "DEFAULT_ACCURACY_M", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_ROWS", "DEFAULT_MAX_UNZIPPED_BYTES",
    "DEFAULT_POSITION_METHOD", "DUPLICATE_RADIUS_M", "FORMATS", "PROGRESS_MIN_ROWS", "READABLE", "READERS",
    "SAME_POSITION_M", "ImportFileError", "ImportOptions", "ImportReport", "ImportTooLarge", "MiB", "Reader",
    "RowResult", "Source", "SourceRow", "Staging", "display_name", "map_props", "options_from_config",
    "page_rows", "read_source", "row_detail", "run_import", "save_upload", "site_names", "staging_root",
]
