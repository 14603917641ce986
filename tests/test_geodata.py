"""The seed geodata: true to the report, honest about positions, inside the county, loaded idempotently."""
from __future__ import annotations

import json

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func, select

from scouting import vocab
from scouting.errors import GeodataRefused, InvalidGeodata
from scouting.geodata import load_geodata
from scouting.models import AuditEvent, Boundary, Site, ThemedBase

from .conftest import GEODATA, load_features, synthetic_app

# The ten themed bases exactly as the 2017 report lists them (number -> genres, towns).
REPORT_BASES = {
    1: ({"costume"}, {"南田"}),
    2: ({"ming_qing"}, {"梧溪", "周山"}),
    3: ({"period"}, {"李山", "让川", "大峃镇"}),
    4: ({"youth"}, {"天鹅堡", "玉壶"}),
    5: ({"wedding"}, {"月老山"}),
    6: ({"ethnic"}, {"培头"}),
    7: ({"red"}, {"珊溪"}),
    8: ({"nature"}, {"百丈漈"}),
    9: ({"religious", "wuxia"}, {"安福寺"}),
    10: ({"historical"}, {"百丈漈水电站"}),
}
# Sites the foundation issue requires by name (a substring of name_zh).
REQUIRED_SITES = ["百丈漈", "头漈", "二漈", "三漈", "天顶湖", "水电站", "刘基庙", "武阳", "铜铃山", "红枫古道", "飞云江",
                  "飞云湖", "嘉南美地", "明星公馆", "别墅", "温泉", "果岭", "游艇", "玉壶", "安福寺", "培头", "梧溪",
                  "让川", "月老山", "大峃", "珊溪", "南田"]


@pytest.fixture(scope="module")
def county():
    return shape(load_features("wencheng_boundary.geojson")[0]["geometry"])


def test_bases_match_the_report(base_features):
    assert len(base_features) == 10
    for f in base_features:
        p = f["properties"]
        genres, towns = REPORT_BASES[p["number"]]
        assert set(p["genres"]) == genres, p["slug"]
        assert set(p["towns"]) == towns, p["slug"]


def test_required_sites_are_present(site_features):
    assert len(site_features) >= 30
    names = [f["properties"]["name_zh"] for f in site_features]
    missing = [n for n in REQUIRED_SITES if not any(n in name for name in names)]
    assert not missing


def test_every_point_is_inside_the_county(site_features, base_features, county):
    outside = [f["properties"]["slug"] for f in site_features + base_features
               if not county.contains(Point(f["geometry"]["coordinates"]))]
    assert not outside


def test_positions_are_honest(site_features, base_features):
    for f in site_features + base_features:
        p = f["properties"]
        assert p["position_method"] in vocab.POSITION_METHODS
        assert p["coord_source"] and p["coord_accuracy_m"] > 0
        # Nobody surveyed these points: a township seat or an estimate is never claimed to be better than 1 km.
        if p["position_method"] in ("township_seat", "estimate"):
            assert p["coord_accuracy_m"] >= 1000, p["slug"]
        if p["position_method"] == "estimate":
            assert "estimate" in p["coord_source"].lower(), p["slug"]
    assert all(f["properties"]["verified"] is False for f in site_features)


def test_no_gcj02_point_stored_as_wgs84(site_features, base_features):
    """Every seed point sits on a WGS-84 row of reference/places.csv, never on its GCJ-02/BD-09 original."""
    import csv

    from .conftest import ROOT
    places = ROOT.parent / "shared" / "reference" / "places.csv"
    if not places.exists():
        pytest.skip("shared/reference/places.csv is not beside this checkout")
    rows = list(csv.DictReader(places.open(encoding="utf-8")))
    known = {(round(float(r["lon"]), 6), round(float(r["lat"]), 6)) for r in rows}
    for f in site_features + base_features:
        lon, lat = f["geometry"]["coordinates"]
        assert (round(lon, 6), round(lat, 6)) in known, f["properties"]["slug"]


def test_load_geodata_is_idempotent(app, runner):
    engine = app.extensions["scouting"]["engine"]

    def snapshot():
        with engine.connect() as conn:
            return conn.execute(select(Site.slug, Site.version, Site.updated_at, func.ST_AsText(Site.geom))
                                .order_by(Site.slug)).all()

    before = snapshot()
    result = runner.invoke(args=["load-geodata"])
    assert result.exit_code == 0, result.output
    assert "sites: 0 created, 0 updated" in result.output
    assert "bases: 0 created, 0 updated" in result.output
    assert "boundaries: 0 created, 0 updated" in result.output
    assert snapshot() == before
    # --if-empty on a seeded database does nothing at all.
    result = runner.invoke(args=["load-geodata", "--if-empty"])
    assert "nothing loaded" in result.output and "synthetic" not in result.output


def test_reload_restores_a_changed_record(fresh_app):
    maker = fresh_app.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        first = load_geodata(session)
        assert first.created["sites"] == len(load_features("sites.geojson"))
    with maker() as session:
        site = session.scalars(select(Site).order_by(Site.id)).first()
        site.name_en = "changed by hand"
        session.commit()
    with maker() as session:
        report = load_geodata(session)
        assert report.updated["sites"] == 1 and report.created["sites"] == 0
        assert session.get(Site, site.id).name_en != "changed by hand"


def test_bad_record_writes_nothing(fresh_app, tmp_path):
    for name in ("bases.geojson", "wencheng_boundary.geojson"):
        (tmp_path / name).write_text((GEODATA / name).read_text(encoding="utf-8"), encoding="utf-8")
    sites = json.loads((GEODATA / "sites.geojson").read_text(encoding="utf-8"))
    sites["features"][-1]["properties"]["genres"] = ["nature", "horror"]
    (tmp_path / "sites.geojson").write_text(json.dumps(sites, ensure_ascii=False), encoding="utf-8")
    maker = fresh_app.extensions["scouting"]["sessionmaker"]
    with maker() as session, pytest.raises(InvalidGeodata) as err:
        load_geodata(session, tmp_path)
    assert "genres" in str(err.value) and "horror" in str(err.value)
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Site)) == 0


def test_loading_the_outline_twice_changes_nothing(fresh_app):
    """The county outline is compared exactly (as WKB): a second load neither rewrites nor logs it, on either database."""
    maker = fresh_app.extensions["scouting"]["sessionmaker"]

    def outline_and_log():
        with maker() as session:
            outline = session.execute(select(Boundary.id, func.ST_AsBinary(Boundary.geom))).all()
            log = session.scalar(select(func.count()).select_from(AuditEvent))
        return [(i, bytes(g)) for i, g in outline], log

    with maker() as session:
        assert load_geodata(session).created["boundaries"] == 1
    before = outline_and_log()
    with maker() as session:
        again = load_geodata(session)
    assert (again.updated["boundaries"], again.unchanged["boundaries"]) == (0, 1), again.summary()
    assert outline_and_log() == before, "second load rewrote the outline or wrote an audit event"


def test_if_empty_loads_into_an_empty_database(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["load-geodata", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert f"sites: {len(load_features('sites.geojson'))} created" in result.output


def test_a_database_of_synthetic_sites_is_not_empty(backend, tmp_path):
    """`--if-empty` skips a database that holds only synthetic sites; a plain load refuses to mix the seed in."""
    with synthetic_app(backend, tmp_path, count=25, seed=7) as app:
        maker = app.extensions["scouting"]["sessionmaker"]
        runner = app.test_cli_runner()

        skipped = runner.invoke(args=["load-geodata", "--if-empty"])
        assert skipped.exit_code == 0, skipped.output
        assert "not empty (25 sites (25 synthetic)); nothing loaded" in skipped.output

        refused = runner.invoke(args=["load-geodata"])
        assert refused.exit_code != 0 and "25 synthetic sites" in refused.output, refused.output
        with maker() as session:
            assert session.scalar(select(func.count()).select_from(Site)) == 25, "seed sites were added"
            assert session.scalar(select(func.count()).select_from(ThemedBase)) == 0, "bases were added"
            with pytest.raises(GeodataRefused):
                load_geodata(session)
