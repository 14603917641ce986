"""The tag vocabularies as bitmasks on the site row: fixed bits, masks equal to site_tags after every write path
(kept by triggers), and the mask path of a search answering exactly what site_tags answers.  Both backends."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import text

from scouting import search, vocab
from scouting.synth import synthesize

from .helpers import auth, signed_in, site_form
from .test_fact_status import ABSENT_TOILETS, REPORTED_CATERING, VERIFIED_PARKING, patch
from .test_site_writes import new_feature

# A frozen copy: stored masks mean these bits.  A bit may be added (the next free one), never moved or reused.
FROZEN_BITS = {
    "genre": ["costume", "ming_qing", "period", "youth", "wedding", "ethnic", "red", "nature", "religious", "wuxia",
              "historical", "documentary", "commercial", "fashion", "public_welfare", "music_video"],
    "terrain": ["waterfall", "river", "lake", "forest", "mountain", "canyon", "ancient_village", "town_street", "temple",
                "industrial_heritage", "resort", "farmland", "ancient_trail", "memorial"],
    "facility": ["parking", "large_vehicle_access", "mains_power", "accommodation", "catering", "toilets",
                 "mobile_signal", "drone_allowed", "boats", "hot_spring", "golf_green", "villas", "costume_props",
                 "equipment_hire"],
}
WORLD = "-180,-90,180,90"


def test_bits_never_move_and_fit_a_signed_64_bit_integer():
    for vocabulary, frozen in FROZEN_BITS.items():
        bits = vocab.TAG_BITS[vocabulary]
        for position, term in enumerate(frozen):
            assert bits[term] == position, f"{vocabulary}/{term} moved from bit {position} to {bits[term]}"
        assert set(bits) == set(vocab.TAG_VOCABULARIES[vocabulary]), f"every {vocabulary} term has a bit, no other"
        assert len(set(bits.values())) == len(bits), f"{vocabulary}: two terms share a bit"
        assert all(0 <= bit < vocab.MASK_BITS == 63 for bit in bits.values()), f"{vocabulary}: a bit beyond 62"
        assert vocab.tag_mask(vocabulary, bits) < 2 ** 63


def problems(app) -> list[str]:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        return search.tag_mask_problems(session)


def masks(app, site_id: int) -> tuple:
    with app.extensions["scouting"]["sessionmaker"]() as session:
        return tuple(session.execute(text("SELECT genre_mask, terrain_mask, facility_mask, facility_verified_mask "
                                          "FROM sites WHERE id = :id"), {"id": site_id}).one())


def test_masks_follow_every_write_path(writer, tmp_path):
    app = writer.application
    assert problems(app) == [], "after load-geodata"
    created = writer.post("/api/sites", json=new_feature(genres=["wuxia", "nature"], terrain=["forest"],
                                                         facilities=["parking"]), headers=auth(writer))
    assert created.status_code == 201
    sid = created.get_json()["id"]
    g, t = vocab.TAG_BITS["genre"], vocab.TAG_BITS["terrain"]
    parking, toilets, catering = (1 << vocab.TAG_BITS["facility"][f] for f in ("parking", "toilets", "catering"))
    assert masks(app, sid) == ((1 << g["wuxia"]) | (1 << g["nature"]), 1 << t["forest"], parking, 0), "API create"
    assert patch(writer, sid, {"facilities": [VERIFIED_PARKING, ABSENT_TOILETS, REPORTED_CATERING],
                               "genres": ["red"]}).status_code == 200
    assert masks(app, sid) == (1 << g["red"], 1 << t["forest"], parking | catering, parking), \
        "API update: verified absent toilets set no bit, verified parking sets both"
    assert problems(app) == []
    history = writer.get(f"/api/sites/{sid}/history", headers=auth(writer)).get_json()["revisions"]
    etag = writer.get(f"/api/sites/{sid}").headers["ETag"]
    assert writer.post(f"/api/sites/{sid}/restore", json={"revision": history[-1]["id"]},
                       headers=auth(writer, **{"If-Match": etag})).status_code == 200
    assert masks(app, sid) == ((1 << g["wuxia"]) | (1 << g["nature"]), 1 << t["forest"], parking, 0), "restore"
    assert toilets  # (used above only as a bit that must stay unset)

    client = app.test_client()
    signed_in(client, "ping")
    page = client.get("/sites/new").get_data(as_text=True)
    form = site_form(page, "掩码表单", "Mask form", genres=["youth", "red"], terrain=["river"])
    ok = client.post("/sites/new", data=form)
    assert ok.status_code == 302
    form_id = int(ok.headers["Location"].split("site=")[1])
    assert masks(app, form_id)[:2] == ((1 << g["youth"]) | (1 << g["red"]), 1 << t["river"]), "form create"

    csv = tmp_path / "masks.csv"
    csv.write_text("name,lon,lat,genres,terrain,elevation_m\nMask import,120.05,27.79,wedding,lake,10\n",
                   encoding="utf-8")
    done = app.test_cli_runner().invoke(args=["import", str(csv), "--commit"])
    assert done.exit_code == 0, done.output
    imported = writer.get("/api/sites?q=Mask+import").get_json()["features"][0]["id"]
    assert masks(app, imported)[:2] == (1 << g["wedding"], 1 << t["lake"]), "import"
    assert problems(app) == [], "after form and import"

    archive = tmp_path / "scout.tar"
    assert app.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    assert patch(writer, imported, {"genres": ["fashion"]}).status_code == 200
    assert app.test_cli_runner().invoke(args=["restore", str(archive), "--force"]).exit_code == 0
    assert masks(app, imported)[0] == 1 << g["wedding"], "backup restore"
    assert problems(app) == [], "after backup restore"

    with app.extensions["scouting"]["sessionmaker"]() as session:  # a plain SQL delete of tags, as a script might
        session.execute(text("DELETE FROM site_tags WHERE site_id = :id AND vocabulary = 'genre'"), {"id": imported})
        session.commit()
    assert masks(app, imported)[0] == 0, "SQL delete"
    assert problems(app) == []


def test_masks_after_synth_and_the_check_sees_a_disagreement(fresh_app):
    synthesize(fresh_app.extensions["scouting"]["engine"], 300, seed=5)
    assert problems(fresh_app) == [], "synth"
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:  # synth's bulk load put the triggers back
        before = search.data_version(session)
        session.execute(text("INSERT INTO site_tags (site_id, vocabulary, term) "
                             "SELECT MIN(id), 'genre', 'music_video' FROM sites WHERE id NOT IN "
                             "(SELECT site_id FROM site_tags WHERE term = 'music_video')"))
        session.commit()
        assert search.data_version(session) != before, "an insert after synth bumps the version"
    assert problems(fresh_app) == [], "an insert after synth sets its bit"
    runner = fresh_app.test_cli_runner()
    ok = runner.invoke(args=["db", "check"])
    assert ok.exit_code == 0 and "agree" in ok.output, ok.output
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        session.execute(text("UPDATE sites SET genre_mask = 0 WHERE id = (SELECT MIN(id) FROM sites)"))
        session.commit()
    found = problems(fresh_app)
    assert len(found) == 1 and "genre_mask" in found[0], found
    failed = runner.invoke(args=["db", "check"])
    assert failed.exit_code != 0 and "genre_mask" in failed.output, failed.output


def ids(client, query: str) -> list[int]:
    body = client.get(f"/api/sites?limit=1000&{query}").get_json()
    return [f["id"] for f in body["features"]]


@pytest.fixture
def synthetic(backend, tmp_path):
    from .conftest import synthetic_app

    with synthetic_app(backend, tmp_path, 2000, seed=11) as app:
        yield app


def test_the_mask_path_answers_what_site_tags_answer(synthetic):
    """A query with an area tests masks; the same query without one lists sites through site_tags' index."""
    client = synthetic.test_client()
    with synthetic.extensions["scouting"]["sessionmaker"]() as session:  # some facts of every status
        session.execute(text("UPDATE site_tags SET status = 'verified_present' WHERE vocabulary = 'facility' "
                             "AND site_id % 3 = 0"))
        session.execute(text("UPDATE site_tags SET status = 'verified_absent' WHERE vocabulary = 'facility' "
                             "AND site_id % 3 = 1"))
        session.commit()
    assert problems(synthetic) == []
    queries = ["genre=wuxia,costume", "terrain=forest", "facility=parking,toilets", "facility=parking",
               "facility=parking&facility_status=verified", "facility=toilets,catering&facility_status=verified",
               "genre=nature&terrain=river,lake&facility=mains_power"]
    compared = 0
    for query in queries:
        without_area = ids(synthetic.test_client(), query)
        with_area = ids(client, f"{query}&bbox={WORLD}")
        assert with_area == without_area, query
        compared += len(with_area)
    assert compared > 50, "the queries match sites"
    for genres in itertools.combinations(["wuxia", "costume", "red"], 2):
        query = "genre=" + ",".join(genres)
        assert ids(client, f"{query}&bbox={WORLD}") == ids(client, query)
