"""The public source sentence of a site (scouting.provenance), and the site GeoJSON's provenance_zh/_en."""
from __future__ import annotations

import re

from sqlalchemy import select, update

from scouting.geodata import load_geodata
from scouting.models import Site, ThemedBase
from scouting.provenance import accuracy_words, provenance_text


def test_township_seat_in_chinese_reads_as_a_sentence():
    text = provenance_text("township_seat", 8000, False, "百度地图地名坐标（大峃镇驻地）；旅游网站资料（未核实）", "zh")
    assert text == "位置：乡镇驻地，误差约 8 公里，尚未实地核实。来源：百度地图地名坐标（大峃镇驻地）；旅游网站资料（未核实）。"


def test_english_sentence_and_units():
    text = provenance_text("gps", 12.4, True, "Field visit, May 2026.", "en")
    assert text == "Position: phone GPS, may be off by about 12 m, checked on the ground. Source: Field visit, May 2026."


def test_an_estimate_says_so_in_both_languages():
    assert provenance_text("estimate", 15000, False, None, "zh").startswith("位置：估计，误差约 15 公里")
    assert provenance_text("estimate", 15000, False, None, "en").startswith("Position: an estimate, may be off by "
                                                                             "about 15 km")


def test_without_a_public_phrase_a_plain_fallback_not_the_notes():
    zh = provenance_text("surveyed", 5, False, "  ", "zh")
    en = provenance_text("surveyed", 5, False, None, "en")
    assert zh.endswith("来源：尚未整理成公开说明。") and en.endswith("Source: not yet written up for the public.")


def test_accuracy_words():
    assert accuracy_words(12500, "zh") == "约 12.5 公里" and accuracy_words(12500, "en") == "about 12.5 km"
    assert accuracy_words(999, "en") == "about 999 m" and accuracy_words(40, "zh") == "约 40 米"
    assert accuracy_words(None, "en") is None


def test_site_features_carry_the_sentences_and_keep_the_notes(app):
    client = app.test_client()
    for feature in client.get("/api/sites?limit=1000").get_json()["features"]:
        p = feature["properties"]
        assert p["provenance_zh"].startswith("位置：") and "来源：" in p["provenance_zh"], p["slug"]
        assert p["provenance_en"].startswith("Position: ") and "Source: " in p["provenance_en"], p["slug"]
        assert p["source_public_zh"] in p["provenance_zh"], p["slug"]
        for sentence in (p["provenance_zh"], p["provenance_en"]):
            assert not re.search(r"places\.csv|github|@|township_seat|\brow\b", sentence), sentence
        assert not re.search(r"[A-Za-z]{4,}", p["provenance_zh"]) or "GeoNames" in p["provenance_zh"] or \
            "SRTM" in p["provenance_zh"], p["provenance_zh"]
        assert p["coord_source"], "the API keeps the staff's source notes (data carries its source)"


def test_load_geodata_fills_the_phrases_of_a_database_seeded_before_them(fresh_app):
    """After migration 0011 the columns are empty; load-geodata writes the seed's phrases (as revisions)."""
    maker = fresh_app.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        load_geodata(session)
        session.execute(update(Site).values(source_public_zh=None, source_public_en=None))
        session.commit()
    client = fresh_app.test_client()
    before = client.get("/api/sites?limit=1").get_json()["features"][0]["properties"]
    assert before["provenance_zh"].endswith("来源：尚未整理成公开说明。"), before["provenance_zh"]
    with maker() as session:
        report = load_geodata(session)
        assert report.updated["sites"] == len(session.scalars(select(Site.id)).all())
        assert all(session.scalars(select(Site.source_public_en)))
    after = client.get("/api/sites?limit=1").get_json()["features"][0]["properties"]
    assert after["source_public_zh"] in after["provenance_zh"]


def test_base_features_carry_the_sentences_and_keep_the_notes(app):
    """The themed bases read their source as the sites do: one sentence a language, from the base's own public
    phrase; never the staff's notes (file rows, repositories)."""
    client = app.test_client()
    features = client.get("/api/bases").get_json()["features"]
    assert len(features) == 10
    for feature in features:
        p = feature["properties"]
        assert p["provenance_zh"].startswith("位置：") and "来源：" in p["provenance_zh"], p["slug"]
        assert p["provenance_en"].startswith("Position: ") and "Source: " in p["provenance_en"], p["slug"]
        assert "尚未整理成公开说明" not in p["provenance_zh"] and "not yet written up" not in p["provenance_en"], \
            f"{p['slug']}: the seed gives every base a public phrase"
        assert "《文成微电影发展现状及对策》" in p["provenance_zh"], f"{p['slug']}: every base comes from the 2017 report"
        for sentence in (p["provenance_zh"], p["provenance_en"]):
            assert not re.search(r"places\.csv|github|@|township_seat|\brow\b|ESTIMATE", sentence), sentence
        assert not re.search(r"[A-Za-z]{4,}", p["provenance_zh"]) or "GeoNames" in p["provenance_zh"] or \
            "SRTM" in p["provenance_zh"], p["provenance_zh"]
        assert not re.search(r"[\u4e00-\u9fff]", p["provenance_en"]), p["provenance_en"]
        assert p["coord_source"], "the API keeps the staff's source notes"
    by_slug = {f["properties"]["slug"]: f["properties"] for f in features}
    assert by_slug["nantian-costume"]["provenance_zh"] == (
        "位置：乡镇驻地，误差约 15 公里，尚未实地核实。来源：百度地图地名坐标（南田镇驻地）；"
        "2017 年《文成微电影发展现状及对策》报告、公开旅游与政府网页。")


def test_base_sentence_on_the_ogc_page_in_the_pages_language(app):
    client = app.test_client()
    base_id = client.get("/api/bases").get_json()["features"][0]["id"]
    props = client.get("/api/bases").get_json()["features"][0]["properties"]
    for lang, code in (("zh", "zh_CN"), ("en", "en")):
        html = client.get(f"/ogc/collections/bases/items/{base_id}?f=html&lang={code}").get_data(as_text=True)
        assert props[f"provenance_{lang}"].replace("'", "&#39;") in html, lang
        assert "places.csv" not in html


def test_load_geodata_fills_the_bases_phrases_of_a_database_seeded_before_them(fresh_app):
    """After migration 0013 the bases' columns are empty; load-geodata writes the seed's phrases."""
    maker = fresh_app.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        load_geodata(session)
        session.execute(update(ThemedBase).values(source_public_zh=None, source_public_en=None))
        session.commit()
    client = fresh_app.test_client()
    before = client.get("/api/bases").get_json()["features"][0]["properties"]
    assert before["provenance_en"].endswith("Source: not yet written up for the public."), before["provenance_en"]
    with maker() as session:
        report = load_geodata(session)
        assert report.updated["bases"] == 10
        assert all(session.scalars(select(ThemedBase.source_public_zh)))
    after = client.get("/api/bases").get_json()["features"][0]["properties"]
    assert "百度地图地名坐标" in after["provenance_zh"]
