"""The sweep of what a crash left behind: old partial and orphan files go, young ones (requests still running)
and everything the database refers to stay; a committed upload's .part files are renamed into place."""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

from PIL import Image

from .helpers import auth


def age(path: Path, seconds: float) -> Path:
    """Make a file or folder look `seconds` old (the sweep judges by modification time)."""
    then = time.time() - seconds
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (then, then))
    return path


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def upload(client) -> dict:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG")
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    resp = client.post(f"/api/sites/{site['id']}/photos", headers=auth(client),
                       content_type="multipart/form-data", data={"file": (io.BytesIO(out.getvalue()), "a.jpg")})
    assert resp.status_code == 201
    return resp.get_json()


def test_sweep_removes_leftovers_and_keeps_the_rest(writer):
    app = writer.application
    instance = Path(app.instance_path)
    photos, temp, imports = instance / "photos", Path(app.config["TEMP_DIR"]), instance / "imports"
    kept_photo = upload(writer)
    kept_files = sorted(p for p in photos.rglob("*") if p.is_file())
    for path in kept_files:
        age(path, 7200)  # old, but the database refers to them

    hour = 3600
    token_gone, token_young = "G" * 24, "Y" * 24
    for folder in (temp / "scout-upload-abc", temp / "scout-import-def" / "x",
                   imports / ("A" * 32 + ".committing"), imports / ("B" * 32)):
        touch(folder / "upload.bin")
    leftovers = [
        age(touch(photos / "public" / f".{token_gone}.jpg.part"), hour),   # staged, never committed
        age(touch(photos / "original" / f"{token_gone}.jpg"), hour),       # its row was deleted
        age(temp / "scout-upload-abc", hour),
        age(temp / "scout-import-def", hour),
        age(imports / ("A" * 32 + ".committing"), hour),  # a commit that never ended
        age(imports / ("B" * 32), hour),                  # a dry run that never ended (no meta.json)
    ]
    busy = age(touch(temp / "scout-upload-busy" / "upload.bin").parent, hour)
    young = [
        touch(photos / "public" / f".{token_young}.jpg.part"),  # a request running now (maybe in another worker)
        touch(temp / "scout-upload-now" / "upload.bin"),
        touch(busy / "still-writing.bin"),                      # an old folder with a file being written
    ]
    waiting = touch(imports / ("C" * 32) / "meta.json", b"{}")  # a dry run waiting for its commit: the page's own
    age(waiting.parent, hour)
    strangers = [age(touch(photos / "public" / "README.txt"), hour), age(touch(instance / "other.bin"), hour)]

    # A committed upload whose files were not yet renamed into place: the rename is finished.
    final = Path(kept_files[0])
    part = final.with_name(f".{final.name}.part")
    os.replace(final, part)

    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "swept 6 leftover file(s) or folder(s); completed 1 photo file(s)" in result.output
    assert not any(p.exists() for p in leftovers)
    assert all(p.exists() for p in young + [waiting] + strangers)
    assert final.exists() and not part.exists()
    assert sorted(p for p in photos.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.suffix != ".txt") == kept_files
    assert writer.get(kept_photo["url"]).status_code == 200

    # --older-than 0 (no server running): the young ones go too, what is referenced still stays.
    result = app.test_cli_runner().invoke(args=["sweep", "--older-than", "0"])
    assert result.exit_code == 0 and not any(p.exists() for p in young)
    assert all(p.exists() for p in kept_files + strangers)


def test_each_process_sweeps_at_its_first_request(writer):
    app = writer.application
    leftover = age(touch(Path(app.config["TEMP_DIR"]) / "scout-upload-old" / "upload.bin").parent, 2 * 3600)
    # The writer fixture's client has already made requests: this app swept then; a fresh process is due again.
    from scouting import create_app

    again = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True, "SECRET_KEY": "x",
                        "TEMP_DIR": app.config["TEMP_DIR"]}, instance_path=app.instance_path)
    try:
        assert leftover.exists()
        assert again.test_client().get("/api/vocabulary").status_code == 200
        assert not leftover.exists()
        # Not again before SWEEP_INTERVAL_SECONDS.
        second = age(touch(Path(app.config["TEMP_DIR"]) / "scout-upload-later" / "upload.bin").parent, 2 * 3600)
        assert again.test_client().get("/api/vocabulary").status_code == 200
        assert second.exists()
    finally:
        again.extensions["scouting"]["engine"].dispose()
