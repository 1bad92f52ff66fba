"""Headless Debian Chromium driven by Playwright, with a fake microphone playing a WAV."""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
BASE_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@contextmanager
def chromium(microphone_wav: Path | None = None, extra_flags=(), nss_setup=None):
    """A browser with its own HOME and TMPDIR (Chromium writes into both).

    The folder is short-named under /tmp: Chromium's singleton socket path must stay
    under the 108-byte limit of a unix socket name. `nss_setup(home)` may add a CA.
    """
    home = Path(tempfile.mkdtemp(prefix="chr-", dir="/tmp"))
    (home / "tmp").mkdir()
    if nss_setup is not None:
        nss_setup(home)
    flags = [*BASE_FLAGS, *extra_flags]
    if microphone_wav is not None:
        flags.append(f"--use-file-for-fake-audio-capture={microphone_wav}")
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(home / "tmp")}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags, env=env)
        try:
            yield browser
        finally:
            browser.close()
            shutil.rmtree(home, ignore_errors=True)


def register(page, base_url: str, username: str, password: str = "long password") -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[value=register]")
    page.wait_for_url("**/chat")


def start_conversation(page, *participants: str) -> None:
    page.fill("#new-conversation input[name=participants]", ", ".join(participants))
    page.click("#new-conversation button[type=submit]")
    page.wait_for_selector("#conversation:not([hidden])")


def record_and_send(page, seconds: float) -> None:
    page.click("#voice-recorder button.record")
    page.wait_for_selector("#voice-recorder button.send-voice")
    page.wait_for_timeout(int(seconds * 1000))
    page.click("#voice-recorder button.send-voice")


def play_voice_message_to_end(page, timeout_ms: int = 30000) -> str:
    """Taps play on the newest voice message; returns the URL the element played."""
    page.wait_for_selector("li[data-type=audio] .voice-player button.play", timeout=timeout_ms)
    page.click("li[data-type=audio] .voice-player button.play >> nth=-1")
    try:
        page.wait_for_function(
            "() => { const a = [...document.querySelectorAll('.voice-player audio')].at(-1);"
            " return a && a.ended; }",
            timeout=timeout_ms,
        )
    except Exception as error:
        state = page.evaluate(
            "() => { const a = [...document.querySelectorAll('.voice-player audio')].at(-1);"
            " return {src: a.currentSrc, paused: a.paused, time: a.currentTime,"
            " duration: a.duration, ready: a.readyState, network: a.networkState,"
            " error: a.error && a.error.message,"
            " shown: a.parentElement.innerText}; }"
        )
        raise AssertionError(f"the voice message did not play to its end: {state}") from error
    return page.evaluate(
        "() => [...document.querySelectorAll('.voice-player audio')].at(-1).currentSrc"
    )
