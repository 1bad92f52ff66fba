"""The nginx role's S3 mode on loopback: the app authorises, Nginx fetches from a real RGW.

Nginx (the role's own site.conf.j2), Gunicorn, Redis, the worker and a Ceph RGW of this
module's own: the voice file reaches the browser with its audio type and Range, from
Nginx's cache after the first play, with nothing of S3 showing.
"""

import pytest

from tests.benchmarks.web_stack import s3_overrides, send_voice, web_stack
from tests.storage import rgw as rgw_server


@pytest.fixture(scope="module")
def gateway():
    started = rgw_server.start_gateway()
    yield started
    started.remove()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, gateway):
    folder = tmp_path_factory.mktemp("nginx-s3")
    bucket = gateway.new_bucket()
    nginx, app = s3_overrides(folder, gateway, bucket)
    with web_stack(folder, nginx_overrides=nginx, app_overrides=app) as running:
        running.bucket = bucket
        yield running


@pytest.fixture(scope="module")
def voice(stack, speech_files):
    """(alice, bob, mallory, content) after alice sent a voice message to bob."""
    alice, bob, mallory = stack.user("alice"), stack.user("bob"), stack.user("mallory")
    return alice, bob, mallory, send_voice(stack, alice, "bob", speech_files["webm"])


def stored_bytes(gateway, bucket: str, url: str) -> bytes:
    key = url.removeprefix("/uploads/")
    return gateway.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def test_participant_plays_the_file_from_s3_then_from_the_cache(stack, gateway, voice):
    _, bob, _, content = voice
    url = f"{stack.base_url}{content['url_m4a']}"
    first = bob.http.get(url, timeout=10)
    assert first.status_code == 200
    assert first.content == stored_bytes(gateway, stack.bucket, content["url_m4a"])
    assert first.headers["Content-Type"] == "audio/mp4"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert first.headers["Cache-Control"] == "private, max-age=3600"
    assert first.headers["X-Cache-Status"] in {"MISS", "HIT"}
    # A new presigned URL (a new signature) is the same object: served from the cache.
    again = bob.http.get(url, timeout=10)
    assert again.headers["X-Cache-Status"] == "HIT" and again.content == first.content


def test_nothing_of_s3_reaches_the_browser(stack, gateway, voice):
    _, bob, _, content = voice
    response = bob.http.get(f"{stack.base_url}{content['url_m4a']}", timeout=10)
    endpoint_port = gateway.endpoint.rsplit(":", 1)[1]
    for name, value in response.headers.items():
        assert not name.lower().startswith(("x-amz", "x-rgw")), name
        assert stack.bucket not in value and endpoint_port not in value, (name, value)
        assert "X-Amz" not in value, (name, value)
    # One Cache-Control (Nginx's own), not S3's beside it.
    assert response.headers["Cache-Control"] == "private, max-age=3600"


def test_ranges_are_answered_by_nginx(stack, gateway, voice):
    _, bob, _, content = voice
    whole = stored_bytes(gateway, stack.bucket, content["url_m4a"])
    url = f"{stack.base_url}{content['url_m4a']}"
    for first, last in ((0, 1), (100, 199), (len(whole) - 50, len(whole) - 1)):
        part = bob.http.get(url, headers={"Range": f"bytes={first}-{last}"}, timeout=10)
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes {first}-{last}/{len(whole)}"
        assert part.content == whole[first : last + 1]
        assert part.headers["Content-Type"] == "audio/mp4"


def test_outsiders_and_the_internal_location_get_404(stack, gateway, voice):
    _, _, mallory, content = voice
    assert mallory.http.get(f"{stack.base_url}{content['url_m4a']}", timeout=10).status_code == 404
    host = gateway.endpoint.removeprefix("http://")
    direct = f"{stack.base_url}/internal/s3/{host}/{stack.bucket}/{content['url_m4a'][9:]}"
    assert mallory.http.get(direct, timeout=10).status_code == 404


def test_a_cached_file_plays_while_s3_is_unreachable(stack, gateway, voice):
    _, bob, _, content = voice
    url = f"{stack.base_url}{content['url_m4a']}"
    assert bob.http.get(url, timeout=10).status_code == 200  # cached now
    gateway.pause()
    try:
        cached = bob.http.get(url, timeout=30)
        assert cached.status_code == 200 and cached.headers["X-Cache-Status"] == "HIT"
        raw = bob.http.get(f"{stack.base_url}{content['url_raw']}", timeout=90)
        assert raw.status_code == 503
        assert "error" in raw.json()
    finally:
        gateway.resume()
