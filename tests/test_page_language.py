"""One language per page, for the server's own pages: every error page (400 ... 503), the sign-in page, the OGC
API's HTML pages and the staff pages, each fetched in Chinese and in English and read as a person would
(tests/helpers.assert_one_language): no word of the other language, no internal code, the language's punctuation.
API clients keep their problem+json exactly as before."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from scouting import vocab
from scouting.models import Pack
from scouting.packs import today

from .helpers import assert_one_language, csrf, sign_in, signed_in, visible_text

LANGS = {"zh": "zh_CN", "en": "en"}
HTML = {"Accept": "text/html"}
# Werkzeug's and the core's English, which a page must never show.
WERKZEUG_ENGLISH = ("The requested URL was not found", "The method is not allowed", "there is no pack",
                    "Not Found", "Bad Request", "Back to the map ·", "返回地图 ·")


def page(client, path: str, lang: str, method: str = "GET", **kwargs):
    sep = "&" if "?" in path else "?"
    return client.open(f"{path}{sep}lang={LANGS[lang]}", method=method, headers=HTML, **kwargs)


def assert_error_page(resp, status: int, lang: str, says: dict[str, str] | None = None) -> str:
    """The answer is the error page of `status`, wholly in `lang`, with the way back and the other language."""
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}"
    assert resp.mimetype == "text/html", f"a browser gets a page, not {resp.mimetype}"
    html = resp.get_data(as_text=True)
    text = assert_one_language(html, lang)
    for english in WERKZEUG_ENGLISH:
        assert english not in html, f"the {status} page shows {english!r}"
    assert ("返回地图" if lang == "zh" else "Back to the map") in text, "the page leads back to the map"
    other = "en" if lang == "zh" else "zh_CN"
    assert f"lang={other}" in html and ("English" if lang == "zh" else "中文") in html, "it offers the other language"
    assert str(status) in text, "the status code is shown for support"
    if says:
        assert says[lang] in text, f"the {status} page says {says[lang]!r}"
    return text


# ---------------------------------------------------------------- error pages, triggered for real

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path,says", [
    ("/no-such-page", {"zh": "找不到页面", "en": "Page not found"}),
    ("/packs/zzzz", {"zh": "此链接没有对应的外景包", "en": "No pack at this link"}),
    ("/packs/zzzz/print", {"zh": "此链接没有对应的外景包", "en": "No pack at this link"}),
    ("/ogc/collections/nope?f=html", {"zh": "找不到页面", "en": "Page not found"}),
])
def test_not_found_pages_are_in_one_language(client, path, says, lang):
    assert_error_page(page(client, path, lang), 404, lang, says)


@pytest.mark.parametrize("lang", LANGS)
def test_a_missing_site_says_so_in_the_readers_language(writer, lang):
    signed_in(writer)
    assert_error_page(page(writer, "/sites/99999/edit", lang), 404, lang,
                      {"zh": "没有这个编号的外景地", "en": "There is no site with this number"})


@pytest.mark.parametrize("lang", LANGS)
def test_a_form_without_its_csrf_token_gets_a_400_page(client, lang):
    resp = page(client, "/login", lang, method="POST", data={"username": "x", "password": "y"})
    assert_error_page(resp, 400, lang, {"zh": "无法处理此请求", "en": "The request could not be used"})


@pytest.mark.parametrize("lang", LANGS)
def test_a_bad_ogc_parameter_gets_a_400_page_without_its_name(client, lang):
    text = assert_error_page(page(client, "/ogc/collections/sites/items?f=html&limit=many", lang), 400, lang)
    assert "limit" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_a_planner_on_the_admin_page_gets_a_403_page(writer, lang):
    signed_in(writer)
    assert_error_page(page(writer, "/admin/users", lang), 403, lang, {"zh": "无权访问", "en": "Not allowed"})


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_method_gets_a_405_page(client, lang):
    # /packs/... takes no CSRF token (pack edits carry their own token), so the method is what is refused.
    resp = page(client, "/packs/zzzz", lang, method="POST")
    assert_error_page(resp, 405, lang, {"zh": "此处不支持该操作", "en": "Not possible here"})
    assert "GET" in resp.headers["Allow"], "a 405 still says which methods the address takes"


@pytest.mark.parametrize("lang", LANGS)
def test_an_expired_pack_gets_a_410_page(app, client, lang):
    site_ids = [f["id"] for f in client.get("/api/sites?limit=2").get_json()["features"]]
    token = client.post("/api/packs", json={"name": "过期 expired", "site_ids": site_ids}).get_json()["id"]
    with app.extensions["scouting"]["sessionmaker"]() as session:
        session.execute(update(Pack).where(Pack.token == token).values(expires_on=today() - timedelta(days=1)))
        session.commit()
    assert_error_page(page(client, f"/packs/{token}", lang), 410, lang,
                      {"zh": "此外景包已不再分享", "en": "This pack is no longer shared"})
    api = client.get(f"/api/packs/{token}")
    assert api.status_code == 410 and api.mimetype == "application/problem+json", "programs keep problem+json"
    assert api.get_json()["title"] == "Gone" and "expired" in api.get_json()["detail"]


@pytest.mark.parametrize("lang", LANGS)
def test_too_large_a_form_gets_a_413_page(fresh_app, lang):
    fresh_app.config["MAX_CONTENT_LENGTH"] = 2000
    client = fresh_app.test_client()
    resp = page(client, "/login", lang, method="POST", data={"username": "x" * 5000, "password": "y"})
    assert_error_page(resp, 413, lang, {"zh": "内容过大", "en": "Too large"})


@pytest.mark.parametrize("lang", LANGS)
def test_a_url_past_the_apps_limit_gets_a_414_page_that_says_what_to_do(client, lang):
    from scouting.web import MAX_URL_LENGTH

    resp = page(client, "/?q=" + "a" * MAX_URL_LENGTH, lang)
    assert_error_page(resp, 414, lang, {"zh": "用更少的顶点重新画区域", "en": "draw the area with fewer corners"})
    assert 'href="/?lang=' in resp.get_data(as_text=True), "the language switch does not repeat the long address"


@pytest.mark.parametrize("lang", LANGS)
def test_too_many_sign_ins_get_a_429_page(writer, lang):
    for _ in range(10):
        sign_in(writer, password="wrong")
    token = csrf(writer, "/login")
    resp = page(writer, "/login", lang, method="POST", data={"username": "ping", "password": "x", "csrf_token": token})
    text = assert_error_page(resp, 429, lang, {"zh": "请求过于频繁", "en": "Too many requests"})
    assert "per" not in text.split(), "flask-limiter's English limit is not shown"


@pytest.mark.parametrize("lang", LANGS)
def test_an_unexpected_error_gets_a_500_page(fresh_app, lang):
    @fresh_app.get("/_boom")
    def _boom():
        raise RuntimeError("internal detail that must stay in the log")

    resp = page(fresh_app.test_client(), "/_boom", lang)
    text = assert_error_page(resp, 500, lang, {"zh": "出错了", "en": "Something went wrong"})
    assert "internal detail" not in text


def test_the_language_switch_of_an_error_page_stays_on_the_site(client):
    # A request line "GET //evil.example/x": the path itself starts with two slashes.
    html = client.get("/", headers=HTML, environ_overrides={"PATH_INFO": "//evil.example/x"}).get_data(as_text=True)
    assert 'href="/evil.example/x?lang=en"' in html and "//evil.example" not in html


def test_api_clients_keep_their_problem_details(client):
    missing = client.get("/api/packs/zzzz")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.get_json() == {"type": "about:blank", "title": "Not found", "status": 404,
                                  "detail": "there is no pack with that link"}
    bad = client.get("/api/sites?genre=nope")
    assert bad.get_json()["invalid-params"][0]["name"] == "genre"
    routed = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert routed.mimetype == "application/problem+json" and routed.get_json()["title"] == "Not Found"


# ---------------------------------------------------------------- pages in one language

@pytest.mark.parametrize("lang", LANGS)
def test_the_sign_in_page_follows_the_chosen_language(client, lang):
    resp = page(client, "/login", lang)
    assert resp.status_code == 200
    text = assert_one_language(resp.get_data(as_text=True), lang)
    assert ("登录" if lang == "zh" else "Sign in") in text
    other = "en" if lang == "zh" else "zh_CN"
    assert f'href="/login?next=/import&amp;lang={other}"' in page(client, "/login?next=/import", lang).get_data(
        as_text=True), "a switch to the other language keeps where sign-in leads"
    again = client.get("/login")  # the choice is remembered
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in again.get_data(as_text=True)


def test_visible_text_leaves_out_scripts_and_other_language_switches():
    html = ('<html lang="zh-CN"><head><title>地图</title><style>a{}</style></head><body><p title="提示">你好'
            '<a lang="en" href="?lang=en">English</a></p><script>var x = "English";</script></body></html>')
    assert visible_text(html).split("\n") == ["地图", "提示", "你好"]
    assert_one_language(html, "zh")
    with pytest.raises(AssertionError, match="Latin words"):
        assert_one_language(html.replace("你好", "你好 hello"), "zh")
    with pytest.raises(AssertionError, match="internal codes"):
        assert_one_language(html.replace("你好", "乡镇驻地 township_seat"), "zh")
    with pytest.raises(AssertionError, match="ASCII punctuation"):
        assert_one_language(html.replace("你好", "你好, 世界"), "zh")
    with pytest.raises(AssertionError, match="Chinese on the English page"):
        assert_one_language(html.replace('lang="zh-CN"', 'lang="en"'), "en")


# ---------------------------------------------------------------- the OGC API's HTML pages

OGC_PAGES = ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/sites", "/ogc/collections/bases",
             "/ogc/collections/sites/items", "/ogc/collections/sites/items?genre=nature,red&facility_status=verified",
             "/ogc/collections/sites/items/1", "/ogc/collections/bases/items", "/ogc/collections/bases/items/1",
             "/ogc/collections/sites/queryables", "/ogc/collections/bases/queryables"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", OGC_PAGES)
def test_ogc_pages_are_in_one_language(client, path, lang):
    resp = page(client, path + ("&" if "?" in path else "?") + "f=html", lang)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert_one_language(resp.get_data(as_text=True), lang)


def test_ogc_pages_default_to_chinese_and_switch_with_lang(client):
    html = client.get("/ogc/collections/sites/items?f=html&genre=nature").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    switch = 'href="/ogc/collections/sites/items?f=html&amp;genre=nature&amp;lang=en"'
    assert switch in html, "the switch keeps the page's parameters"
    repeated = client.get("/ogc/collections/sites/items?f=html&genre=nature&genre=red").get_data(as_text=True)
    assert "genre=nature&amp;genre=red&amp;lang=en" in repeated, "a repeated parameter keeps all its values"
    assert "题材：自然风光；题材：红色" in visible_text(repeated).replace("\n", ""), "each value is shown"
    english = client.get("/ogc/collections/sites/items?f=html&genre=nature&lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Natural scenery" in english


def test_ogc_item_pages_show_labels_not_codes(client):
    site = client.get("/ogc/collections/sites/items/1?f=json").get_json()["properties"]
    zh = visible_text(page(client, "/ogc/collections/sites/items/1?f=html", "zh").get_data(as_text=True))
    en = visible_text(page(client, "/ogc/collections/sites/items/1?f=html", "en").get_data(as_text=True))
    for genre in site["genres"]:
        assert vocab.GENRES[genre].zh in zh and vocab.GENRES[genre].en in en, f"genre {genre} by its label"
    assert site["position_method_zh"] in zh and site["position_method_en"] in en, "position method by its label"
    assert ("是" if site["approximate"] else "否") in zh.split("\n"), "booleans as words"
    for raw in (site["slug"], site["position_method"], "True", "False", "coord_source", site["coord_source"][:20]):
        assert raw not in zh, f"{raw!r} is not shown"
        # A code that is also an English word ("estimate") may be in an English sentence, never as a value.
        assert raw not in en.split("\n") if raw.isalpha() and raw.islower() else raw not in en, f"{raw!r} is not shown"


def test_ogc_json_is_unchanged_and_takes_no_lang(client):
    doc = client.get("/ogc/collections/sites/items/1?f=json").get_json()
    assert doc["properties"]["genres"] and all(g in vocab.GENRES for g in doc["properties"]["genres"])
    refused = client.get("/ogc/collections/sites/items?f=json&lang=en")
    assert refused.status_code == 400 and refused.get_json()["invalid-params"][0]["name"] == "lang"


def test_ogc_api_definition_page_frames_its_english_descriptions(client):
    """The OpenAPI descriptions are the definition's English, marked lang="en"; the page around them is Chinese."""
    html = page(client, "/ogc/api?f=html", "zh").get_data(as_text=True)
    assert_one_language(html, "zh")
    assert '<td lang="en">' in html


# ---------------------------------------------------------------- staff pages

@pytest.fixture
def admin_client(fresh_app):
    from scouting import accounts
    from scouting.geodata import load_geodata

    from .helpers import STAFF_PASSWORD
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", STAFF_PASSWORD, "admin")
    return signed_in(fresh_app.test_client())


@pytest.mark.parametrize("lang", LANGS)
def test_staff_pages_are_in_one_language(admin_client, lang):
    for path in ("/admin/users", "/import", "/suggest", "/suggestions", "/offline", "/field", "/my/packs"):
        resp = page(admin_client, path, lang)
        assert resp.status_code == 200, f"{path} answered {resp.status_code}"
        assert_one_language(resp.get_data(as_text=True), lang, allowed={"ping"})  # a username is the user's own
    roles = visible_text(page(admin_client, "/admin/users", lang).get_data(as_text=True))
    assert ("导演" if lang == "zh" else "Director") in roles, "roles by their names, not their codes"


@pytest.mark.parametrize("lang", LANGS)
def test_the_audit_page_takes_the_language_switch(admin_client, lang):
    resp = page(admin_client, "/audit", lang)
    assert resp.status_code == 200, "?lang= is the site's switch, not an unknown audit filter"
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in resp.get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGS)
def test_the_history_page_names_fields_and_terms_not_codes(admin_client, lang):
    """A revision's fields by the site form's names and its values by their labels.  The stored texts themselves
    (both names, both descriptions, the staff's source notes) are data in both languages, so only codes are checked."""
    resp = page(admin_client, "/sites/1/history", lang)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    text = visible_text(html)
    for code in ("name_zh", "description_en", "best_seasons", "position_method", "coord_accuracy_m", "create",
                 "None", "['spring'", "spring", "music_video"):
        assert code not in text.split("\n"), f"{code!r} is shown as a line of its own"
        assert f">{code}<" not in html, f"{code!r} is shown in a cell"
    assert ("最佳季节" if lang == "zh" else "Best seasons") in text
    assert "baizhangji-nature" not in text, "the base by its name"
    assert ("百丈漈自然风光外景基地" if lang == "zh" else "Baizhangji Natural-Scenery Exterior Base") in text
    assert ("第 1 版 · 创建" if lang == "zh" else "Version 1 · created") in text


# ---------------------------------------------------------------- a shared pack and its print view

PACK_WORDS = {"zh": {"name": "山雾外景", "notes": "清晨雾大，7 点前到。"},
              "en": {"name": "Mountain Mist recce", "notes": "Thick mist early: be there before 7."}}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("view", ["", "/print"])
def test_pack_page_and_print_view_read_in_one_language(client, lang, view):
    """The crew's own words are in the page's language here, so everything else must be too: the navigation
    links ("Amap", not "Amap (高德)"), labels, accuracy and provenance sentences, sun times.  The sites' names in
    the other language are marked with their own lang and so are not counted."""
    ids = [f["id"] for f in client.get("/api/sites?limit=3").get_json()["features"]]
    words = PACK_WORDS[lang]
    token = client.post("/api/packs", json={"name": words["name"], "site_ids": ids,
                                             "notes": {str(ids[0]): words["notes"]}}).get_json()["id"]
    resp = page(client, f"/packs/{token}{view}", lang)
    assert resp.status_code == 200
    text = assert_one_language(resp.get_data(as_text=True), lang)
    assert words["name"] in text and words["notes"] in text
    if not view:
        assert ("高德地图" if lang == "zh" else "Amap") in text.splitlines()
