"""The seed geodata: true to the report, honest about positions, inside the county, loaded idempotently."""
from __future__ import annotations

import csv
import json
import os
import re

import pytest
from pypinyin import lazy_pinyin
from pyproj import Geod
from shapely.geometry import Point, shape
from sqlalchemy import func, select

from scouting import vocab
from scouting.errors import GeodataRefused, InvalidGeodata
from scouting.geodata import load_geodata
from scouting.models import AuditEvent, Boundary, Site, ThemedBase

from .conftest import GEODATA, ROOT, load_features, synthetic_app

PLACES_CSV = ROOT.parent / "shared" / "reference" / "places.csv"
WGS84 = Geod(ellps="WGS84")

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


@pytest.fixture(scope="module")
def places() -> dict[str, tuple[float, float]]:
    """The rows of reference/places.csv: place -> (lon, lat), WGS-84."""
    if not PLACES_CSV.exists():
        if os.environ.get("CI"):  # CI lays shared/ beside the clone: there a missing file fails, never skips
            pytest.fail(f"{PLACES_CSV} is missing: the accuracy bounds cannot be checked")
        pytest.skip("shared/reference/places.csv is not beside this checkout")
    return {r["place"]: (float(r["lon"]), float(r["lat"])) for r in csv.DictReader(PLACES_CSV.open(encoding="utf-8"))}


def test_no_gcj02_point_stored_as_wgs84(site_features, base_features, places):
    """Every seed point sits on a WGS-84 row of reference/places.csv, never on its GCJ-02/BD-09 original."""
    known = {(round(lon, 6), round(lat, 6)) for lon, lat in places.values()}
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
        assert "not empty (25 sites, 25 of them synthetic); nothing loaded" in skipped.output

        refused = runner.invoke(args=["load-geodata"])
        assert refused.exit_code != 0 and "25 synthetic sites" in refused.output, refused.output
        with maker() as session:
            assert session.scalar(select(func.count()).select_from(Site)) == 25, "seed sites were added"
            assert session.scalar(select(func.count()).select_from(ThemedBase)) == 0, "bases were added"
            with pytest.raises(GeodataRefused):
                load_geodata(session)


# --------------------------------------------------------------------------- accuracy is an upper bound

def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return WGS84.inv(a[0], a[1], b[0], b[1])[2]


def farthest_county_point_m(point: tuple[float, float], county) -> float:
    """The farthest any point of the county can be from `point`: the farthest vertex of its outline."""
    polygons = getattr(county, "geoms", [county])
    return max(distance_m(point, xy) for poly in polygons for xy in poly.exterior.coords)


def accuracy_bound_m(feature: dict, places: dict, county) -> float:
    """How far the true place (every part of it) can be from the stored point, as far as the record's sources tell.

    `position_evidence` lists the parts a record covers; each part lists places.csv points its sources put it near
    ("within_m" of them).  By the triangle inequality a part is at most distance(stored, place) + within_m from the
    stored point, for each such place, so the smallest of these holds; the county outline always holds.  A part the
    sources could not locate ("unlocated") is left out: the record must say so in its coord_source."""
    point = tuple(feature["geometry"]["coordinates"])
    county_bound = farthest_county_point_m(point, county)
    bounds = []
    for part in feature["properties"]["position_evidence"]:
        if part.get("unlocated"):
            continue
        bounds.append(min([county_bound] + [distance_m(point, places[n["place"]]) + n["within_m"] for n in part["near"]]))
    return max(bounds)


def test_every_record_states_where_its_sources_put_it(site_features, base_features, places):
    for f in site_features + base_features:
        p = f["properties"]
        parts = p.get("position_evidence")
        assert parts and isinstance(parts, list), f"{p['slug']}: no position_evidence"
        assert any(not part.get("unlocated") for part in parts), f"{p['slug']}: no part is located"
        for part in parts:
            assert part.get("covers"), f"{p['slug']}: a part names nothing"
            if part.get("unlocated"):
                assert not part.get("near") and part["covers"] in p["coord_source"], (p["slug"], part["covers"])
                continue
            for near in part["near"]:
                assert near["place"] in places, f"{p['slug']}: {near['place']!r} is not a row of places.csv"
                assert isinstance(near["within_m"], int) and near["within_m"] > 0, (p["slug"], near)
                assert near.get("basis"), f"{p['slug']}: near {near['place']} without a basis"
            # Two statements about one place must be able to hold together.
            for i, a in enumerate(part["near"]):
                for b in part["near"][i + 1:]:
                    gap = distance_m(places[a["place"]], places[b["place"]])
                    assert gap <= a["within_m"] + b["within_m"], (p["slug"], a["place"], b["place"], round(gap))


def test_accuracy_is_an_upper_bound(site_features, base_features, places, county):
    """The stated accuracy contains every point the sources allow, and is not padded beyond the next kilometre."""
    too_small, padded = [], []
    for f in site_features + base_features:
        p = f["properties"]
        bound = accuracy_bound_m(f, places, county)
        if p["coord_accuracy_m"] < bound:
            too_small.append((p["slug"], p["coord_accuracy_m"], round(bound)))
        elif p["coord_accuracy_m"] > bound + 1000:
            padded.append((p["slug"], p["coord_accuracy_m"], round(bound)))
    assert not too_small, f"accuracy smaller than the sources allow (slug, stated, bound): {too_small}"
    assert not padded, f"accuracy larger than the evidence needs (slug, stated, bound): {padded}"


def test_the_bound_catches_a_point_far_from_what_the_source_measures_from(site_features, places, county):
    """The falls at the 百丈漈镇 seat with ±8 km (the old data) cannot hold a point ~4 km from the county seat."""
    falls = next(f for f in site_features if f["properties"]["slug"] == "baizhangji-falls")
    old = {**falls, "geometry": {"type": "Point", "coordinates": list(places["百丈漈镇 (township seat)"])}}
    assert accuracy_bound_m(old, places, county) > 8000


# --------------------------------------------------------------------------- names

# GB/T 16159: a syllable starting with a, o or e that follows another syllable is set off by an apostrophe.
SYLLABLE_NEEDS_APOSTROPHE = re.compile(r"^[aoe]")
# English spellings that name a better-known place elsewhere (无锡, 舟山, 山西): they carry a "(Wencheng)" qualifier.
AMBIGUOUS_EN = ("Wuxi", "Zhoushan", "Shanxi")
GENERICS = {"山": "Mountain", "湖": "Lake", "江": "River", "瀑布": "Falls"}


def gbt16159(syllables: list[str]) -> str:
    return "".join(("'" + s if i and SYLLABLE_NEEDS_APOSTROPHE.match(s) else s) for i, s in enumerate(syllables))


def misspelt_pinyin(name_zh: str, name_en: str) -> list[tuple[str, str]]:
    """Words of name_en that spell a run of two or more syllables of name_zh, but not as GB/T 16159 writes them.

    The syllables come from pypinyin (toneless); a word is matched to a run once apostrophes and case are removed."""
    syllables = lazy_pinyin(name_zh)
    runs = {}
    for i in range(len(syllables)):
        for j in range(i + 2, len(syllables) + 1):
            runs.setdefault("".join(syllables[i:j]), gbt16159(syllables[i:j]))
    wrong = []
    for word in re.findall(r"[A-Za-z']+", name_en):
        expected = runs.get(word.replace("'", "").lower())
        if expected and word.lower() != expected:
            wrong.append((word, expected))
    return wrong


def test_the_apostrophe_rule_is_checked():
    assert misspelt_pinyin("天鹅堡玉壶青春剧外景基地", "Tianebao–Yuhu Youth-Drama Exterior Base") == [("Tianebao", "tian'ebao")]
    assert misspelt_pinyin("富岙", "Fu'ao") == [] and misspelt_pinyin("富岙", "Fuao") == [("Fuao", "fu'ao")]
    assert misspelt_pinyin("嘉南美地", "Jianan Meidi") == []  # n-initial: no apostrophe by the rule


def test_english_names_follow_gbt16159(site_features, base_features):
    wrong = {f["properties"]["slug"]: misspelt_pinyin(f["properties"]["name_zh"], f["properties"]["name_en"])
             for f in site_features + base_features}
    assert not {slug: w for slug, w in wrong.items() if w}


def test_names_that_read_as_other_places_are_qualified(site_features, base_features):
    unqualified = [f["properties"]["name_en"] for f in site_features + base_features
                   if any(re.search(rf"\b{n}\b", f["properties"]["name_en"]) for n in AMBIGUOUS_EN)
                   and "(Wencheng)" not in f["properties"]["name_en"]]
    assert not unqualified


def test_one_convention_for_mountains_lakes_rivers_and_falls(site_features, base_features):
    """Pinyin of the specific name, then the English generic ("Huagai Mountain"); a one-syllable specific keeps the
    generic's syllable too ("Tianhu Lake").  See geodata/SOURCES.md."""
    checked = 0
    for f in site_features + base_features:
        zh, en = f["properties"]["name_zh"], f["properties"]["name_en"]
        generic = next((g for g in GENERICS if zh.endswith(g)), None)
        if generic is None:
            continue
        specific = zh[: -len(generic)]
        syllables = lazy_pinyin(specific) + (lazy_pinyin(generic) if len(specific) == 1 else [])
        expected = f"{gbt16159(syllables).capitalize()} {GENERICS[generic]}"
        assert en == expected or en.startswith(expected + " ("), (zh, en, expected)
        checked += 1
    assert checked >= 8, "the convention was checked on too few names"


def test_official_township_names(site_features, base_features):
    """Townships by their official names (西坑畲族镇, 周山畲族乡), never the short forms."""
    for f in site_features + base_features:
        p = f["properties"]
        text = " ".join(str(p.get(k) or "") for k in ("name_zh", "description_zh", "access_notes_zh", "coord_source"))
        assert not re.search(r"西坑镇|周山乡", text), p["slug"]


def test_descriptions_and_facts_are_sourced(site_features, base_features):
    """Every site and base names its sources; no facility rests on a judgement; zh and en give the same numbers."""
    for f in site_features + base_features:
        p = f["properties"]
        assert p.get("facts_source") and p.get("verified") is False, p["slug"]
        if p.get("facilities"):
            assert "judgement" not in p["facts_source"], p["slug"]
            for term in p["facilities"]:
                assert term in p["facts_source"], f"{p['slug']}: facility {term} has no source named for it"
        assert numbers_in(p.get("description_zh"), ZH_NUMBER_FORMS) == numbers_in(p.get("description_en"), EN_NUMBER_FORMS), \
            p["slug"]


# Numbers the two languages write differently, rewritten to digits before the zh and en descriptions are compared.
ZH_NUMBER_FORMS = {"20世纪50至60年代": "1950 60", "20世纪50年代": "1950", "4.62万千瓦": "46.2", "六七十": "60 70",
                   **{f"第{n}类": str(i) for i, n in enumerate("一二三四五六七八九十", start=1)}}
EN_NUMBER_FORMS = {"1950s–60s": "1950 60", "1950s": "1950"}


def numbers_in(text: str | None, forms: dict[str, str]) -> list[str]:
    text = (text or "").replace(",", "")
    for written, digits in forms.items():
        text = text.replace(written, f" {digits} ")
    return sorted(re.findall(r"\d+(?:\.\d+)?", text))


# What a public source phrase must not hold: staff notes' file names, rows, repositories, handles and commit hashes.
STAFF_NOTE_MARKS = re.compile(r"\.(csv|hgt|geojson|json|md)\b|\brows?\b|github|@|\b[0-9a-f]{7,40}\b|README", re.I)


def test_every_site_has_public_source_phrases(site_features):
    """The public panel reads a short source phrase per language, never the staff's notes."""
    for f in site_features:
        p = f["properties"]
        for lang in ("zh", "en"):
            phrase = p.get(f"source_public_{lang}")
            assert phrase and phrase.strip(), f"{p['slug']}: no public source phrase in {lang}"
            assert not STAFF_NOTE_MARKS.search(phrase), \
                f"{p['slug']}: {STAFF_NOTE_MARKS.search(phrase).group(0)!r} in its public source ({lang})"
        assert re.search(r"[\u4e00-\u9fff]", p["source_public_zh"]), f"{p['slug']}: the zh phrase is not Chinese"
        assert not re.search(r"[\u4e00-\u9fff]", p["source_public_en"]), f"{p['slug']}: Chinese in the en phrase"


def test_the_staff_note_marks_are_caught():
    for note in ("places.csv row '大峃镇'", "github Sanotsu/regional-coordinates-of-China @576d934", "N27E119.hgt"):
        assert STAFF_NOTE_MARKS.search(note), note
    assert not STAFF_NOTE_MARKS.search("Baidu Maps place coordinates (Daxu town seat); travel websites (unverified)")


def test_every_base_town_has_an_english_name_spelt_by_the_conventions(base_features):
    """The English map shows a base's towns from vocab.TOWNS: every seed town must be there, spelt as names are."""
    towns = {t for f in base_features for t in f["properties"]["towns"]}
    assert towns <= set(vocab.TOWNS), f"towns without an English name: {sorted(towns - set(vocab.TOWNS))}"
    misspelt = {zh: misspelt_pinyin(zh, en) for zh, en in vocab.TOWNS.items()}
    assert not {zh: w for zh, w in misspelt.items() if w}, "town names follow GB/T 16159"
    ambiguous = [en for en in vocab.TOWNS.values()
                 if any(re.search(rf"\b{n}\b", en) for n in AMBIGUOUS_EN) and "(Wencheng)" not in en]
    assert not ambiguous, "a town that reads as a better-known place is qualified"
    assert all(not re.search(r"[\u4e00-\u9fff]", en) for en in vocab.TOWNS.values()), "English names hold no Chinese"


def test_the_bases_api_serves_each_towns_english_name(client):
    bases = client.get("/api/bases").get_json()["features"]
    by_number = {f["properties"]["number"]: f["properties"] for f in bases}
    assert by_number[2]["towns"] == ["梧溪", "周山"]
    assert by_number[2]["towns_en"] == ["Wuxi (Wencheng)", "Zhoushan (Wencheng)"], "towns_en in the towns' order"
    assert all(len(p["towns_en"]) == len(p["towns"]) for p in by_number.values())
