"""The map page as HTML: local assets only, Tianditu only with a key, both languages."""
from __future__ import annotations

import re

import pytest

from scouting import create_app


def script_and_style_urls(html: str) -> list[str]:
    return re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+)"', html)


def test_every_asset_is_local(client):
    html = client.get("/").get_data(as_text=True)
    urls = script_and_style_urls(html)
    assert any("vendor/leaflet/leaflet.js" in u for u in urls)
    # Everything from this site: static files, and the web app manifest (per language, so not a static file).
    assert all(u.startswith("/static/") or u.startswith("/manifest.webmanifest?") for u in urls), urls
    for cdn in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "unpkg.com", "code.jquery.com", "bootstrapcdn"):
        assert cdn not in html


def test_tianditu_layers_need_a_key(app, tmp_path):
    html = app.test_client().get("/").get_data(as_text=True)
    assert "tianditu.gov.cn" not in html
    url = app.config["DATABASE_URL"]
    keyed = create_app({"DATABASE_URL": url, "TIANDITU_KEY": "k3y<>", "SECRET_KEY": "x"}, instance_path=str(tmp_path))
    html = keyed.test_client().get("/").get_data(as_text=True)
    assert "tianditu.gov.cn" in html and "tk=k3y" in html and "k3y<>" not in html  # the key is JSON-escaped


def test_language_from_header_parameter_and_cookie(client):
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "<h1>文成外景地图</h1>" in zh and "自然风光" in zh
    en = client.get("/", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert "<h1>Wencheng Scout</h1>" in en and "Natural scenery" in en
    switched = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "<h1>Wencheng Scout</h1>" in switched.get_data(as_text=True)
    assert "lang=en" in switched.headers["Set-Cookie"] and "HttpOnly" in switched.headers["Set-Cookie"]
    # The cookie now wins over the header.
    assert "<h1>Wencheng Scout</h1>" in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    client.get("/?lang=zh_CN")
    assert "<h1>文成外景地图</h1>" in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_unknown_language_falls_back_to_chinese(client):
    html = client.get("/?lang=xx", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<h1>文成外景地图</h1>" in html


def test_error_page_is_html_for_pages(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "返回地图" in resp.get_data(as_text=True)




def test_every_ui_string_has_a_chinese_translation():
    from babel.messages.pofile import read_po

    from .conftest import ROOT
    with open(ROOT / "scouting/translations/zh/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f)
    with open(ROOT / "scouting/translations/messages.pot", "rb") as f:
        template = read_po(f)
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert not untranslated
    assert {m.id for m in template if m.id} <= {m.id for m in catalog if m.id}, "run make i18n"


@pytest.mark.parametrize("path", ["/login", "/suggest", "/no-such-page"])
def test_pages_say_their_language_in_html_lang(client, path):
    """<html lang> follows the page's language on every page, staff and error pages included."""
    for lang, tag in (("zh_CN", "zh-CN"), ("en", "en")):
        html = client.get(path, query_string={"lang": lang}).get_data(as_text=True)
        assert f'<html lang="{tag}">' in html, (path, lang)
