"""The map page reads the filter parameter names and the genre colours from the server: one source each.

The names come from scouting/search.py (FILTER_PARAMETERS, checked against PARAMETERS here), the colours
from scouting/vocab.py; neither may reappear as a hand-kept copy in the page's script or style sheets.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from scouting import search, vocab

STATIC = Path(__file__).resolve().parent.parent / "static"
HEX = re.compile(r"#[0-9a-fA-F]{6}")


def page_settings(html: str) -> dict:
    """The settings the inline script hands to WenchengScout.mount (one JSON object on one line)."""
    match = re.search(r"window\.WenchengScout = \{state: null, app: null\}\),\s*map_\w+, (\{.*\})\);", html)
    assert match, "the page's inline script passes the map and its settings"
    return json.loads(match.group(1))


def test_filter_parameters_are_the_search_parameters_less_paging():
    flat = [p for params in search.FILTER_PARAMETERS.values() for p in params]
    assert flat == [p for p in search.PARAMETERS if p not in ("limit", "offset")], "same names, same order"
    assert list(search.FILTER_PARAMETERS) == list(search.FILTER_FIELDS), "one entry per filter the facets relax"


def test_every_genre_has_one_colour():
    assert set(vocab.GENRE_COLOURS) == set(vocab.GENRES)
    assert all(HEX.fullmatch(c) for c in vocab.GENRE_COLOURS.values())
    assert len(set(vocab.GENRE_COLOURS.values())) == len(vocab.GENRES), "colours tell genres apart"


def test_the_page_gets_names_and_colours_from_the_server(client):
    html = client.get("/").get_data(as_text=True)
    settings = page_settings(html)
    assert settings["filters"] == {name: list(params) for name, params in search.FILTER_PARAMETERS.items()}
    assert re.search(r'<script type="module" src="/static/js/map/main\.js"></script>', html), "main.js as a module"
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/js/map/([\w-]+\.js)">', html))
    assert preloaded == {p.name for p in STATIC.glob("js/map/*.js")} - {"main.js"}, "every module it imports, at once"
    for slug, colour in vocab.GENRE_COLOURS.items():
        assert f'data-term="{slug}"' in html
        assert f'style="background: {colour}"' in html, f"the {slug} chip's swatch has its colour"
    served = client.get("/api/vocabulary").get_json()
    assert served["genre_colours"] == vocab.GENRE_COLOURS


def test_no_hand_kept_copies_in_script_or_css():
    # A copy would pair a genre's slug with a colour ("costume: '#b03a2e'", ".scout-genre-costume { background: ...").
    slugs = "|".join(vocab.GENRES)
    pairing = re.compile(rf"\b({slugs})\b[^\n]{{0,30}}#[0-9a-fA-F]{{3,6}}")
    for path in [*STATIC.glob("js/map/*.js"), *STATIC.glob("css/*.css")]:
        text = path.read_text(encoding="utf-8")
        assert not pairing.search(text), f"{path.name} pairs a genre with a colour: {pairing.search(text).group(0)}"
        assert "scout-genre-" not in text, f"{path.name} has per-genre classes"
        assert not re.search(r"[\"']radius_km[\"'],\s*[\"']elev_min[\"']", text), \
            f"{path.name} keeps its own list of filter parameters"
