"""Facts with a status: each facility on a site is reported (with its source), verified present or verified absent
(who, when, how).  Written through the API and the form, filtered ("verified only"; a verified-absent one never
matches), shown on the pack pages, exported (GeoJSON/KML/CSV/GPKG read back by GDAL, GPX by gpxpy) and kept through
import -> export, revisions and restore.  Both databases (the fixtures are parametrized by backend)."""
from __future__ import annotations

import json
import re

import gpxpy
import pyogrio
import pytest
from sqlalchemy import select, text

from scouting import facts, migrate
from scouting.models import AuditEvent

from .helpers import auth, csrf_of, signed_in
from .test_import import post_import
from .test_planner_pages import planner_app  # noqa: F401 - a fixture

VERIFIED_PARKING = {"facility": "parking", "status": "verified_present", "verified_by": "ping",
                    "verified_at": "2026-11-02", "verified_how": "visit"}
ABSENT_TOILETS = {"facility": "toilets", "status": "verified_absent", "verified_by": "ping",
                  "verified_at": "2026-11-02", "verified_how": "photo"}
REPORTED_CATERING = {"facility": "catering", "status": "reported", "source": "县文旅局 2017 年报告"}


def patch(client, site_id: int, props: dict):
    etag = client.get(f"/api/sites/{site_id}").headers["ETag"]
    return client.patch(f"/api/sites/{site_id}", json={"type": "Feature", "properties": props},
                        headers=auth(client, **{"If-Match": etag}))


def slugs(body: dict) -> set[str]:
    return {f["properties"]["slug"] for f in body["features"]}


@pytest.fixture
def two_sites(writer):
    """Two seed sites: A with parking verified present (after being reported), toilets verified absent and catering reported;
    B with parking and toilets reported (plain terms)."""
    features = writer.get("/api/sites?limit=2").get_json()["features"]
    a, b = features[0]["id"], features[1]["id"]
    # Parking reported first, then verified: the audit must show the change of status, whatever the seed says.
    assert patch(writer, a, {"facilities": ["parking"]}).status_code == 200
    resp = patch(writer, a, {"facilities": [VERIFIED_PARKING, ABSENT_TOILETS, REPORTED_CATERING]})
    assert resp.status_code == 200, resp.get_json()
    resp = patch(writer, b, {"facilities": ["parking", "toilets"], "facts_source": "据 2017 年报告"})
    assert resp.status_code == 200, resp.get_json()
    return writer, a, b


def test_api_serves_each_facility_with_its_status_and_labels(two_sites):
    client, a, b = two_sites
    props = client.get(f"/api/sites/{a}").get_json()["properties"]
    assert props["facilities"] == ["parking", "catering"], "what the site has, in vocabulary order"
    assert "toilets" not in props["facilities"], "a facility verified absent is not one the site has"
    by_term = {e["facility"]: e for e in props["facility_status"]}
    assert set(by_term) == {"parking", "toilets", "catering"}
    assert by_term["parking"]["label_zh"] == "停车场（已核实，2026-11-02 实地）"
    assert by_term["parking"]["label_en"] == "Parking (verified, 2026-11-02 site visit)"
    assert by_term["toilets"]["label_zh"] == "卫生间（已核实没有，2026-11-02 照片）"
    assert by_term["catering"]["label_zh"] == "餐饮（据报道，待核实）"
    assert by_term["catering"]["label_en"] == "Catering (reported, unverified)"
    assert by_term["catering"]["source"] == REPORTED_CATERING["source"]
    # A plain term is reported, its source the site's facts_source.
    other = {e["facility"]: e for e in client.get(f"/api/sites/{b}").get_json()["properties"]["facility_status"]}
    assert other["parking"]["status"] == "reported" and other["parking"]["source"] == "据 2017 年报告"


def test_verified_absent_never_matches_and_verified_only_filters(two_sites):
    client, a, b = two_sites
    ids = {f["id"] for f in client.get("/api/sites?facility=toilets&limit=1000").get_json()["features"]}
    assert a not in ids and b in ids, ids
    verified = client.get("/api/sites?facility=parking&facility_status=verified&limit=1000").get_json()
    assert [f["id"] for f in verified["features"]] == [a], "only the verified-present parking counts"
    assert client.get("/api/sites?facility=toilets&facility_status=verified").get_json()["numberMatched"] == 0
    # The same query with an area (the EXISTS path of the query builder).
    area = "bbox=119.5,27.4,120.5,28.2&"
    assert [f["id"] for f in client.get(f"/api/sites?{area}facility=parking&facility_status=verified")
            .get_json()["features"]] == [a]
    assert a not in {f["id"] for f in client.get(f"/api/sites?{area}facility=toilets&limit=1000").get_json()["features"]}
    # Facet counts honour it: with verified only, a facility counts where it was verified present.
    facets = client.get("/api/sites/facets?facility_status=verified").get_json()["counts"]["facility"]
    assert facets == {"parking": 1}, facets
    every = client.get("/api/sites/facets").get_json()["counts"]["facility"]
    stored_toilets = client.get("/api/sites?facility=toilets&limit=1000").get_json()["numberMatched"]
    assert every["toilets"] == stored_toilets
    # OGC items pass it through.
    ogc = client.get("/ogc/collections/sites/items?f=json&facility=parking&facility_status=verified").get_json()
    assert [f["id"] for f in ogc["features"]] == [a]
    html = client.get(f"/ogc/collections/sites/items/{a}?f=html").get_data(as_text=True)
    assert "停车场（已核实，2026-11-02 实地）" in html, "the Chinese page in Chinese"
    html = client.get(f"/ogc/collections/sites/items/{a}?f=html&lang=en").get_data(as_text=True)
    assert "Parking (verified, 2026-11-02 site visit)" in html, "the English page in English"
    bad = client.get("/api/sites?facility_status=maybe")
    assert bad.status_code == 400 and bad.get_json()["invalid-params"][0]["name"] == "facility_status"


@pytest.mark.parametrize("entry, reason", [
    ({"facility": "parking", "status": "verified_present", "verified_at": "2026-11-02", "verified_how": "visit"},
     "verified_by is required"),
    ({**VERIFIED_PARKING, "verified_at": "2999-01-01"}, "in the future"),
    ({**VERIFIED_PARKING, "verified_at": "yesterday"}, "not a date"),
    ({**VERIFIED_PARKING, "verified_how": "rumour"}, "verified_how"),
    ({"facility": "parking", "status": "probably"}, "status"),
    ({"facility": "helipad"}, "unknown term"),
    ({"facility": "parking", "status": "reported", "verified_by": "ping"}, "only for a verified status"),
    ({**VERIFIED_PARKING, "colour": "red"}, "unknown key"),
    (42, "each item"),
])
def test_bad_facility_status_is_a_400_naming_facilities(writer, entry, reason):
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    resp = patch(writer, site["id"], {"facilities": [entry]})
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["invalid-params"][0]["name"] == "facilities"
    assert reason in resp.get_json()["detail"], resp.get_json()["detail"]
    assert writer.get(f"/api/sites/{site['id']}").get_json()["properties"]["version"] == site["properties"]["version"]


def test_plain_term_keeps_a_verification_and_history_restores_statuses(two_sites):
    client, a, _ = two_sites
    # Re-sending the plain term does not undo the verification; dropping toilets removes its row.
    assert patch(client, a, {"facilities": ["parking", "boats"]}).status_code == 200
    by_term = {e["facility"]: e for e in client.get(f"/api/sites/{a}").get_json()["properties"]["facility_status"]}
    assert by_term["parking"]["status"] == "verified_present" and by_term["boats"]["status"] == "reported"
    assert set(by_term) == {"parking", "boats"}
    # The served form echoes back: GET -> PUT of facility_status and facilities together is accepted...
    served = client.get(f"/api/sites/{a}").get_json()["properties"]
    echo = patch(client, a, {"facilities": served["facilities"], "facility_status": served["facility_status"]})
    assert echo.status_code == 200, echo.get_json()
    # ...but not when they disagree.
    clash = patch(client, a, {"facilities": ["villas"], "facility_status": served["facility_status"]})
    assert clash.status_code == 400 and clash.get_json()["invalid-params"][0]["name"] == "facilities"
    history = client.get(f"/api/sites/{a}/history", headers=auth(client)).get_json()
    with_absent = next(r for r in history["revisions"] if any(
        e.get("status") == "verified_absent" for e in (r["after"] or {}).get("facilities") or [] if isinstance(e, dict)))
    etag = client.get(f"/api/sites/{a}").headers["ETag"]
    restored = client.post(f"/api/sites/{a}/restore", json={"revision": with_absent["id"]},
                           headers=auth(client, **{"If-Match": etag}))
    assert restored.status_code == 200, restored.get_json()
    by_term = {e["facility"]: e for e in client.get(f"/api/sites/{a}").get_json()["properties"]["facility_status"]}
    assert by_term["toilets"]["status"] == "verified_absent" and by_term["toilets"]["verified_how"] == "photo"
    with client.application.extensions["scouting"]["sessionmaker"]() as session:
        summaries = session.scalars(select(AuditEvent.summary).where(AuditEvent.object_id == str(a))).all()
    assert any("parking reported→verified_present" in (s or "") for s in summaries), summaries
    assert any("toilets −verified_absent" in (s or "") for s in summaries), summaries


def _export(client, fmt: str) -> bytes:
    resp = client.get(f"/api/sites/export?format={fmt}")
    assert resp.status_code == 200
    return resp.get_data()


def _statuses(entries) -> dict[str, tuple]:
    return {e["facility"]: (e["status"], e.get("source"), e.get("verified_by"), e.get("verified_at"),
                            e.get("verified_how")) for e in entries}


def test_exports_carry_the_status_read_back_by_gdal_and_gpxpy(two_sites, tmp_path):
    client, a, _ = two_sites
    stored = _statuses(client.get(f"/api/sites/{a}").get_json()["properties"]["facility_status"])
    slug = client.get(f"/api/sites/{a}").get_json()["properties"]["slug"]
    for fmt, layer in (("geojson", None), ("kml", None), ("csv", None), ("gpkg", "sites")):
        path = tmp_path / f"sites.{fmt}"
        path.write_bytes(_export(client, fmt))
        options = {"layer": layer} if layer else {}
        frame = pyogrio.read_dataframe(path, **options)
        row = frame[frame["slug"] == slug].iloc[0]
        value = row["facility_status"]
        entries = value if isinstance(value, list) else json.loads(value)
        assert _statuses(entries) == stored, fmt
    csv_text = (tmp_path / "sites.csv").read_text(encoding="utf-8-sig")
    assert "停车场（已核实，2026-11-02 实地）" in csv_text and "餐饮（据报道，待核实）" in csv_text
    kml = (tmp_path / "sites.kml").read_text(encoding="utf-8")
    assert "停车场（已核实，2026-11-02 实地） Parking (verified, 2026-11-02 site visit)" in kml
    gpx = gpxpy.parse(_export(client, "gpx").decode())
    desc = next(w.description for w in gpx.waypoints if w.name.startswith(
        client.get(f"/api/sites/{a}").get_json()["properties"]["name_zh"]))
    assert "卫生间（已核实没有，2026-11-02 照片） / Toilets (verified absent, 2026-11-02 photo)" in desc


@pytest.mark.parametrize("fmt", ["geojson", "csv", "kml", "gpkg"])
def test_import_then_export_keeps_each_status(two_sites, tmp_path, fmt):
    client, a, _ = two_sites
    before = _statuses(client.get(f"/api/sites/{a}").get_json()["properties"]["facility_status"])
    exported = _export(client, fmt)
    # Forget the statuses, then import the export: they come back, and a second export says the same.
    assert patch(client, a, {"facilities": []}).status_code == 200
    resp = post_import(client, exported, f"back.{fmt}", commit="true")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["totals"]["update"] == 1, [r for r in resp.get_json()["rows"] if r["action"] != "unchanged"]
    after = _statuses(client.get(f"/api/sites/{a}").get_json()["properties"]["facility_status"])
    assert after == before
    assert _export(client, fmt if fmt != "gpkg" else "geojson")  # still exportable
    path = tmp_path / f"again.{fmt}"
    path.write_bytes(_export(client, fmt))
    frame = pyogrio.read_dataframe(path, **({"layer": "sites"} if fmt == "gpkg" else {}))
    slug = client.get(f"/api/sites/{a}").get_json()["properties"]["slug"]
    value = frame[frame["slug"] == slug].iloc[0]["facility_status"]
    assert _statuses(value if isinstance(value, list) else json.loads(value)) == before


def test_pack_pages_show_statuses_in_the_page_language(two_sites):
    client, a, _ = two_sites
    created = client.post("/api/packs", json={"name": "勘景", "site_ids": [a]})
    assert created.status_code == 201, created.get_json()
    token = created.get_json()["id"]
    for path in (f"/packs/{token}", f"/packs/{token}/print"):
        zh = client.get(path + "?lang=zh_CN").get_data(as_text=True)
        assert "停车场（已核实，2026-11-02 实地）" in zh and "餐饮（据报道，待核实）" in zh, path
        assert "Parking (verified" not in zh
        en = client.get(path + "?lang=en").get_data(as_text=True)
        assert "Parking (verified, 2026-11-02 site visit)" in en and "Catering (reported, unverified)" in en, path
        assert "据报道" not in en


def test_elevation_at_an_estimated_point_is_the_sites(writer):
    features = writer.get("/api/sites?limit=1000").get_json()["features"]
    estimated = next(f for f in features if f["properties"]["position_method"] in facts.ESTIMATED_POSITIONS
                     and f["properties"]["elevation_m"] is not None)
    p = estimated["properties"]
    assert p["elevation_label_zh"] == f"约 {p['elevation_m']:.0f} 米（场地海拔，非此点）"
    assert p["elevation_label_en"] == f"about {p['elevation_m']:.0f} m (the site's elevation, not this point's)"
    assert facts.elevation_text(320, "surveyed", "zh") == "320 米"


def test_site_form_sets_each_status(planner_app):  # noqa: F811 - the fixture imported above
    client = planner_app.test_client()
    signed_in(client, "ping")
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    page = client.get(f"/sites/{site['id']}/edit?lang=zh_CN").get_data(as_text=True)
    assert 'name="facility-parking"' in page and "已核实没有" in page and "未登记" in page
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', page).group(1)
    p = site["properties"]
    form = {"csrf_token": csrf_of(page), "name_zh": p["name_zh"], "name_en": p["name_en"], "genres": p["genres"],
            "terrain": p["terrain"], "lon": str(site["geometry"]["coordinates"][0]),
            "lat": str(site["geometry"]["coordinates"][1]), "datum": "wgs84", "coord_source": p["coord_source"],
            "coord_accuracy_m": str(p["coord_accuracy_m"]), "position_method": p["position_method"],
            "base": p["base"] or "", "version": version, "facts_source": p["facts_source"] or "",
            "facility-parking": "verified_present", "facility-parking-by": "ping", "facility-parking-at": "2026-11-02",
            "facility-parking-how": "call",
            "facility-toilets": "verified_absent", "facility-toilets-by": "ping", "facility-toilets-at": "2026-11-01",
            "facility-toilets-how": "visit",
            "facility-catering": "reported", "facility-catering-source": "村委会电话", "facility-catering-by": "ping",
            "facility-boats": ""}
    bad = client.post(f"/sites/{site['id']}/edit", data=form | {"facility-parking-by": ""})
    assert bad.status_code == 400 and "“配套设施”中的停车场：请填写核实人。" in bad.get_data(as_text=True)
    assert 'value="verified_present" selected' in bad.get_data(as_text=True), "what was typed is kept"
    saved = client.post(f"/sites/{site['id']}/edit", data=form)
    assert saved.status_code == 302, re.findall(r'scout-field-error[^>]*>([^<]+)<', saved.get_data(as_text=True))
    got = _statuses(client.get(f"/api/sites/{site['id']}").get_json()["properties"]["facility_status"])
    assert got == {"parking": ("verified_present", None, "ping", "2026-11-02", "call"),
                   "toilets": ("verified_absent", None, "ping", "2026-11-01", "visit"),
                   "catering": ("reported", "村委会电话", None, None, None)}


def test_migration_makes_existing_facilities_reported_with_the_sites_source(fresh_app):
    from scouting.geodata import load_geodata

    engine = fresh_app.extensions["scouting"]["engine"]
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
    migrate.downgrade(engine, "0007")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT t.status, t.source, s.facts_source, t.verified_by FROM site_tags t JOIN sites s ON s.id = t.site_id "
            "WHERE t.vocabulary = 'facility'")).all()
        others = conn.execute(text("SELECT count(*) FROM site_tags WHERE vocabulary <> 'facility' "
                                   "AND status IS NOT NULL")).scalar()
    assert rows, "the seed data has facilities"
    assert all(status == "reported" and source == site_source and by is None for status, source, site_source, by in rows)
    assert others == 0, "genres and terrain carry no status"


def test_vocabulary_lists_statuses_and_ways_of_checking(client):
    body = client.get("/api/vocabulary").get_json()
    assert [s["slug"] for s in body["facility_statuses"]] == list(facts.STATUSES)
    assert {"visit", "photo", "call"} <= {m["slug"] for m in body["verification_methods"]}
    assert all(s["zh"] and s["en"] for s in body["facility_statuses"] + body["verification_methods"])


def test_fact_wording_is_one_language_each():
    entry = {"facility": "parking", "status": "reported", "source": None, "verified_by": None, "verified_at": None,
             "verified_how": None}
    assert facts.label(entry, "zh") == "停车场（据报道，待核实）"
    assert facts.label(entry, "en") == "Parking (reported, unverified)"
    assert not re.search(r"[A-Za-z]", facts.label({**VERIFIED_PARKING, "source": None}, "zh").replace("2026-11-02", ""))
    assert facts.from_cell(facts.as_cell([entry])) == [{"facility": "parking", "status": "reported"}]


def test_loader_reads_statuses_and_base_facts(fresh_app, tmp_path):
    """geodata/: a plain term is reported with the record's facts_source, an object gives a verified status;
    bases' facts_source and verified are read; loading the same files again changes nothing."""
    import shutil

    from scouting.geodata import GEODATA_DIR, load_geodata

    for name in ("bases.geojson", "sites.geojson", "wencheng_boundary.geojson"):
        shutil.copy(GEODATA_DIR / name, tmp_path / name)
    sites_doc = json.loads((tmp_path / "sites.geojson").read_text(encoding="utf-8"))
    props = sites_doc["features"][0]["properties"]
    props["facts_source"] = "测试来源"
    props["facilities"] = ["catering", VERIFIED_PARKING]
    (tmp_path / "sites.geojson").write_text(json.dumps(sites_doc, ensure_ascii=False), encoding="utf-8")
    bases_doc = json.loads((tmp_path / "bases.geojson").read_text(encoding="utf-8"))
    bases_doc["features"][0]["properties"].update(facts_source="2017 年报告第 3 节", verified=True)
    (tmp_path / "bases.geojson").write_text(json.dumps(bases_doc, ensure_ascii=False), encoding="utf-8")

    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session, tmp_path)
        again = load_geodata(session, tmp_path)
    # (The outline's rewrite on SpatiaLite is the other half of issue #12, not checked here.)
    assert (again.updated["bases"], again.updated["sites"]) == (0, 0), again.summary()
    client = fresh_app.test_client()
    site = client.get("/api/sites?q=" + props["name_zh"]).get_json()["features"][0]["properties"]
    assert _statuses(site["facility_status"]) == {
        "parking": ("verified_present", None, "ping", "2026-11-02", "visit"),
        "catering": ("reported", "测试来源", None, None, None)}
    base = next(f["properties"] for f in client.get("/api/bases").get_json()["features"]
                if f["properties"]["slug"] == bases_doc["features"][0]["properties"]["slug"])
    assert base["facts_source"] == "2017 年报告第 3 节" and base["verified"] is True
