"""The voice player in a real browser: waveform, seeking, speed, auto-advance, heard dots."""

import json
import re
import time

import pytest

from tests.browser.chromium import (
    chromium,
    first_conversation_messages,
    register,
    start_conversation,
)
from tests.voice import audio

PLAYERS = "li[data-type=audio] .voice-player"

PLAYER_STATE = """(players) => players.map((player) => {
    const slider = player.querySelector(".waveform");
    const audio = player.querySelector("audio");
    const heardBy = player.querySelector(".heard-by");
    return {
        state: player.dataset.state,
        label: player.querySelector("button.play").getAttribute("aria-label"),
        speed: player.querySelector("button.speed").textContent,
        rate: audio.playbackRate,
        time: audio.currentTime,
        src: audio.currentSrc,
        now: Number(slider.getAttribute("aria-valuenow")),
        max: Number(slider.getAttribute("aria-valuemax")),
        valuetext: slider.getAttribute("aria-valuetext"),
        shown: player.querySelector(".time").textContent,
        dot: !player.querySelector(".unheard-dot").hidden,
        heardBy: heardBy.hidden ? "" : heardBy.textContent,
    };
})"""


def players(page) -> list[dict]:
    return page.eval_on_selector_all(PLAYERS, PLAYER_STATE)


def wait_for(page, predicate, what: str, timeout: float = 30.0):
    """Polls the players' state until predicate(states) holds."""
    deadline = time.monotonic() + timeout
    while True:
        states = players(page)
        if predicate(states):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {json.dumps(states, indent=1)}")
        time.sleep(0.1)


def upload(page, conversation_id: int, path, mime: str) -> dict:
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    response = page.request.post(
        "/api/chat/messages/upload_audio",
        headers={"X-CSRFToken": token},
        multipart={
            "conversation_id": str(conversation_id),
            "file": {"name": path.name, "mimeType": mime, "buffer": path.read_bytes()},
        },
    )
    assert response.status == 201, response.text()
    return response.json()


def wait_until_waveforms(page, count: int, timeout: float = 60.0) -> list[dict]:
    """The conversation's voice messages once all are transcoded, with their waveforms."""
    deadline = time.monotonic() + timeout
    while True:
        voice = [m for m in first_conversation_messages(page) if m["type"] == "audio"]
        contents = [json.loads(m["content"]) for m in voice]
        if len(voice) == count and all(c.get("url_m4a") and c.get("waveform") for c in contents):
            return contents
        if time.monotonic() > deadline:
            raise AssertionError(f"not transcoded in {timeout} s: {contents}")
        time.sleep(0.25)


def open_first_conversation(page) -> None:
    page.wait_for_selector("#conversations button", timeout=15000)
    page.click("#conversations button >> nth=0")
    page.wait_for_selector(f"{PLAYERS} >> nth=1")


def test_waveform_seek_speed_auto_advance_and_heard_dots(gunicorn_factory, tmp_path):
    base = gunicorn_factory({})
    first = audio.encode(
        audio.speak(audio.SENTENCE, tmp_path / "first.wav"), tmp_path / "first.webm", "webm"
    )
    second = audio.encode(
        audio.speak(audio.OTHER_SENTENCE, tmp_path / "second.wav"), tmp_path / "second.mp3", "mp3"
    )
    with chromium() as browser:
        alice = browser.new_context(base_url=base).new_page()
        bob = browser.new_context(base_url=base).new_page()
        register(alice, base, "alice")
        register(bob, base, "bob")
        start_conversation(alice, "bob")
        conversation_id = int(alice.get_attribute("#conversations button", "data-conversation-id"))
        # Seeded through the API as real recordings: a WebM/Opus and an mp3 upload.
        upload(alice, conversation_id, first, "audio/webm")
        sent_mp3 = upload(alice, conversation_id, second, "audio/mpeg")
        contents = wait_until_waveforms(alice, 2)

        # The recipient's list counts both as unheard, live.
        bob.wait_for_function(
            "() => document.querySelector('#conversations .unheard-count')?.textContent === '2'"
        )
        open_first_conversation(bob)
        check_waveform(bob, contents[0])
        check_speed_is_remembered(bob)
        check_seeking(bob, contents[0]["duration"])
        # Seeking is not hearing: nothing was marked.
        assert [s["dot"] for s in players(bob)] == [True, True]
        assert [s["dot"] for s in players(alice)] == [True, True]
        check_playback_auto_advance_and_heard(bob)

        # The sender's page follows live: dots gone, who heard it shown.
        states = wait_for(
            alice, lambda s: [p["dot"] for p in s] == [False, False], "alice's dots gone"
        )
        # "Heard by bob (08:31 PM)": who, and at what time.
        heard = re.compile(r"Heard by bob \(\d\d:\d\d( [AP]M)?\)")
        assert all(heard.fullmatch(s["heardBy"]) for s in states), states
        assert [s["speed"] for s in states] == ["1×", "1×"]  # alice's own speed
        check_old_message_plays(bob, sent_mp3["url_raw"], contents[1]["duration"])


def check_waveform(page, content) -> None:
    """One bar per peak, as tall as the peak (silence still shows a sliver)."""
    page.wait_for_selector(f"{PLAYERS} .waveform[data-kind=peaks] >> nth=1")
    heights = page.eval_on_selector_all(
        f"{PLAYERS} >> nth=0",
        "([p]) => [...p.querySelectorAll('.bars:not(.played) rect')]"
        ".map((r) => +r.getAttribute('height'))",
    )
    assert heights == [max(6, peak) for peak in content["waveform"]]
    assert len(set(heights)) > 5, heights
    states = players(page)
    assert [s["dot"] for s in states] == [True, True]
    assert states[0]["label"] == "Play voice message" and states[0]["state"] == "paused"
    assert states[0]["max"] == pytest.approx(content["duration"], abs=0.1)
    assert states[0]["shown"].startswith("0:00 / 0:0")


def check_speed_is_remembered(page) -> None:
    """1× → 1.5× → 2×, for every player at once, and still 2× after a reload."""
    speed = f"{PLAYERS} >> nth=0 >> button.speed"
    assert page.inner_text(speed) == "1×"
    page.click(speed)
    with page.expect_response(lambda r: r.url.endswith("/api/me") and r.status == 200):
        page.click(speed)
    assert [s["speed"] for s in players(page)] == ["2×", "2×"]
    page.reload()
    open_first_conversation(page)
    assert [s["speed"] for s in players(page)] == ["2×", "2×"]
    assert page.get_attribute(speed, "aria-label") == "Playback speed: 2×"


def check_seeking(page, total: float) -> None:
    """Arrow keys, End and Home on the slider; a tap and a drag on the waveform."""
    slider = page.locator(f"{PLAYERS} >> nth=0 >> .waveform")
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    state = wait_for(page, lambda s: abs(s[0]["time"] - 4) < 0.05, "two arrows → 4 s")[0]
    assert state["now"] == 4 and state["valuetext"].startswith("0:04 of ")
    page.keyboard.press("ArrowLeft")
    wait_for(page, lambda s: abs(s[0]["time"] - 2) < 0.05 and s[0]["now"] == 2, "left → 2 s")
    page.keyboard.press("End")
    wait_for(page, lambda s: abs(s[0]["time"] - s[0]["max"]) < 0.2, "End → the end")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.click(box["x"] + box["width"] * 0.75, y)
    wait_for(page, lambda s: abs(s[0]["time"] - 0.75 * s[0]["max"]) < 0.2, "tap at 3/4")
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.up()
    state = wait_for(page, lambda s: abs(s[0]["time"] - 0.5 * s[0]["max"]) < 0.2, "drag")[0]
    assert state["now"] == pytest.approx(total / 2, abs=0.2)
    page.keyboard.press("Home")
    wait_for(page, lambda s: s[0]["time"] < 0.05 and s[0]["now"] == 0, "Home → 0")


def check_playback_auto_advance_and_heard(page) -> None:
    """The label and state follow playback at 2×; when the first ends the next unheard
    one plays by itself; both are then heard: dots and the list's count gone."""
    page.click(f"{PLAYERS} >> nth=0 >> button.play")
    state = wait_for(page, lambda s: s[0]["state"] == "playing", "first playing")[0]
    assert state["label"] == "Pause voice message" and state["rate"] == 2
    assert state["src"].endswith(".m4a")
    wait_for(page, lambda s: s[0]["state"] == "ended", "first ended", timeout=20)
    states = wait_for(page, lambda s: s[1]["state"] in ("playing", "ended"), "auto-advance")
    assert states[1]["rate"] == 2 and states[1]["src"].endswith(".m4a")
    wait_for(page, lambda s: s[1]["state"] == "ended", "second ended", timeout=20)
    wait_for(page, lambda s: [p["dot"] for p in s] == [False, False], "bob's dots gone")
    page.wait_for_selector("#conversations .unheard-count", state="detached")


def check_old_message_plays(page, raw_url: str, duration: float) -> None:
    """An older message (no waveform, only its raw file: here the mp3 upload) plays on a
    plain bar."""
    page.evaluate(
        """async (content) => {
            const { VoicePlayer } = await import("/static/js/voice/player.js");
            const box = document.createElement("div");
            box.id = "old-message";
            document.body.append(box);
            new VoicePlayer(box, JSON.stringify(content));
        }""",
        {"url": raw_url, "duration": duration},
    )
    assert page.get_attribute("#old-message .waveform", "data-kind") == "plain"
    page.click("#old-message button.play")
    page.wait_for_function(
        "() => document.querySelector('#old-message .voice-player').dataset.state === 'ended'",
        timeout=20000,
    )
    played = page.evaluate("document.querySelector('#old-message audio').currentSrc")
    assert played.endswith("-raw.mp3"), played


SEEK_THEN_NEW_SOURCES = """async (content) => {
    const { VoicePlayer } = await import("/static/js/voice/player.js");
    const box = document.createElement("div");
    box.id = "seeking";
    document.body.append(box);
    const player = new VoicePlayer(box, content);
    player.waveform.seekTo(2);
    player.update(content); // the message's files announced again before the file loaded
}"""


def test_a_seek_survives_new_sources_arriving_before_the_file_loaded(gunicorn_factory, tmp_path):
    """A person seeks a message not yet loaded, and the same message's files are announced
    again (a finished transcode, a resumed stream): the player keeps the file it is loading
    and lands where the person asked, rather than dropping the file and sitting at 0:00."""
    base = gunicorn_factory({})
    recording = audio.encode(
        audio.speak(audio.SENTENCE, tmp_path / "speech.wav"), tmp_path / "speech.webm", "webm"
    )
    with chromium() as browser:
        page = browser.new_context(base_url=base).new_page()
        register(page, base, "alice")
        register(browser.new_context(base_url=base).new_page(), base, "bob")
        start_conversation(page, "bob")
        conversation_id = int(page.get_attribute("#conversations button", "data-conversation-id"))
        upload(page, conversation_id, recording, "audio/webm")
        content = wait_until_waveforms(page, 1)[0]
        page.evaluate(SEEK_THEN_NEW_SOURCES, json.dumps(content))
        page.wait_for_function(
            "() => { const a = document.querySelector('#seeking audio');"
            " return a.readyState >= 1 && Math.abs(a.currentTime - 2) < 0.05; }",
            timeout=30000,
        )
        assert page.get_attribute("#seeking .waveform", "aria-valuenow") == "2"
        assert page.inner_text("#seeking .time").startswith("0:02 / ")
