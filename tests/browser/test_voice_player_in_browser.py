"""The voice player in a real browser: waveform, seeking, speed, auto-advance, heard dots."""

import json
import time

import pytest

from tests.browser.chromium import chromium, register, start_conversation
from tests.voice import audio

PLAYERS = "li[data-type=audio] .voice-player"

CONVERSATION_MESSAGES = """async () => {
    const get = async (path) => (await fetch(path)).json();
    const { conversations } = await get("/api/chat/conversations");
    const { messages } = await get(`/api/chat/messages?conversation_id=${conversations[0].id}`);
    return messages;
}"""

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
        voice = [m for m in page.evaluate(CONVERSATION_MESSAGES) if m["type"] == "audio"]
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
        # The waveform: one bar per peak, as tall as the peak (silence still shows a sliver).
        bob.wait_for_selector(f"{PLAYERS} .waveform[data-kind=peaks] >> nth=1")
        heights = bob.eval_on_selector_all(
            f"{PLAYERS} >> nth=0",
            "([p]) => [...p.querySelectorAll('.bars:not(.played) rect')]"
            ".map((r) => +r.getAttribute('height'))",
        )
        assert heights == [max(6, peak) for peak in contents[0]["waveform"]]
        assert len(set(heights)) > 5, heights
        states = players(bob)
        assert [s["dot"] for s in states] == [True, True]
        assert states[0]["label"] == "Play voice message" and states[0]["state"] == "paused"
        total = contents[0]["duration"]
        assert states[0]["max"] == pytest.approx(total, abs=0.1)
        assert states[0]["shown"].startswith("0:00 / 0:0")

        # Speed: 1× → 1.5× → 2×, for every player, and remembered on the account.
        speed = f"{PLAYERS} >> nth=0 >> button.speed"
        assert bob.inner_text(speed) == "1×"
        bob.click(speed)
        with bob.expect_response(lambda r: r.url.endswith("/api/me") and r.status == 200):
            bob.click(speed)
        assert [s["speed"] for s in players(bob)] == ["2×", "2×"]
        bob.reload()
        open_first_conversation(bob)
        assert [s["speed"] for s in players(bob)] == ["2×", "2×"]
        assert bob.get_attribute(speed, "aria-label") == "Playback speed: 2×"

        # Keyboard seeking on the slider (it loads the metadata first when needed).
        slider = bob.locator(f"{PLAYERS} >> nth=0 >> .waveform")
        slider.focus()
        bob.keyboard.press("ArrowRight")
        bob.keyboard.press("ArrowRight")
        state = wait_for(bob, lambda s: abs(s[0]["time"] - 4) < 0.05, "two arrows → 4 s")[0]
        assert state["now"] == 4 and state["valuetext"].startswith("0:04 of ")
        bob.keyboard.press("ArrowLeft")
        wait_for(bob, lambda s: abs(s[0]["time"] - 2) < 0.05 and s[0]["now"] == 2, "left → 2 s")
        bob.keyboard.press("End")
        wait_for(bob, lambda s: abs(s[0]["time"] - s[0]["max"]) < 0.2, "End → the end")
        # Pointer seeking: a tap at 3/4, then a drag from 1/4 to 1/2.
        box = slider.bounding_box()
        y = box["y"] + box["height"] / 2
        bob.mouse.click(box["x"] + box["width"] * 0.75, y)
        wait_for(bob, lambda s: abs(s[0]["time"] - 0.75 * s[0]["max"]) < 0.2, "tap at 3/4")
        bob.mouse.move(box["x"] + box["width"] * 0.25, y)
        bob.mouse.down()
        bob.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
        bob.mouse.up()
        state = wait_for(bob, lambda s: abs(s[0]["time"] - 0.5 * s[0]["max"]) < 0.2, "drag")[0]
        assert state["now"] == pytest.approx(total / 2, abs=0.2)
        bob.keyboard.press("Home")
        wait_for(bob, lambda s: s[0]["time"] < 0.05 and s[0]["now"] == 0, "Home → 0")
        # Seeking is not hearing: nothing was marked.
        assert [s["dot"] for s in players(bob)] == [True, True]
        assert [s["dot"] for s in players(alice)] == [True, True]

        # Playing the first: the label and state follow, it plays at 2×, and when it
        # ends the next unheard one plays by itself.
        bob.click(f"{PLAYERS} >> nth=0 >> button.play")
        state = wait_for(bob, lambda s: s[0]["state"] == "playing", "first playing")[0]
        assert state["label"] == "Pause voice message" and state["rate"] == 2
        assert state["src"].endswith(".m4a")
        states = wait_for(bob, lambda s: s[0]["state"] == "ended", "first ended", timeout=20)
        states = wait_for(bob, lambda s: s[1]["state"] in ("playing", "ended"), "auto-advance")
        assert states[1]["rate"] == 2 and states[1]["src"].endswith(".m4a")
        states = wait_for(bob, lambda s: s[1]["state"] == "ended", "second ended", timeout=20)
        wait_for(bob, lambda s: [p["dot"] for p in s] == [False, False], "bob's dots gone")
        bob.wait_for_selector("#conversations .unheard-count", state="detached")

        # The sender's page follows live: dots gone, who heard it shown.
        states = wait_for(
            alice, lambda s: [p["dot"] for p in s] == [False, False], "alice's dots gone"
        )
        assert [s["heardBy"] for s in states] == ["Heard by bob", "Heard by bob"]
        assert [s["speed"] for s in states] == ["1×", "1×"]  # alice's own speed

        # An older message (no waveform, only the raw file, here the mp3 upload) plays too.
        bob.evaluate(
            """async (content) => {
                const { VoicePlayer } = await import("/static/js/voice/player.js");
                const box = document.createElement("div");
                box.id = "old-message";
                document.body.append(box);
                new VoicePlayer(box, JSON.stringify(content));
            }""",
            {"url": sent_mp3["url_raw"], "duration": contents[1]["duration"]},
        )
        assert bob.get_attribute("#old-message .waveform", "data-kind") == "plain"
        bob.click("#old-message button.play")
        bob.wait_for_function(
            "() => document.querySelector('#old-message .voice-player').dataset.state === 'ended'",
            timeout=20000,
        )
        assert bob.evaluate("document.querySelector('#old-message audio').currentSrc").endswith(
            "-raw.mp3"
        )
