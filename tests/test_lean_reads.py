"""List endpoints and exports read plain rows (search.SiteRow), not ORM entities: their JSON and files must be
exactly what the ORM entities of the same sites give.  Seed and synthetic data, both backends."""
from __future__ import annotations

import pytest

from scouting import search
from scouting.formats.export import ExportItem, export
from scouting.formats.geojson import site_feature

QUERIES = ["", "genre=nature", "facility=parking&bbox=119.5,27.4,120.5,28.2", "near=120.05,27.8&radius_km=20",
           "q=village", "elev_min=200&limit=7&offset=3", "terrain=forest,river&facility_status=verified&facility=parking"]
SYNTH_QUERIES = ["genre=wuxia,costume&facility=parking,toilets&bbox=119.95,30.1,120.4,30.45",
                 "near=120.67,28.0&radius_km=30", "limit=300&offset=100"]


def orm_features(app, features: list[dict]) -> list[dict]:
    """The same sites as ORM entities (tags loaded by the relationship), through the same serialiser."""
    with app.extensions["scouting"]["sessionmaker"]() as session:
        out = []
        for feature in features:
            hit = search.get_site(session, feature["id"])
            hit.distance_m = feature["properties"].get("distance_m")
            made = site_feature(hit)
            if hit.distance_m is None:
                made["properties"].pop("distance_m", None)
            out.append(made)
        return out


def check_lists(app, queries):
    client = app.test_client()
    compared = 0
    for query in queries:
        body = client.get(f"/api/sites?{query}").get_json()
        features = body["features"]
        assert features == orm_features(app, features), query
        ogc = client.get(f"/ogc/collections/sites/items?f=json&{query}").get_json()["features"]
        assert [f["properties"] for f in ogc] == [f["properties"] for f in features], f"OGC {query}"
        compared += len(features)
    assert compared > 20, "the queries return sites"


def check_exports(app):
    with app.extensions["scouting"]["sessionmaker"]() as session:
        lean = list(search.iter_sites(session, search.SiteQuery(), page_size=50))
        assert lean and all(isinstance(hit.site, search.SiteRow) for hit in lean), "exports read plain rows"
        orm = [search.get_site(session, hit.site.id) for hit in lean]
        for fmt in ("geojson", "csv", "kml", "gpx"):
            made = b"".join(export([ExportItem(hit=h) for h in lean], fmt, "t").chunks)
            expected = b"".join(export([ExportItem(hit=h) for h in orm], fmt, "t").chunks)
            assert made == expected, fmt


def test_seed_lists_and_exports_are_the_orm_s(app):
    check_lists(app, QUERIES)
    check_exports(app)


@pytest.fixture
def synthetic(backend, tmp_path):
    from .conftest import synthetic_app

    with synthetic_app(backend, tmp_path, 1500, seed=13) as app:
        yield app


def test_synthetic_lists_and_exports_are_the_orm_s(synthetic):
    check_lists(synthetic, SYNTH_QUERIES)
    check_exports(synthetic)
