"""The planner's site form after a refused save: every error at once, each at its field, as a sentence in the
page's language naming the field by its label; nothing typed is lost.  The JSON API lists every wrong parameter."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from scouting import accounts

from .helpers import STAFF_PASSWORD as PASSWORD
from .helpers import bearer, csrf_of, signed_in

# What a person must never read on the form: field names, codes, API wording.
CODES = re.compile(r"\b(name_zh|name_en|elevation_m|area_m2|coord_accuracy_m|coord_source|position_method|"
                   r"confirm_outside|best_seasons|facts_source|geometry|verified_by|verified_at|GeoJSON|"
                   r"township_seat|verified_present)\b")
LANG = {"zh": {"Accept-Language": "zh-CN"}, "en": {"Accept-Language": "en"}}


class _Text(HTMLParser):
    """The text a person reads on a page (no tags, attributes, scripts or styles)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def field_error(html: str, name: str) -> str | None:
    found = re.search(rf'<strong class="scout-field-error" id="{name}-error">([^<]*)</strong>', html)
    return found.group(1) if found else None


@pytest.fixture
def planner(fresh_app):
    from scouting.geodata import load_geodata
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", PASSWORD, "planner")
        fresh_app.token = accounts.create_token(session, "ping")
    client = fresh_app.test_client()
    signed_in(client, "ping")
    return client


def bad_form(page: str) -> dict:
    """Six fields wrong at once, the rest filled in (and to be refilled)."""
    return {"csrf_token": csrf_of(page), "name_zh": "", "name_en": "Mist Valley", "genres": [],
            "terrain": ["forest", "river"], "best_seasons": ["autumn"], "elevation_m": "十二", "area_m2": "-5",
            "lon": "27.80", "lat": "120.05", "datum": "wgs84", "coord_source": "步测 GNSS", "coord_accuracy_m": "",
            "position_method": "surveyed", "base": "", "description_zh": "雾气很重的山谷",
            "facility-parking": "verified_present", "facility-parking-by": "", "facility-parking-at": "2026-01-02",
            "facility-toilets": "reported", "facility-toilets-source": "村委会电话"}


WANTED = {  # field: words its sentence must hold, per language (the label, and what is wrong)
    "name_zh": {"zh": ["中文名称", "请填写"], "en": ["Name (Chinese)", "Fill in"]},
    "genres": {"zh": ["题材", "至少"], "en": ["Genre", "at least one"]},
    "elevation_m": {"zh": ["海拔", "数字", "十二"], "en": ["Elevation (m)", "number", "十二"]},
    "area_m2": {"zh": ["面积", "-5"], "en": ["Area (m²)", "between 0 and", "-5"]},
    "lat": {"zh": ["纬度", "填反", "经度"], "en": ["Latitude", "swapped", "Longitude"]},
    "coord_accuracy_m": {"zh": ["精度", "请填写"], "en": ["Accuracy (m)", "Fill in"]},
    "facilities": {"zh": ["配套设施", "停车场", "核实人"], "en": ["Facilities", "arking", "who checked"]},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_error_at_once_at_its_field_in_the_page_language(planner, lang):
    page = planner.get("/sites/new", headers=LANG[lang]).get_data(as_text=True)
    resp = planner.post("/sites/new", data=bad_form(page), headers=LANG[lang])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for name, words in WANTED.items():
        sentence = field_error(html, name)
        assert sentence, f"no error shown at {name}"
        for word in words[lang]:
            assert word in sentence, f"{lang}: the error at {name} ({sentence!r}) lacks {word!r}"
        assert not CODES.search(sentence), f"{lang}: a field name or code in {sentence!r}"
        if lang == "zh":
            assert not re.search(r"[A-Za-z]{3,}", sentence), f"English in the Chinese error {sentence!r}"
            assert sentence.endswith("。"), f"not a Chinese sentence: {sentence!r}"
    assert field_error(html, "lon") is None, "the longitude is right: only the latitude is out of range"
    assert field_error(html, "name_en") is None and field_error(html, "coord_source") is None
    summary = re.search(r'<div class="scout-error-summary".*?</div>', html, re.S).group(0)
    for target in ("name_zh", "genres-0", "elevation_m", "area_m2", "lat", "coord_accuracy_m", "facility-facts"):
        assert f'href="#{target}"' in summary, f"the summary does not link to {target}"
    assert re.search(r'id="elevation_m" name="elevation_m" type="text" value="十二"', html) or \
        re.search(r'aria-invalid="true"[^>]*id="elevation_m"|id="elevation_m"[^>]*aria-invalid="true"', html)
    assert re.search(r'<input[^>]*aria-describedby="lat-error"[^>]*aria-invalid="true"|'
                     r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="lat-error"', html), "lat not marked"
    text = visible_text(html)
    assert not CODES.search(text), f"{lang}: {CODES.search(text).group(0)!r} is shown on the page"
    if lang == "en":  # one language per page: no Chinese but what the planner typed
        typed_removed = re.sub("十二|雾气很重的山谷", "", text)
        assert not re.search(r"[\u4e00-\u9fff]", typed_removed), re.findall(r".{20}[\u4e00-\u9fff]+.{5}", typed_removed)
    # Nothing typed is lost.
    for name, value in (("name_en", "Mist Valley"), ("elevation_m", "十二"), ("area_m2", "-5"), ("lon", "27.80"),
                        ("lat", "120.05"), ("coord_source", "步测 GNSS")):
        assert re.search(rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"', html), f"{name} not refilled"
    assert "雾气很重的山谷</textarea>" in html, "the description was not refilled"
    for value in ("forest", "river", "autumn"):
        assert re.search(rf'<input checked[^>]*value="{value}"', html), f"the ticked {value} was not kept"
    assert re.search(r'<select name="facility-parking"[^>]*>.*?<option value="verified_present" selected>', html,
                     re.S), "the parking status was not kept"
    assert 'name="facility-toilets-source" value="村委会电话"' in html, "the toilets source was not kept"
    assert 'name="facility-parking-at" value="2026-01-02"' in html
    # Nothing was written.
    names = [f["properties"]["name_en"] for f in planner.get("/api/sites?limit=1000").get_json()["features"]]
    assert "Mist Valley" not in names


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_outside_the_county_offers_a_checkbox_in_words(planner, lang):
    page = planner.get("/sites/new", headers=LANG[lang]).get_data(as_text=True)
    form = {"csrf_token": csrf_of(page), "name_zh": "温州江边", "name_en": "Wenzhou Riverside", "genres": ["nature"],
            "lon": "120.65", "lat": "28.01", "datum": "wgs84", "coord_source": "GNSS", "coord_accuracy_m": "5",
            "position_method": "surveyed", "base": "", "elevation_m": "abc"}
    assert 'id="confirm_outside"' not in page, "the keep-it box is offered before the point is outside"
    html = planner.post("/sites/new", data=form, headers=LANG[lang]).get_data(as_text=True)
    sentence = field_error(html, "confirm_outside")
    label = {"zh": "位置在文成县境外，仍然保留", "en": "The position is outside Wencheng County: keep it"}[lang]
    assert sentence and label in sentence and ("文成县境外" if lang == "zh" else "outside Wencheng County") in sentence
    assert field_error(html, "elevation_m"), "the other error was not reported with the position's"
    assert re.search(rf'<label for="confirm_outside"><input[^>]*id="confirm_outside"[^>]*>\s*{label}</label>', html)
    assert not CODES.search(visible_text(html))
    ticked = planner.post("/sites/new", data=form | {"elevation_m": "12", "confirm_outside": "y",
                                                    "csrf_token": csrf_of(html)}, headers=LANG[lang])
    assert ticked.status_code == 302, field_error(ticked.get_data(as_text=True), "confirm_outside")


def test_edit_form_keeps_stored_values_and_reports_all(planner):
    site = planner.get("/api/sites?limit=1").get_json()["features"][0]
    page = planner.get(f"/sites/{site['id']}/edit", headers=LANG["en"]).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    form = {"csrf_token": csrf_of(page), "version": version, "name_zh": "改名", "name_en": "", "genres": ["nature"],
            "lon": "abc", "lat": "", "datum": "wgs84", "coord_source": "x", "coord_accuracy_m": "5",
            "position_method": "surveyed", "base": ""}
    html = planner.post(f"/sites/{site['id']}/edit", data=form, headers=LANG["en"]).get_data(as_text=True)
    assert "Fill in “Name (English)”" in field_error(html, "name_en")
    assert "“Longitude” must be a number" in field_error(html, "lon")
    assert "Fill in “Latitude”" in field_error(html, "lat")
    assert 'value="改名"' in html
    assert f": {site['properties']['name_en']}</h2>" in html, "the English form names the site in English"
    stored = planner.get(f"/api/sites/{site['id']}").get_json()["properties"]
    assert stored["name_zh"] == site["properties"]["name_zh"], "a refused edit was written"


def test_api_lists_every_invalid_parameter(planner, fresh_app):
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.05, 27.80]},
            "properties": {"name_zh": "", "name_en": "API site", "genres": [], "coord_source": "GNSS",
                           "coord_accuracy_m": "five", "position_method": "surveyed", "elevation_m": 99999}}
    resp = planner.post("/api/sites", json=body, headers=bearer(fresh_app.token))
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    names = [p["name"] for p in resp.get_json()["invalid-params"]]
    assert names == ["name_zh", "elevation_m", "coord_accuracy_m", "genres"], names
    outside = planner.post("/api/sites", json=body | {"geometry": {"type": "Point", "coordinates": [121.5, 31.2]}},
                           headers=bearer(fresh_app.token)).get_json()
    assert [p["name"] for p in outside["invalid-params"]][-1] == "geometry"
    assert "confirm_outside=true" in outside["invalid-params"][-1]["reason"], "the API keeps its machine wording"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_suggestion_form_reports_every_error_at_its_field(planner, fresh_app, lang):
    visitor = fresh_app.test_client()
    page = visitor.get("/suggest", headers=LANG[lang]).get_data(as_text=True)
    resp = visitor.post("/suggest", headers=LANG[lang], data={
        "csrf_token": csrf_of(page), "name": "", "message": "", "lon": "120.05", "lat": "abc",
        "suggester_name": "老王"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    wanted = {"zh": {"name": "地点名称", "message": "您的建议", "lat": "纬度"},
              "en": {"name": "Name of the place", "message": "What do you suggest?", "lat": "Latitude"}}[lang]
    for name, label in wanted.items():
        sentence = field_error(html, name)
        assert sentence and label in sentence, f"{lang}: no error naming {label!r} at {name}: {sentence!r}"
        assert not CODES.search(sentence)
    assert field_error(html, "lon") is None
    assert 'href="#message"' in html and 'aria-describedby="lat-error"' in html
    assert 'value="老王"' in html and 'value="120.05"' in html and 'value="abc"' in html, "what was typed is lost"
