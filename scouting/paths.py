"""Where the project's own files are (templates, static files, migrations, seed data)."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
