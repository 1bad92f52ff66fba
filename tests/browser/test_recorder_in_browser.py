"""The recorder as people use it, in a real Chromium with a fake microphone: hold, slide and
lock on a touch screen, the keyboard toggle, the length limit that asks, a tap on the open
conversation that changes nothing, the microphone released when the conversation changes
or the page is hidden behind another tab, and the screen kept awake while recording."""

import pytest

from tests.browser.chromium import chromium, chromium_with_tabs, register, start_conversation

# Short, so the limit is reached in a test; the phone takes stay well under it.
LIMIT_SECONDS = 6
RECORDER = "#voice-recorder"

# Keeps every track getUserMedia hands out, so the test can read their state: the page
# itself exposes nothing for tests.
WATCH_MICROPHONE = """
(() => {
  if (!navigator.mediaDevices) return;
  const tracks = [];
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    tracks.push(...stream.getTracks());
    return stream;
  };
  window.microphone = () => ({
    opened: tracks.length,
    live: tracks.filter((track) => track.readyState === "live").length,
  });
})();
"""

# Keeps every screen wake lock the page is granted, the same way.
WATCH_WAKE_LOCK = """
(() => {
  if (!navigator.wakeLock) return;
  const sentinels = [];
  const request = navigator.wakeLock.request.bind(navigator.wakeLock);
  navigator.wakeLock.request = async (type) => {
    const sentinel = await request(type);
    sentinels.push(sentinel);
    return sentinel;
  };
  window.wakeLocks = () => ({
    taken: sentinels.length,
    held: sentinels.filter((sentinel) => !sentinel.released).length,
  });
})();
"""


@pytest.fixture
def base(gunicorn_factory):
    return gunicorn_factory({"VOICE_MAX_SECONDS": str(LIMIT_SECONDS)})


def register_elsewhere(browser, base: str, username: str) -> None:
    context = browser.new_context()
    register(context.new_page(), base, username)
    context.close()


def microphone(page) -> dict:
    return page.evaluate("window.microphone()")


def wake_locks(page) -> dict:
    return page.evaluate("window.wakeLocks()")


def wait_wake_locks_held(page, held: int) -> None:
    page.wait_for_function("(n) => window.wakeLocks().held === n", arg=held, timeout=5000)


def wait_state(page, state: str, mode: str | None = None) -> None:
    selector = f"{RECORDER}[data-state={state}]" + (f"[data-mode={mode}]" if mode else "")
    page.wait_for_selector(selector, timeout=15000)


def wait_recorded(page, seconds: int) -> None:
    """Until the timer shows `seconds` (the recorder's own clock, no sleep here)."""
    page.wait_for_function(
        "(s) => { const t = document.querySelector('#voice-recorder .timer');"
        " return t && Number(t.textContent.split('/')[0].split(':')[1]) >= s; }",
        arg=seconds,
        timeout=15000,
    )


def voice_count(page) -> int:
    return page.locator("#messages li[data-type=audio]").count()


def wait_voice_count(page, count: int) -> None:
    page.wait_for_function(
        "(n) => document.querySelectorAll('#messages li[data-type=audio]').length === n",
        arg=count,
        timeout=30000,
    )


def visible_sends(page) -> list[str]:
    return page.locator("button:visible", has_text="Send").all_inner_texts()


class Finger:
    """One finger on the touch screen, through CDP's Input domain."""

    def __init__(self, page):
        self.page = page
        self.cdp = page.context.new_cdp_session(page)

    def down_on(self, selector: str) -> tuple[float, float]:
        box = self.page.locator(selector).bounding_box()
        self.x, self.y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self.touch("touchStart", self.x, self.y)
        return self.x, self.y

    def move(self, dx: float, dy: float) -> None:
        # In steps, as a thumb slides.
        for step in range(1, 6):
            self.touch("touchMove", self.x + dx * step / 5, self.y + dy * step / 5)

    def up(self) -> None:
        self.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    def lock(self, button: str) -> None:
        """Hold the record button, slide up to lock, lift: recording goes on hands-free."""
        self.down_on(button)
        wait_state(self.page, "recording", "hold")
        self.move(0, -100)
        wait_state(self.page, "recording", "locked")
        self.up()

    def touch(self, kind: str, x: float, y: float) -> None:
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})


def test_hold_slide_and_lock_on_a_phone(base, speech_wav):
    with chromium(microphone_wav=speech_wav) as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
        context.add_init_script(WATCH_MICROPHONE)
        page = context.new_page()
        register_elsewhere(browser, base, "bob")
        register(page, base, "alice")
        start_conversation(page, "bob")
        finger = Finger(page)
        button = f"{RECORDER} button.record"

        # Hold: recording while the finger stays, with a level, a timer and no Send at all.
        finger.down_on(button)
        wait_state(page, "recording", "hold")
        assert page.get_attribute(button, "aria-pressed") == "true"
        assert "Slide left to cancel" in page.inner_text(f"{RECORDER} .voice-status")
        assert microphone(page)["live"] == 1
        page.wait_for_function("() => document.querySelector('#voice-recorder meter').value > 0.2")
        assert visible_sends(page) == []
        wait_recorded(page, 2)
        finger.up()  # release sends
        page.wait_for_selector("#messages li[data-type=audio]", timeout=30000)
        wait_state(page, "idle")
        assert microphone(page) == {**microphone(page), "opened": 1, "live": 0}
        assert page.get_attribute(button, "aria-pressed") == "false"
        assert page.is_visible("#send-text button")  # the text composer is back

        # Slide left: cancelled, the microphone off, nothing sent.
        finger.down_on(button)
        wait_state(page, "recording", "hold")
        wait_recorded(page, 1)
        finger.move(-120, 0)
        wait_state(page, "idle")
        finger.up()
        assert microphone(page)["live"] == 0 and microphone(page)["opened"] == 2
        assert voice_count(page) == 1

        # Slide up: locked, the finger lifts and it keeps recording, with one Send.
        finger.lock(button)
        assert microphone(page)["live"] == 1
        assert visible_sends(page) == ["Send"]
        wait_recorded(page, 1)
        # Stop: a review to listen to (the microphone already off), then Discard.
        page.tap(button)
        wait_state(page, "review")
        assert microphone(page)["live"] == 0
        assert "Listen to your recording" in page.inner_text(f"{RECORDER} .voice-status")
        page.wait_for_function(
            "() => document.querySelector('#voice-recorder audio.review-audio').readyState >= 1"
        )
        page.tap(f"{RECORDER} button.cancel-voice")
        wait_state(page, "idle")
        assert voice_count(page) == 1

        # Locked again, reviewed, then Send: the second voice message.
        finger.lock(button)
        wait_recorded(page, 1)
        page.tap(button)
        wait_state(page, "review")
        assert visible_sends(page) == ["Send"]
        page.tap(f"{RECORDER} button.send-voice")
        wait_voice_count(page, 2)
        wait_state(page, "idle")
        final = microphone(page)
        assert final["opened"] == 4 and final["live"] == 0


def conversation_voices(page, member: str) -> int:
    """Voice messages in the conversation with `member`, from the JSON API."""
    return page.evaluate(
        """async (name) => {
            const { conversations } = await (await fetch("/api/chat/conversations")).json();
            const has = (c) => (c.members || []).some((m) => m.username === name);
            const found = conversations.find(has);
            const url = `/api/chat/messages?conversation_id=${found.id}`;
            const { messages } = await (await fetch(url)).json();
            return messages.filter((m) => m.type === "audio").length;
        }""",
        member,
    )


def test_keyboard_limit_and_the_microphone_released(base, speech_wav):
    # Tabs that hide one another: the page can be hidden the way a browser hides it.
    with chromium_with_tabs(microphone_wav=speech_wav) as browser:
        register_elsewhere(browser, base, "dave")
        register_elsewhere(browser, base, "erin")
        context = browser.contexts[0]
        context.grant_permissions(["screen-wake-lock"], origin=base)
        context.add_init_script(WATCH_MICROPHONE + WATCH_WAKE_LOCK)
        page = context.pages[0]
        page.bring_to_front()
        register(page, base, "frank")
        button = f"{RECORDER} button.record"
        start_conversation(page, "erin")
        first = page.wait_for_selector(button)
        start_conversation(page, "dave")  # open now; erin's is the other one
        page.wait_for_function("(old) => !old.isConnected", arg=first)  # dave's controls

        # Space starts, Space stops into the review; one Send on the page meanwhile.
        page.focus(button)
        page.keyboard.press("Space")
        wait_state(page, "recording", "toggle")
        assert page.get_attribute(button, "aria-pressed") == "true"
        assert visible_sends(page) == ["Send"]
        assert page.get_attribute(f"{RECORDER} .timer", "role") == "timer"
        wait_wake_locks_held(page, 1)  # the screen stays on while recording
        wait_recorded(page, 1)
        page.keyboard.press("Space")
        wait_state(page, "review")
        assert microphone(page)["live"] == 0
        wait_wake_locks_held(page, 0)  # and may sleep again once it stopped
        assert wake_locks(page)["taken"] == 1
        # Enter on the focused Send sends it.
        page.focus(f"{RECORDER} button.send-voice")
        page.keyboard.press("Enter")
        wait_voice_count(page, 1)
        wait_state(page, "idle")

        # Enter starts, Escape cancels: nothing sent, the microphone off.
        page.focus(button)
        page.keyboard.press("Enter")
        wait_state(page, "recording", "toggle")
        wait_wake_locks_held(page, 1)
        page.keyboard.press("Escape")
        wait_state(page, "idle")
        assert microphone(page)["live"] == 0 and voice_count(page) == 1
        wait_wake_locks_held(page, 0)
        assert wake_locks(page)["taken"] == 2

        # At the limit it warns, stops and asks; nothing is sent until Send.
        page.keyboard.press("Enter")
        wait_state(page, "recording", "toggle")
        page.wait_for_selector(f"{RECORDER} .voice-status:has-text('The recording stops in')")
        wait_state(page, "review")
        status = page.inner_text(f"{RECORDER} .voice-status")
        assert f"reached its 0:0{LIMIT_SECONDS} limit" in status
        assert microphone(page)["live"] == 0 and voice_count(page) == 1
        assert conversation_voices(page, "dave") == 1
        page.click(f"{RECORDER} button.send-voice")
        wait_voice_count(page, 2)
        wait_state(page, "idle")

        # A tap on the conversation already open changes nothing: it goes on recording.
        page.focus(button)
        page.keyboard.press("Enter")
        wait_state(page, "recording", "toggle")
        controls = page.query_selector(RECORDER + " .timer")
        page.click("#conversations button.active")
        wait_recorded(page, 1)
        wait_state(page, "recording", "toggle")
        assert controls.evaluate("(timer) => timer.isConnected") and microphone(page)["live"] == 1

        # Opening another conversation while recording: the microphone goes off at once,
        # and the new conversation asks about the take, which goes where it was recorded.
        page.click("#conversations button:not(.active)")
        wait_state(page, "review")
        assert microphone(page)["live"] == 0
        assert "The recording for dave stopped" in page.inner_text(f"{RECORDER} .voice-status")
        page.click(f"{RECORDER} button.send-voice")
        wait_state(page, "idle")
        assert conversation_voices(page, "dave") == 3
        assert conversation_voices(page, "erin") == 0
        assert voice_count(page) == 0  # erin's conversation is open and has none

        # The page hidden while recording: another tab comes to the front, as when a
        # person switches tabs or apps or locks the phone. The microphone goes off at once.
        page.focus(button)
        page.keyboard.press("Enter")
        wait_state(page, "recording", "toggle")
        wait_recorded(page, 1)
        other = context.new_page()
        # A hidden page draws no frames: poll with a timer, not with animation frames.
        page.wait_for_function("() => document.visibilityState === 'hidden'", polling=100)
        assert microphone(page)["live"] == 0
        assert wake_locks(page)["held"] == 0
        # Shown again: the take waits for the question, and Send sends it.
        page.bring_to_front()
        wait_state(page, "review")
        assert "when the page was hidden" in page.inner_text(f"{RECORDER} .voice-status")
        assert visible_sends(page) == ["Send"]
        assert page.is_visible(f"{RECORDER} button.cancel-voice")
        page.wait_for_function(
            "() => document.querySelector('#voice-recorder audio.review-audio').readyState >= 1"
        )
        page.click(f"{RECORDER} button.send-voice")
        wait_voice_count(page, 1)
        wait_state(page, "idle")
        assert conversation_voices(page, "erin") == 1
        assert microphone(page) == {**microphone(page), "opened": 5, "live": 0}
        # One wake lock for each of the five takes, none left held.
        assert wake_locks(page) == {"taken": 5, "held": 0}
        other.close()
