"""List endpoints and exports read plain rows (search.SiteRow), not ORM entities: their JSON and files must be
exactly what the ORM entities of the same sites give.  Seed and synthetic data, both backends."""
from __future__ import annotations

import pytest

from scouting import search, vocab
from scouting.formats.export import ExportItem, export
from scouting.formats.geojson import site_feature
from scouting.models import Site, SiteTag

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
        again = client.get(f"/api/sites?{query}").get_json()
        assert again == body, f"{query}: the second answer, from the kept features (site_pages), is the same"
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


def test_kept_features_follow_every_write(writer):
    """site_pages keeps built features per data version: a write to a site, its tags or its base is seen by
    the next list at once, and a radius answer's distances are its own, not a kept one's."""
    client, app = writer, writer.application
    first = client.get("/api/sites?limit=1000").get_json()["features"]
    site_id, genres = next((f["id"], f["properties"]["genres"]) for f in first if f["properties"]["base"])
    added = next(slug for slug in vocab.GENRES if slug not in genres)
    with app.extensions["scouting"]["sessionmaker"]() as session:
        site = session.get(Site, site_id)
        site.name_en = "Renamed For The Test"
        site.base.name_en = "Base Renamed For The Test"
        session.add(SiteTag(site_id=site_id, vocabulary="genre", term=added))
        session.commit()
    after = {f["id"]: f["properties"] for f in client.get("/api/sites?limit=1000").get_json()["features"]}
    assert after[site_id]["name_en"] == "Renamed For The Test", "a renamed site"
    assert after[site_id]["base_name_en"] == "Base Renamed For The Test", "a renamed base"
    assert added in after[site_id]["genres"], "a tag added"
    near = [client.get(f"/api/sites?near={lon},27.8&radius_km=60").get_json()["features"] for lon in (119.9, 120.2)]
    distances = [{f["id"]: f["properties"]["distance_m"] for f in features} for features in near]
    shared = set(distances[0]) & set(distances[1])
    assert shared and any(distances[0][i] != distances[1][i] for i in shared), "each answer's own distances"
    assert "distance_m" not in after[site_id], "a kept feature carries no distance of an earlier answer"
