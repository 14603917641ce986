"""Synthetic sites (`flask synth`): realistic, reproducible, marked as synthetic, never beside real data."""
from __future__ import annotations

from sqlalchemy import func, select

from scouting import accounts, vocab
from scouting.models import Site, SiteTag
from scouting.synth import SLUG_PREFIX, generate

from .helpers import bearer

# Zhejiang's extent, with a margin for the countryside around its border towns.
ZHEJIANG = (117.5, 26.5, 123.5, 31.6)


def _engine(app):
    return app.extensions["scouting"]["engine"]


def test_synth_cli_writes_marked_sites_with_valid_tags(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["synth", "--count", "600", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "600 synthetic sites written" in result.output
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        sites = session.scalars(select(Site)).all()
        assert len(sites) == 600
        for site in sites:
            assert site.slug.startswith(f"{SLUG_PREFIX}7-")
            assert "synthetic" in site.coord_source and site.position_method == "estimate"
            assert not site.verified
        tags = session.execute(select(SiteTag.vocabulary, SiteTag.term)).all()
        for vocabulary, term in tags:
            assert term in vocab.TAG_VOCABULARIES[vocabulary]
        per_site = dict(session.execute(
            select(SiteTag.site_id, func.count()).where(SiteTag.vocabulary == "genre").group_by(SiteTag.site_id)
        ).all())
        assert len(per_site) == 600  # every site has at least one genre
    # Served like any site: inside Zhejiang, filterable, and the genre mix is not degenerate.
    client = fresh_app.test_client()
    page = client.get("/api/sites?limit=1000").get_json()
    assert page["numberMatched"] == 600
    for feature in page["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert ZHEJIANG[0] < lon < ZHEJIANG[2] and ZHEJIANG[1] < lat < ZHEJIANG[3]
    genre_counts = client.get("/api/sites/facets").get_json()["counts"]["genre"]
    assert len([c for c in genre_counts.values() if c]) >= 8
    nature = client.get("/api/sites/facets?genre=nature").get_json()["numberMatched"]
    assert 0 < nature < 600


def test_synth_is_reproducible_and_continues_ids(fresh_app):
    first = [row for row, _ in generate(50, seed=3)]
    again = [row for row, _ in generate(50, seed=3)]
    other = [row for row, _ in generate(50, seed=4)]
    strip = [{k: v for k, v in row.items() if k not in ("created_at", "updated_at")} for row in first]
    assert strip == [{k: v for k, v in row.items() if k not in ("created_at", "updated_at")} for row in again]
    assert [r["geom"] for r in first] != [r["geom"] for r in other]

    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["synth", "--count", "20", "--seed", "1"]).exit_code == 0
    reused = runner.invoke(args=["synth", "--count", "5", "--seed", "1"])
    assert reused.exit_code != 0 and "Seed 1 was already used" in reused.output
    assert runner.invoke(args=["synth", "--count", "20", "--seed", "2"]).exit_code == 0

    # A site created afterwards gets the next id (PostgreSQL's sequence was moved past the explicit ids).
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, "ping", "correct horse battery", "planner")
        token = accounts.create_token(session, "ping")
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.05, 27.8]},
               "properties": {"name_zh": "真实外景地", "name_en": "Real location", "genres": ["nature"],
                              "terrain": ["forest"], "coord_source": "GNSS", "coord_accuracy_m": 5,
                              "position_method": "surveyed"}}
    created = fresh_app.test_client().post("/api/sites", json=feature, headers=bearer(token))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["id"] == 41


def test_synth_refuses_a_database_with_real_sites(writer):
    runner = writer.application.test_cli_runner()
    result = runner.invoke(args=["synth", "--count", "10"])
    assert result.exit_code != 0
    assert "real sites" in result.output
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        assert session.scalar(select(func.count()).select_from(Site).where(Site.slug.startswith(SLUG_PREFIX))) == 0
