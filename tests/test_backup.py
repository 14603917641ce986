"""`flask backup` / `flask restore`: a restored instance serves the same sites, packs, revisions and photos;
tampered, hostile or mismatched archives are refused and change nothing.  Both backends."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from PIL import Image

from .conftest import drop_database, make_app, new_database_url
from .helpers import auth


def jpeg(size=(300, 200), colour=(200, 60, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def populated(writer):
    """The writer's seeded instance plus a pack, an edit (a revision) and a photo."""
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    url = f"/api/sites/{site['id']}"
    edit = writer.patch(url, json={"type": "Feature", "properties": {"name_en": "Edited before the backup"}},
                        headers=auth(writer, **{"If-Match": writer.get(url).headers["ETag"]}))
    assert edit.status_code == 200
    pack = writer.post("/api/packs", json={"name": "备份 pack", "site_ids": [site["id"]],
                                           "notes": {str(site["id"]): "dawn"}})
    assert pack.status_code == 201
    photo = writer.post(f"{url}/photos", headers=auth(writer), content_type="multipart/form-data",
                        data={"file": (io.BytesIO(jpeg()), "a.jpg", "image/jpeg"), "caption": "backup test"})
    assert photo.status_code == 201
    writer.site_id, writer.pack_id, writer.photo = site["id"], pack.get_json()["id"], photo.get_json()
    return writer


@pytest.fixture
def empty_instance(backend, tmp_path):
    """A second, new instance: its own database (migrated, no rows) and instance folder."""
    made = []

    def make(name="restored"):
        url = new_database_url(backend, tmp_path)
        app = make_app(url, tmp_path / name, seed=False)
        made.append((app, url))
        return app

    yield make
    for app, url in made:
        app.extensions["scouting"]["engine"].dispose()
        drop_database(url)


def served(client, site_id: int, pack_id: str, photo: dict) -> dict:
    """Everything the test compares, as served over HTTP."""
    history = client.get(f"/api/sites/{site_id}/history", headers=auth(client))
    assert history.status_code == 200
    original = client.get(photo["original_url"], headers=auth(client))
    assert original.status_code == 200
    return {
        "sites": client.get("/api/sites?limit=1000").get_json()["features"],
        "pack": client.get(f"/api/packs/{pack_id}").get_json(),
        "history": history.get_json(),
        "photos": client.get(f"/api/sites/{site_id}/photos", headers=auth(client)).get_json(),
        "public": client.get(photo["url"]).data,
        "thumb": client.get(photo["thumb_url"]).data,
        "original": original.data,
    }


def files_in(directory: Path) -> dict[str, bytes]:
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_backup_and_restore_into_a_new_instance(populated, empty_instance, tmp_path):
    before = served(populated, populated.site_id, populated.pack_id, populated.photo)
    archive = tmp_path / "scout.tar"
    result = populated.application.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "35 sites, 1 packs" in result.output and "1 photos (4 files)" in result.output
    assert archive.stat().st_mode & 0o777 == 0o600  # staff-only originals and password hashes are inside

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["backend"] == ("postgis" if "postgresql" in str(populated.application.config["DATABASE_URL"])
                                   else "spatialite")
    assert manifest["counts"] == {"sites": 35, "packs": 1, "revisions": 36, "photos": 1, "users": 2}
    assert manifest["schema_revision"] and manifest["created_at"].endswith("Z")
    assert {f["name"] for f in manifest["files"]} == set(names) - {"manifest.json"}
    assert sum(n.startswith("photos/") for n in names) == 3
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])

    restored = empty_instance()
    result = restored.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    client = restored.test_client()
    client.tokens = populated.tokens  # the accounts and their (hashed) tokens are restored too
    after = served(client, populated.site_id, populated.pack_id, populated.photo)
    assert after == before
    assert any((r["after"] or {}).get("name_en") == "Edited before the backup" for r in after["history"]["revisions"])
    assert files_in(Path(restored.instance_path) / "photos") == files_in(
        Path(populated.application.instance_path) / "photos")

    # The restored instance is a working one: it takes writes.
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    url = f"/api/sites/{site['id']}"
    assert client.patch(url, json={"type": "Feature", "properties": {"name_en": "After restore"}},
                        headers=auth(client, **{"If-Match": client.get(url).headers["ETag"]})).status_code == 200

    # Restoring again over data needs --force; with it, the later edit is gone again.
    refused = restored.test_cli_runner().invoke(args=["restore", str(archive)])
    assert refused.exit_code != 0 and "not empty" in refused.output and "--force" in refused.output
    assert client.get(url).get_json()["properties"]["name_en"] == "After restore"
    forced = restored.test_cli_runner().invoke(args=["restore", "--force", str(archive)])
    assert forced.exit_code == 0, forced.output
    assert served(client, populated.site_id, populated.pack_id, populated.photo) == before


# --------------------------------------------------------------------------- refused archives

def rewrite(source: Path, target: Path, change) -> Path:
    """Copy a tar member by member; change(name, data, manifest) returns a list of (TarInfo, data) to write."""
    with tarfile.open(source) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    manifest = json.loads(next(d for m, d in members if m.name == "manifest.json"))
    with tarfile.open(target, "w") as out:
        for member, data in members:
            if member.name == "manifest.json":
                continue
            for info, body in change(member, data, manifest):
                out.addfile(info, io.BytesIO(body) if body is not None else None)
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        out.addfile(info, io.BytesIO(body))
    return target


def member(name: str, data: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info


def flip_a_photo_byte(info, data, manifest):
    if info.name.startswith("photos/public/"):
        data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
    return [(member(info.name, data), data)]


def with_extra(extra_info: tarfile.TarInfo, extra_data: bytes | None, listed: bool = True):
    def change(info, data, manifest):
        out = [(member(info.name, data), data)]
        if info.name.startswith("photos/public/"):
            out.append((extra_info, extra_data))
            if listed:
                manifest["files"].append({"name": extra_info.name, "size": extra_info.size,
                                          "sha256": "0" * 64})
        return out
    return change


def symlink(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return info


def grow_a_photo(info, data, manifest):
    if info.name.startswith("photos/thumb/"):
        data += b"\0" * 10
    return [(member(info.name, data), data)]


def other_backend(info, data, manifest):
    if info.name.startswith("database."):
        manifest["backend"] = "postgis" if info.name == "database.sqlite" else "spatialite"
    return [(member(info.name, data), data)]


def newer_schema(info, data, manifest):
    manifest["schema_revision"] = "9999_from_the_future"
    return [(member(info.name, data), data)]


CASES = {
    "a changed byte": (flip_a_photo_byte, "does not match its checksum"),
    "an absolute path": (with_extra(member("/tmp/evil.jpg", b"x"), b"x"), "absolute path"),
    "a .. path": (with_extra(member("photos/../../evil.jpg", b"x"), b"x"), "outside its folder"),
    "a symlink": (with_extra(symlink("photos/public/AAAAAAAAAAAAAAAAAAAAAAAA.jpg"), None), "is a link"),
    "an unlisted member": (with_extra(member("photos/public/BBBBBBBBBBBBBBBBBBBBBBBB.jpg", b"x"), b"x", listed=False),
                           "does not list"),
    "a size unlike the manifest's": (grow_a_photo, "but the manifest says"),
    "another backend": (other_backend, "restore it into a"),
    "a newer schema": (newer_schema, "newer than this app knows"),
}


def test_refused_archives_change_nothing(populated, empty_instance, tmp_path):
    archive = tmp_path / "scout.tar"
    assert populated.application.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    restored = empty_instance()
    runner, client = restored.test_cli_runner(), restored.test_client()
    photo_dir = Path(restored.instance_path) / "photos"
    for label, (change, message) in CASES.items():
        bad = rewrite(archive, tmp_path / f"bad-{len(label)}.tar", change)
        for args in (["restore", str(bad)], ["restore", "--force", str(bad)]):
            result = runner.invoke(args=args)
            assert result.exit_code != 0, label
            assert message in result.output, (label, result.output)
            assert "Traceback" not in result.output
        assert client.get("/api/sites").get_json()["numberMatched"] == 0, label
        assert files_in(photo_dir) == {}, label
        assert not [p for p in Path(restored.instance_path).iterdir() if p.name.startswith(".restore-")], label

    not_tar = tmp_path / "not.tar"
    not_tar.write_bytes(b"hello" * 200)
    result = runner.invoke(args=["restore", str(not_tar)])
    assert result.exit_code != 0 and "not a backup archive" in result.output

    # A damaged archive with --force over a populated instance: the populated instance is left as it was.
    before = served(populated, populated.site_id, populated.pack_id, populated.photo)
    bad = rewrite(archive, tmp_path / "flipped.tar", flip_a_photo_byte)
    result = populated.application.test_cli_runner().invoke(args=["restore", "--force", str(bad)])
    assert result.exit_code != 0 and "checksum" in result.output
    assert served(populated, populated.site_id, populated.pack_id, populated.photo) == before


# --------------------------------------------------------------------------- consistency and schema versions

def counts(app) -> dict[str, int]:
    from sqlalchemy import text

    with app.extensions["scouting"]["engine"].connect() as conn:
        return {key: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for key, table in (("sites", "sites"), ("revisions", "site_revisions"), ("packs", "packs"))}


def test_backup_while_the_app_writes_is_one_consistent_moment(writer, empty_instance, tmp_path):
    """Edits go on during the backup; the archive holds the database of one moment, and its manifest says so."""
    import threading

    from scouting import backup

    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    url, stop, edits = f"/api/sites/{site['id']}", threading.Event(), []

    def keep_editing():
        while not stop.is_set():
            etag = writer.get(url).headers["ETag"]
            resp = writer.patch(url, json={"type": "Feature", "properties": {"name_en": f"Edit {len(edits)}"}},
                                headers=auth(writer, **{"If-Match": etag}))
            edits.append(resp.status_code)
            writer.post("/api/packs", json={"name": f"p{len(edits)}", "site_ids": [site["id"]]})

    editor = threading.Thread(target=keep_editing)
    editor.start()
    try:
        while len(edits) < 3:  # the editor is under way
            threading.Event().wait(0.05)
        archives = [tmp_path / f"live-{n}.tar" for n in range(3)]
        manifests = [backup.create_backup(writer.application.extensions["scouting"]["engine"],
                                          Path(writer.application.instance_path) / "photos", a) for a in archives]
    finally:
        stop.set()
        editor.join()
    assert set(edits) == {200}
    for archive, manifest in zip(archives, manifests, strict=True):
        restored = empty_instance(archive.stem)
        result = restored.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert counts(restored) == {k: manifest.counts[k] for k in ("sites", "revisions", "packs")}
        # Every revision's site version matches the site: no half of an edit.
        client = restored.test_client()
        client.tokens = writer.tokens
        history = client.get(f"{url}/history", headers=auth(client)).get_json()["revisions"]
        assert max(r["version"] for r in history) == int(client.get(url).headers["ETag"].strip('"'))


def test_an_older_backup_is_migrated_on_restore(backend, empty_instance, tmp_path):
    from scouting import create_app, migrate

    from .conftest import new_database_url as new_url

    url = new_url(backend, tmp_path)
    old = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path / "old"))
    engine = old.extensions["scouting"]["engine"]
    try:
        migrate.upgrade(engine, "0005")
        archive = tmp_path / "old.tar"
        result = old.test_cli_runner().invoke(args=["backup", str(archive)])
        assert result.exit_code == 0, result.output
        assert "at schema 0005" in result.output
    finally:
        engine.dispose()
        drop_database(url)
    restored = empty_instance()
    result = restored.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config(None)).get_current_head()
    assert head != "0005" and migrate.current_revision(restored.extensions["scouting"]["engine"]) == head
    assert restored.test_client().get("/healthz").status_code == 200
