"""The nginx role's own site in front of the real app, on loopback: what Nginx itself answers."""

import gzip
import hashlib
import http.client
import json
import re
import ssl

import pytest

from tests.benchmarks.web_stack import cookie_header, web_stack
from tests.conftest import ROOT

# Connections a test opened; closed after it, whatever it asserted.
OPENED: list[http.client.HTTPSConnection] = []


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nginx-site")
    with web_stack(folder, nginx_overrides={"nginx_event_streams_per_address": 2}) as running:
        yield running


def connection(stack) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    return http.client.HTTPSConnection("127.0.0.1", stack.port, context=context, timeout=20)


def test_an_oversized_upload_gets_json_from_nginx(stack):
    user = stack.user("alice")
    conn = connection(stack)
    request_cleanup(conn)
    conn.putrequest("POST", "/api/chat/messages/upload_audio")
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(30 * 1024 * 1024))
    conn.putheader("Cookie", cookie_header(user))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/json"
    assert "too large" in json.loads(response.read())["error"]


def request_cleanup(conn) -> None:
    OPENED.append(conn)


@pytest.fixture(autouse=True)
def close_connections():
    yield
    while OPENED:
        OPENED.pop().close()


def open_stream(stack, cookie: str) -> http.client.HTTPResponse:
    conn = connection(stack)
    request_cleanup(conn)
    conn.request("GET", "/api/chat/events", headers={"Cookie": cookie})
    return conn.getresponse()


def test_one_address_holds_a_bounded_number_of_streams(stack):
    cookie = cookie_header(stack.user("bob"))
    held = [open_stream(stack, cookie) for _ in range(2)]
    assert [response.status for response in held] == [200, 200]
    refused = open_stream(stack, cookie)
    assert refused.status == 429
    assert refused.getheader("Content-Type") == "application/json"
    assert "too many" in json.loads(refused.read())["error"]


def test_security_headers_reach_the_browser_once(stack):
    conn = connection(stack)
    request_cleanup(conn)
    conn.request("GET", "/login")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert len(response.msg.get_all(name)) == 1, name


def test_static_files_are_compressed_and_kept_by_content_hash(stack):
    conn = connection(stack)
    request_cleanup(conn)
    conn.request("GET", "/login")
    page = conn.getresponse().read().decode()
    versioned = re.search(r'href="(/static/css/app\.css\?v=([0-9a-f]{12}))"', page)
    assert versioned, "the page links its stylesheet by content hash"
    css = (ROOT / "app" / "static" / "css" / "app.css").read_bytes()
    assert hashlib.sha256(css).hexdigest()[:12] == versioned[2]

    conn.request("GET", versioned[1], headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == css and len(body) < len(css) / 2
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert response.getheader("Vary") == "Accept-Encoding"

    # Without the hash (modules the page's script imports): asked again every time.
    conn.request("GET", "/static/js/chat/api.js", headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    response.read()
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Cache-Control") == "no-cache"

    conn.request("GET", "/static/manifest.webmanifest")
    response = conn.getresponse()
    assert json.loads(response.read())["start_url"] == "/chat"
    assert response.getheader("Content-Type") == "application/manifest+json"
