"""A URL too long is answered with the app's own 414 page, in the reader's language, by the real gunicorn as
`make run` starts it: a URL between the app's limit (scouting.web.MAX_URL_LENGTH) and gunicorn's
(limit_request_line) reaches the app; a longer one is refused by gunicorn, whose worker
(scouting.web.gunicorn_worker) answers with the same page instead of gunicorn's bare English."""
from __future__ import annotations

import json
import runpy
import socket
import threading

import pytest

from scouting.web import MAX_URL_LENGTH
from scouting.web.gunicorn_worker import MAX_DRAIN, headers_after_line

from .conftest import drop_database, seeded_database_with_planner
from .helpers import ROOT, assert_one_language, gunicorn

LIMIT_REQUEST_LINE = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["limit_request_line"]
BETWEEN = "/?q=" + "a" * (MAX_URL_LENGTH + 50)           # past the app's limit, within gunicorn's
PAST_GUNICORN = "/?q=" + "a" * (3 * LIMIT_REQUEST_LINE)  # past gunicorn's
SAYS = {"zh": "用更少的顶点重新画区域", "en": "draw the area with fewer corners"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn on a seeded SpatiaLite database (the answer does not depend on the backend)."""
    tmp = tmp_path_factory.mktemp("long-lines")
    url, _token = seeded_database_with_planner("spatialite", tmp, "ping")
    with gunicorn({"SCOUTING_DATABASE_URL": url, "SCOUTING_SECRET_KEY": "long-lines"}, tmp / "gunicorn.log",
                  workers=1) as running:
        yield running
    drop_database(url)


def test_the_lengths_tested_lie_where_they_should():
    assert len("GET " + BETWEEN + " HTTP/1.1") <= LIMIT_REQUEST_LINE < len("GET " + PAST_GUNICORN + " HTTP/1.1")
    assert len(BETWEEN) > MAX_URL_LENGTH


@pytest.mark.parametrize("path", [BETWEEN, PAST_GUNICORN], ids=["between-the-limits", "past-gunicorns-limit"])
@pytest.mark.parametrize("lang,headers", [
    ("zh", {}),                                              # a first visit: the site's default, Chinese
    ("en", {"Accept-Language": "en-GB,en;q=0.9"}),           # the browser's language
    ("en", {"Cookie": "lang=en", "Accept-Language": "zh-CN"}),  # the language chosen on the site wins
    ("zh", {"Cookie": "lang=zh_CN", "Accept-Language": "en"}),
])
def test_a_too_long_url_gets_the_apps_page_in_the_readers_language(server, path, lang, headers):
    status, answer, body = server.call("GET", path, {"Accept": "text/html"} | headers)
    assert status == 414, f"{len(path)}-character URL answered {status}"
    assert answer.get_content_type() == "text/html"
    html = body.decode()
    assert "Request-URI Too Long" not in html and "URI Too Long" not in html, "not gunicorn's bare English"
    assert_one_language(html, lang)
    assert SAYS[lang] in html, "the page says what to do"


def test_an_api_client_past_gunicorns_limit_gets_problem_details(server):
    status, answer, body = server.call("GET", "/api/sites?q=" + "a" * (3 * LIMIT_REQUEST_LINE),
                                       {"Accept": "application/json"})
    assert status == 414 and answer.get_content_type() == "application/problem+json"
    assert json.loads(body)["title"] == "URI too long"


def test_the_server_goes_on_serving_after_a_too_long_line(server):
    for _ in range(3):
        assert server.call("GET", PAST_GUNICORN, {"Accept": "text/html"})[0] == 414
    assert server.call("GET", "/healthz")[0] == 200
    assert server.call("GET", "/api/sites?limit=1")[0] == 200


# ---------------------------------------------------------------- the worker's bounded read of the rest

def _sent(data: bytes) -> dict[str, str]:
    """headers_after_line() on a socket the other end of which sends `data` (from a thread) and closes."""
    ours, theirs = socket.socketpair()

    def send():
        try:
            theirs.sendall(data)
        except OSError:
            pass  # we stopped reading, as we should
        finally:
            theirs.close()

    sender = threading.Thread(target=send)
    sender.start()
    try:
        return headers_after_line(ours)
    finally:
        ours.close()
        sender.join()


def test_the_worker_reads_the_language_headers_after_the_line():
    rest = b"a" * 50_000 + b" HTTP/1.1\r\nHost: x\r\nCookie: lang=en\r\nAccept-Language: zh\r\nAccept: text/html\r\n\r\n"
    assert _sent(rest) == {"Cookie": "lang=en", "Accept-Language": "zh", "Accept": "text/html"}
    # A CR at the end of one read and its LF at the start of the next still end the line.
    assert _sent(b"a" * (64 * 1024 - 1) + b"\r\nCookie: lang=en\r\n\r\n") == {"Cookie": "lang=en"}


def test_the_worker_reads_a_bounded_amount():
    endless = b"a" * (MAX_DRAIN + 200_000) + b" HTTP/1.1\r\nCookie: lang=en\r\n\r\n"
    assert _sent(endless) == {}, "past MAX_DRAIN the line is given up on (the page falls back to the default)"
    assert _sent(b"aaa") == {}, "a client that stops sending"
