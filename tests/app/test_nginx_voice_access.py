"""Voice files behind the nginx role's own site: the app decides, Nginx remembers briefly.

A player's probe, ranges and replays of one file ask the app once; an outsider gets the
app's own 404, the same as for a file that does not exist; a revoked "yes" (a recalled
message, a session logged out, a disabled account) stops working within 10 seconds.
"""

import subprocess
import sys
import time

import pytest
import requests

from tests.benchmarks.web_stack import app_answers, cookie_header, send_voice, web_stack
from tests.conftest import ROOT

ROUTE = "/uploads/<path:filename>"
# The bound for revocation; the role's nginx_voice_access_cache_valid is below it.
REVOCATION_SECONDS = 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with web_stack(tmp_path_factory.mktemp("nginx-voice-access")) as running:
        yield running


@pytest.fixture(scope="module")
def people(stack):
    return {name: stack.user(name) for name in ("alice", "bob", "mallory")}


def stored(stack, url: str) -> bytes:
    return (stack.uploads_dir / url.removeprefix("/uploads/")).read_bytes()


def test_a_players_requests_ask_the_app_once(stack, people, speech_files):
    content = send_voice(stack, people["alice"], "bob", speech_files["webm"])
    url, whole = f"{stack.base_url}{content['url_m4a']}", stored(stack, content["url_m4a"])
    ranges = [(0, 1), (0, len(whole) - 1), (100, 999), (len(whole) - 64, len(whole) - 1)]
    before = app_answers(stack, ROUTE)
    for first, last in ranges:  # Safari's probe, then the player's ranges
        part = people["bob"].http.get(url, headers={"Range": f"bytes={first}-{last}"}, timeout=10)
        assert part.status_code == 206
        assert part.content == whole[first : last + 1]
        assert part.headers["Content-Type"] == "audio/mp4"
        assert part.headers["Cache-Control"] == "private, max-age=3600"
    replay = people["bob"].http.get(url, timeout=10)
    assert replay.status_code == 200 and replay.content == whole
    asked = app_answers(stack, ROUTE) - before
    # Five requests; the app is asked again only if one came after the decision expired.
    assert 1 <= asked < len(ranges) + 1


def test_outsiders_get_the_same_404_as_for_a_missing_file(stack, people, speech_files):
    content = send_voice(stack, people["alice"], "bob", speech_files["webm"])
    outsider = people["mallory"].http.get(f"{stack.base_url}{content['url_m4a']}", timeout=10)
    missing_name = content["url_m4a"].rsplit("/", 1)[0] + "/" + "0" * 32 + ".m4a"
    missing = people["bob"].http.get(f"{stack.base_url}{missing_name}", timeout=10)
    assert outsider.status_code == missing.status_code == 404
    assert outsider.json() == missing.json() and outsider.json()["code"] == "not_found"
    internal = people["bob"].http.get(f"{stack.base_url}/internal/voice-access", timeout=10)
    assert internal.status_code == 404
    # A browser cannot make itself the access check and read the internal location's name.
    forged = people["mallory"].http.get(
        f"{stack.base_url}{content['url_m4a']}", headers={"X-Natter-Access-Check": "1"}, timeout=10
    )
    assert forged.status_code == 404 and "X-Natter-Voice-Target" not in forged.headers


def answers_until_refused(get, revoked_at: float) -> int:
    """The status once the revocation has had its 10 seconds (earlier, if refused sooner)."""
    while time.monotonic() < revoked_at + REVOCATION_SECONDS:
        status = get().status_code
        if status == 404:
            return status
        assert status == 206
        time.sleep(0.25)
    return get().status_code


def test_a_recalled_message_stops_playing_within_10_seconds(stack, people, speech_files):
    alice, bob = people["alice"], people["bob"]
    content = send_voice(stack, alice, "bob", speech_files["webm"])
    url = f"{stack.base_url}{content['url_m4a']}"

    def play():
        return bob.http.get(url, headers={"Range": "bytes=0-1"}, timeout=10)

    assert play().status_code == 206
    recalled = alice.post(f"/api/chat/messages/{content['message_id']}/recall")
    assert recalled.status_code == 200, recalled.text
    assert answers_until_refused(play, time.monotonic()) == 404


def test_a_stolen_cookie_stops_playing_within_10_seconds_of_logout(stack, people, speech_files):
    carol = stack.user("carol")
    content = send_voice(stack, people["alice"], "carol", speech_files["webm"])
    url = f"{stack.base_url}{content['url_m4a']}"
    stolen = {"Cookie": cookie_header(carol), "Range": "bytes=0-1"}

    def play_with_stolen_cookie():
        return requests.get(url, headers=stolen, verify=str(stack.ca_file), timeout=10)

    assert play_with_stolen_cookie().status_code == 206
    assert carol.post("/api/auth/logout").status_code == 200
    assert answers_until_refused(play_with_stolen_cookie, time.monotonic()) == 404


def test_a_disabled_account_stops_playing_within_10_seconds(stack, people, speech_files):
    dave = stack.user("dave")
    content = send_voice(stack, people["alice"], "dave", speech_files["webm"])
    url = f"{stack.base_url}{content['url_m4a']}"

    def play():
        return dave.http.get(url, headers={"Range": "bytes=0-1"}, timeout=10)

    assert play().status_code == 206
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "users", "disable", "dave"],
        cwd=ROOT, env=stack.app_env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    assert answers_until_refused(play, time.monotonic()) == 404
