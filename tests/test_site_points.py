"""sites.lon/lat, what a search reads (search.in_bbox, the nearest page), stay equal to the geometry after every
write path: triggers keep them in step on both databases (scouting/db.py, migration 0012), and `flask db check`
sees a disagreement.  Both backends."""
from __future__ import annotations

import re

from sqlalchemy import text

from scouting import search
from scouting.db import drop_point_trigger_ddl, lon_strip
from scouting.geodata import load_geodata
from scouting.synth import synthesize

from .helpers import auth, csrf_of, signed_in, site_form
from .test_site_writes import new_feature


def problems(app) -> list[str]:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        return search.point_problems(session)


def point(app, site_id: int) -> tuple[float, float]:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        return tuple(session.execute(text("SELECT lon, lat FROM sites WHERE id = :id"), {"id": site_id}).one())


def etag(client, site_id: int) -> str:
    return client.get(f"/api/sites/{site_id}").headers["ETag"]


def test_api_create_move_and_restore_keep_lon_lat(writer):
    app = writer.application
    assert problems(app) == [], "the seeded sites"
    created = writer.post("/api/sites", json=new_feature(name_en="Pointed place"), headers=auth(writer))
    assert created.status_code == 201, created.get_json()
    sid = created.get_json()["id"]
    assert point(app, sid) == (120.05, 27.80), "API create"
    moved = writer.patch(f"/api/sites/{sid}", json={"type": "Feature", "properties": {},
                                                    "geometry": {"type": "Point", "coordinates": [120.1, 27.85]}},
                         headers=auth(writer, **{"If-Match": etag(writer, sid)}))
    assert moved.status_code == 200, moved.get_json()
    assert point(app, sid) == (120.1, 27.85), "API move"
    assert writer.get("/api/sites?bbox=120.09,27.84,120.11,27.86&q=Pointed").get_json()["numberMatched"] == 1
    history = writer.get(f"/api/sites/{sid}/history", headers=auth(writer)).get_json()["revisions"]
    restored = writer.post(f"/api/sites/{sid}/restore", json={"revision": history[-1]["id"]},
                           headers=auth(writer, **{"If-Match": etag(writer, sid)}))
    assert restored.status_code == 200, restored.get_json()
    assert point(app, sid) == (120.05, 27.80), "restore from history"
    assert problems(app) == []


def test_form_create_and_move_keep_lon_lat(writer):
    app = writer.application
    client = app.test_client()
    signed_in(client, "ping")
    page = client.get("/sites/new").get_data(as_text=True)
    form = site_form(page, "表单坐标", "Form point")
    ok = client.post("/sites/new", data=form)
    assert ok.status_code == 302
    sid = int(ok.headers["Location"].split("site=")[1])
    assert point(app, sid) == (120.05, 27.80), "form create"
    edit_page = client.get(f"/sites/{sid}/edit").get_data(as_text=True)
    number = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', edit_page).group(1)
    saved = client.post(f"/sites/{sid}/edit", data=form | {"csrf_token": csrf_of(edit_page), "lon": "120.07",
                                                          "lat": "27.81", "version": number})
    assert saved.status_code == 302
    assert point(app, sid) == (120.07, 27.81), "form move"
    assert problems(app) == []


def test_import_plain_sql_and_load_geodata_keep_lon_lat(writer, tmp_path):
    app = writer.application
    csv = tmp_path / "one.csv"
    csv.write_text("name,lon,lat,genres,elevation_m\nImported point place,120.051,27.791,nature,10\n", encoding="utf-8")
    done = app.test_cli_runner().invoke(args=["import", str(csv), "--commit"])
    assert done.exit_code == 0, done.output
    assert problems(app) == [], "import"
    with app.extensions["scouting"]["sessionmaker"]() as session:
        sid = session.execute(text("SELECT id FROM sites WHERE name_en = 'Imported point place'")).scalar_one()
        # A script moving a site with plain SQL, and one writing lon/lat itself (the geometry wins).
        session.execute(text("UPDATE sites SET geom = ST_GeomFromText('POINT(120.2 27.9)', 4326) WHERE id = :id"),
                        {"id": sid})
        session.commit()
        assert point(app, sid) == (120.2, 27.9), "plain SQL move"
        session.execute(text("UPDATE sites SET lon = 0, lat = NULL WHERE id = :id"), {"id": sid})
        session.commit()
        assert point(app, sid) == (120.2, 27.9), "plain SQL write of lon/lat"
        load_geodata(session)
    assert problems(app) == [], "load-geodata"


def test_synth_and_a_restored_backup_keep_lon_lat_and_the_check_sees_a_disagreement(fresh_app, backend, tmp_path):
    app = fresh_app
    synthesize(app.extensions["scouting"]["engine"], 300, seed=9)
    assert problems(app) == [], "synth"
    archive = tmp_path / "scout.tar"
    assert app.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["restore", str(archive), "--force"])
    assert result.exit_code == 0, result.output
    assert problems(app) == [], "restore"
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["db", "check"])
    assert ok.exit_code == 0 and "lon/lat agree" in ok.output, ok.output
    # Only with the trigger switched off can a row disagree (as after a careless manual repair).
    off, on = (("DROP TRIGGER sites_update_point", None) if backend == "spatialite" else
               ("ALTER TABLE sites DISABLE TRIGGER sites_point", "ALTER TABLE sites ENABLE TRIGGER sites_point"))
    with app.extensions["scouting"]["sessionmaker"]() as session:
        session.execute(text(off))
        session.execute(text("UPDATE sites SET lat = lat + 1 WHERE id = (SELECT MIN(id) FROM sites)"))
        if on:
            session.execute(text(on))
        session.commit()
    found = problems(app)
    assert len(found) == 1 and "lon/lat" in found[0], found
    failed = runner.invoke(args=["db", "check"])
    assert failed.exit_code != 0 and "between sites' lon/lat and their geometry" in failed.output, failed.output


def test_boxes_find_exactly_the_sites_inside_whatever_their_width(client, app):
    """A box is read strip by strip (search.in_bbox); edges on strip boundaries, boxes of one strip and boxes too
    wide for strips (the whole index is read) all list exactly the sites whose point is inside."""
    from scouting.db import LON_STRIPS_PER_DEGREE
    from scouting.search import MAX_STRIPS

    with app.extensions["scouting"]["sessionmaker"]() as session:
        points = session.execute(text("SELECT id, ST_X(geom), ST_Y(geom) FROM sites WHERE deleted_at IS NULL")).all()
    edge = 120 + 1 / LON_STRIPS_PER_DEGREE  # a strip boundary
    boxes = [(119.5, 27.0, edge, 28.5), (edge, 27.0, 121.0, 28.5), (120.06, 27.7, 120.09, 27.9),
             (119.0 - MAX_STRIPS / LON_STRIPS_PER_DEGREE, -10.0, 121.0, 60.0), (-180.0, -90.0, 180.0, 90.0)]
    for box in boxes:
        minx, miny, maxx, maxy = box
        expected = sorted(i for i, x, y in points if minx <= x <= maxx and miny <= y <= maxy)
        body = client.get("/api/sites?limit=1000&bbox=" + ",".join(repr(v) for v in box)).get_json()
        assert [f["id"] for f in body["features"]] == expected, box
        assert body["numberMatched"] == len(expected), box
    assert any(119.5 <= x <= edge for _, x, _ in points) and any(edge <= x <= 121.0 for _, x, _ in points), \
        "the seed has sites on both sides of the strip boundary"


def test_an_import_writes_lon_lat_and_strip_itself(writer, tmp_path):
    """The bulk import sets lon/lat/lon_strip on each new row, so the point trigger has nothing to correct (on
    SpatiaLite it would UPDATE every imported row once more): with the triggers gone the rows are still right."""
    app = writer.application
    engine = app.extensions["scouting"]["engine"]
    with engine.begin() as conn:
        for statement in drop_point_trigger_ddl(engine.dialect.name):
            conn.exec_driver_sql(statement)
    path = tmp_path / "points.csv"
    rows = [(f"无触发点{i}", f"Triggerless {i}", 120.0 + i * 0.0137, 27.75 + i * 0.0071) for i in range(12)]
    path.write_text("name_zh,name_en,lon,lat,genres\n" + "".join(f"{zh},{en},{lon!r},{lat!r},nature\n"
                                                               for zh, en, lon, lat in rows), encoding="utf-8")
    done = app.test_cli_runner().invoke(args=["import", str(path), "--commit", "--confirm-outside"])
    assert done.exit_code == 0, done.output
    assert problems(app) == [], "lon/lat/lon_strip as the geometry says, without a trigger"
    with app.extensions["scouting"]["sessionmaker"]() as session:
        stored = session.execute(text("SELECT name_en, lon, lat, lon_strip FROM sites WHERE name_en LIKE "
                                      "'Triggerless %' ORDER BY id")).all()
    assert [tuple(r) for r in stored] == [(en, lon, lat, lon_strip(lon)) for _, en, lon, lat in rows]


def test_point_array_reads_every_double_back_exactly(writer):
    """search reads boxes of points through SpatialDialect.point_array (one WKB value on SpatiaLite, so Python's
    sqlite3 does not hand the GIL over once per row): ids and coordinates come back as stored, to the last bit,
    for many rows, for one, and for none."""
    from sqlalchemy import select

    from scouting.db import spatial_dialect
    from scouting.models import Site

    app = writer.application
    awkward = [(120.12345678901234, 27.98765432109876), (119.99999999999997, 28.000000000000004), (120.1 + 0.2, 27.3)]
    with app.extensions["scouting"]["sessionmaker"]() as session:
        ids = session.scalars(select(Site.id).order_by(Site.id).limit(len(awkward))).all()
        for site_id, (lon, lat) in zip(ids, awkward, strict=True):
            session.execute(text("UPDATE sites SET geom = ST_GeomFromText(:wkt, 4326) WHERE id = :id"),
                            {"wkt": f"POINT({lon!r} {lat!r})", "id": site_id})
        session.commit()
        dialect, conn = spatial_dialect(session), session.connection()
        every = select(Site.id, Site.lon, Site.lat)
        stored = sorted(tuple(row) for row in session.execute(every))
        read = dialect.point_array(conn, every)
        assert read.shape == (len(stored), 3) and len(stored) > 30
        assert sorted((int(i), lon, lat) for i, lon, lat in read.tolist()) == stored
        assert [tuple(row) for row in stored if row[0] in ids] == [(i, *p) for i, p in zip(ids, awkward, strict=True)]
        one = dialect.point_array(conn, every.where(Site.id == ids[0])).tolist()
        assert one == [[ids[0], *awkward[0]]]
        assert dialect.point_array(conn, every.where(Site.id < 0)).shape == (0, 3)
