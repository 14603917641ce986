"""Bad parameters: a 400 application/problem+json that names the parameter and says why."""
import pytest

from .conftest import load_features

CASES = [
    ("genre=horror", "genre", "valid terms are costume"),
    ("terrain=volcano", "terrain", "unknown term 'volcano'"),
    ("facility=parking,helipad", "facility", "unknown term 'helipad'"),
    ("bbox=1,2,3", "bbox", "4 comma-separated numbers"),
    ("bbox=120.2,27.6,119.8,27.9", "bbox", "minLon 120.2 is greater than maxLon 119.8"),
    ("bbox=119.8,27.9,120.2,27.6", "bbox", "minLat 27.9 is greater than maxLat 27.6"),
    ("bbox=119.8,27.6,120.2,97", "bbox", "latitude 97 is out of range"),
    ("bbox=a,b,c,d", "bbox", "'a' is not a number"),
    ("near=27.79,120.08&radius_km=5", "near", "longitude comes first"),
    ("near=200,27&radius_km=5", "near", "longitude 200 is out of range"),
    ("near=120.08,27.79&radius_km=-1", "radius_km", "greater than 0"),
    ("near=120.08,27.79&radius_km=nan", "radius_km", "finite"),
    ("near=120.08,27.79", "near", "needs radius_km"),
    ("radius_km=5", "radius_km", "needs near"),
    ("elev_min=900&elev_max=100", "elev_min", "greater than elev_max"),
    ("elev_min=inf", "elev_min", "finite"),
    ("limit=0", "limit", "0 is out of range 1..1000"),
    ("limit=5000", "limit", "5000 is out of range 1..1000"),
    ("limit=ten", "limit", "not a whole number"),
    ("offset=-3", "offset", "-3 is out of range 0.."),
    ("base=atlantis", "base", "unknown base 'atlantis'"),
    ("genres=nature", "genres", "unknown parameter"),
    ("q=" + "x" * 201, "q", "at most 200"),
]


@pytest.mark.parametrize("query,param,reason", CASES)
def test_bad_parameter(client, query, param, reason):
    resp = client.get("/api/sites?" + query)
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == 400
    assert body["invalid-params"][0]["name"] == param
    assert reason in body["detail"]


def test_hostile_text_is_a_plain_search(client):
    # LIKE wildcards and SQL are only text to search for: each matches exactly the seed sites whose names or
    # descriptions hold it literally (a description may say "96 %"), and nothing breaks.
    fields = ("name_zh", "name_en", "description_zh", "description_en")
    for q in ("%", "_", "' OR 1=1 --", "\\", "<script>alert(1)</script>"):
        literal = [f for f in load_features("sites.geojson")
                   if any(q.lower() in (f["properties"][k] or "").lower() for k in fields)]
        resp = client.get("/api/sites", query_string={"q": q})
        assert resp.status_code == 200
        assert resp.get_json()["numberMatched"] == len(literal), q
        assert len(literal) < 35, "a wildcard read as one would match every site"


def test_unknown_api_route_is_problem_json(client):
    resp = client.get("/api/nothing-here")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
