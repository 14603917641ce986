"""Radius search: the spherical bound decides membership where it is sure and narrows the exact sort to the page;
the ids, their order, the distances and the counts are those of the plain ellipsoidal query.  Both backends."""
from __future__ import annotations

import math
import random

import pytest
from pyproj import Geod
from sqlalchemy import func, select, text

from scouting import search
from scouting.db import make_engine, spatial_dialect
from scouting.models import Site

from .conftest import drop_database, new_database_url

GEOD = Geod(ellps="WGS84")


def spherical_m(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * search.EARTH_RADIUS_M * math.asin(math.sqrt(h))


def test_the_sphere_is_within_its_stated_error_of_the_ellipsoid():
    rng = random.Random(7)
    worst = 0.0
    for _ in range(20000):
        lon, lat = rng.uniform(-180, 180), rng.uniform(-89.5, 89.5)
        azimuth, distance = rng.uniform(0, 360), rng.uniform(1, search.MAX_RADIUS_KM * 1000 * 1.03)
        lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, distance)
        worst = max(worst, abs(spherical_m(lon, lat, lon2, lat2) / distance - 1))
    assert worst < 0.006 < search.SPHERE_ERROR, f"the sphere is off by up to {worst:.2%}"


def oracle(session, lon: float, lat: float, radius_m: float, limit: int, offset: int):
    """The plain query: the exact distance of every site, filtered and sorted by it."""
    distance = spatial_dialect(session).geodesic_distance_m(Site.geom, lon, lat).label("d")
    rows = session.execute(select(Site.id, distance).where(Site.deleted_at.is_(None), distance <= radius_m)
                           .order_by(distance, Site.id)).all()
    return len(rows), [(i, d) for i, d in rows[offset:offset + limit]]


@pytest.fixture(scope="module")
def synthetic(backend, tmp_path_factory):
    from .conftest import synthetic_app

    with synthetic_app(backend, tmp_path_factory.mktemp(f"radius-{backend}"), 3000, seed=21) as app:
        yield app


@pytest.mark.parametrize("near, radius_km", [((120.67, 28.0), 10), ((120.67, 28.0), 25), ((120.09, 27.79), 5),
                                             ((120.2, 30.3), 40), ((121.5, 29.0), 150), ((119.0, 28.5), 500)])
def test_nearest_pages_are_the_exact_query_s(synthetic, near, radius_km):
    with synthetic.extensions["scouting"]["sessionmaker"]() as session:
        seen = 0
        for limit, offset in ((1, 0), (7, 0), (100, 0), (17, 34), (50, 200), (1000, 0)):
            q = search.SiteQuery(near=near, radius_km=radius_km, limit=limit, offset=offset)
            matched, expected = oracle(session, *near, radius_km * 1000, limit, offset)
            results = search.find_sites(session, q)
            assert results.number_matched == matched, (near, radius_km, "count")
            got = [(hit.site.id, hit.distance_m) for hit in results.hits]
            assert [i for i, _ in got] == [i for i, _ in expected], (near, radius_km, limit, offset)
            assert [d for _, d in got] == pytest.approx([d for _, d in expected], abs=1e-6)
            seen += len(got)
        assert seen > 0 or radius_km <= 5, "the circles hold sites"


def test_sites_on_the_circle_s_edge_are_decided_exactly(synthetic):
    """Circles through sites: each radius is a site's exact distance, and a hair less leaves that site out."""
    with synthetic.extensions["scouting"]["sessionmaker"]() as session:
        near = (120.67, 28.0)
        _, closest = oracle(session, *near, 60_000, 40, 0)
        assert len(closest) == 40
        for site_id, distance in closest[::8]:
            for radius in (distance + 0.01, distance - 0.01):
                q = search.SiteQuery(near=near, radius_km=radius / 1000, limit=1000)
                got = {hit.site.id for hit in search.find_sites(session, q).hits}
                assert (site_id in got) == (radius > distance), (site_id, distance, radius)
                assert search.count_sites(session, q) == oracle(session, *near, radius, 1, 0)[0]
        assert session.scalar(select(func.count()).select_from(Site)) == 3000


def test_postgis_sessions_start_no_parallel_workers(tmp_path):
    """Worker start-up costs more than our index-driven queries (scouting.db.make_engine).  A PostgreSQL setting:
    run on a PostGIS database only, not once per backend."""
    url = new_database_url("postgis", tmp_path)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
    finally:
        engine.dispose()
        drop_database(url)
