"""Headless Debian Chromium driven by Playwright, with a fake microphone playing a WAV."""

import logging
import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
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
def _profile(nss_setup=None):
    """A home of its own (Chromium writes into HOME and TMPDIR) and the environment for it.

    The folder is short-named under /tmp: Chromium's singleton socket path must stay
    under the 108-byte limit of a unix socket name. `nss_setup(home)` may add a CA.
    """
    home = Path(tempfile.mkdtemp(prefix="chr-", dir="/tmp"))
    try:
        (home / "tmp").mkdir()
        if nss_setup is not None:
            nss_setup(home)
        yield home, {**os.environ, "HOME": str(home), "TMPDIR": str(home / "tmp")}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _flags(microphone_wav: Path | None, extra_flags) -> list[str]:
    flags = [*BASE_FLAGS, *extra_flags]
    if microphone_wav is not None:
        flags.append(f"--use-file-for-fake-audio-capture={microphone_wav}")
    return flags


def trusting_ca(root_pem: Path):
    """An nss_setup for chromium(): the profile trusts this CA (a test ACME server's root)."""

    def setup(home):
        nssdb = home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
        subprocess.run(
            [
                "certutil",
                "-d",
                f"sql:{nssdb}",
                "-A",
                "-t",
                "C,,",
                "-n",
                "pebble",
                "-i",
                str(root_pem),
            ],
            check=True,
        )

    return setup


@contextmanager
def chromium(
    microphone_wav: Path | None = None, extra_flags=(), nss_setup=None, executable=CHROMIUM
):
    """A browser launched by Playwright, with its own HOME and TMPDIR.

    `executable` may be a wrapper that runs Debian's Chromium elsewhere (another host's
    network: tests/stack/browser_host.py).

    Playwright turns on focus emulation for every page it drives, and that keeps every
    page "visible" whatever tab is in front: use `chromium_with_tabs` to hide a page.
    """
    flags = _flags(microphone_wav, extra_flags)
    with _profile(nss_setup) as (home, env), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=flags, env=env)
        try:
            yield browser
        finally:
            browser.close()


# How long Chromium may take to open its DevTools port on a busy host.
DEVTOOLS_START_SECONDS = 30


@contextmanager
def chromium_with_tabs(microphone_wav: Path | None = None, extra_flags=()):
    """A headless Chromium whose tabs hide one another as in a browser a person uses.

    Started here, not by Playwright, which then attaches over CDP with `no_defaults`: the
    pages of the browser's own context (`browser.contexts[0]`, one blank tab to begin
    with) get no focus emulation, so a tab opened or brought to the front turns the
    others' `document.visibilityState` to "hidden" and fires `visibilitychange`, as a
    person switching tabs or apps does. Other contexts (`browser.new_context()`) are
    Playwright's usual ones.
    """
    with _profile() as (home, env), sync_playwright() as playwright:
        profile = home / "profile"
        command = [
            CHROMIUM,
            *_flags(microphone_wav, extra_flags),
            "--headless",
            "--mute-audio",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",  # Chromium picks a free port and writes it down
            "about:blank",
        ]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            port = _devtools_port(profile / "DevToolsActivePort", process)
            browser = playwright.chromium.connect_over_cdp(
                f"http://127.0.0.1:{port}", no_defaults=True
            )
            try:
                yield browser
            finally:
                browser.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _devtools_port(port_file: Path, process: subprocess.Popen) -> int:
    """The port Chromium listens on for DevTools, once it has written it down."""
    deadline = time.monotonic() + DEVTOOLS_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with {process.returncode} before DevTools opened")
        # The port, then the browser's path: with both lines there, the port is whole.
        lines = port_file.read_text().splitlines() if port_file.is_file() else []
        if len(lines) >= 2:
            return int(lines[0])
        time.sleep(0.05)
    raise TimeoutError(f"Chromium wrote no DevTools port in {DEVTOOLS_START_SECONDS} s")


def register(page, base_url: str, username: str, password: str = "long password") -> None:
    _through_the_login_form(page, base_url, username, password, "register")


def log_in(page, base_url: str, username: str, password: str = "long password") -> None:
    _through_the_login_form(page, base_url, username, password, "login")


def _through_the_login_form(page, base_url, username, password, action) -> None:
    trail = PageTrail(page)
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click(f"button[value={action}]")
    try:
        wait_for_chat(page)
    except Exception as error:
        raise AssertionError(f"{action} as {username} never reached /chat: {trail}") from error


def wait_for_chat(page) -> None:
    """On /chat with its scripts run: a form submitted earlier would reload the page instead."""
    page.wait_for_url("**/chat")
    page.wait_for_selector("html[data-ready]", state="attached")


class PageTrail:
    """What a page met from now on, for a failure's message: each request with its outcome
    (an answer's status, Chromium's network error, or still pending), console lines, and
    the error the page shows."""

    def __init__(self, page):
        self.page, self.requests, self.console = page, {}, []
        page.on("request", lambda request: self.requests.setdefault(request, "pending"))
        page.on("response", lambda answer: self.requests.update({answer.request: answer.status}))
        page.on("requestfailed", lambda request: self.requests.update({request: request.failure}))
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))

    def failures(self) -> list[str]:
        """The requests that got no answer: Chromium's error (net::ERR_...) for each."""
        return [
            f"{request.method} {request.url} -> {outcome}"
            for request, outcome in self.requests.items()
            if isinstance(outcome, str) and outcome != "pending"
        ]

    def __str__(self) -> str:
        try:
            shown = self.page.evaluate("() => document.querySelector('[role=alert]')?.innerText")
        except Exception as unreadable:
            shown = f"(unreadable: {unreadable})"
        requests = [f"{r.method} {r.url} -> {outcome}" for r, outcome in self.requests.items()]
        return f"at {self.page.url}; shown {shown!r}; requests {requests}; console {self.console}"


def open_chat_with_conversations(page, url: str, timeout_ms: int = 60000) -> None:
    """Opens the chat and waits for its conversation list (a restored or busy host may take
    a while); a failure says what the page met on the way."""
    trail = PageTrail(page)
    page.goto(url)
    try:
        page.wait_for_selector("#conversations button", timeout=timeout_ms)
    except Exception as error:
        raise AssertionError(f"no conversation listed: {trail}") from error


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


FIRST_CONVERSATION_MESSAGES = """async () => {
    const get = async (path) => (await fetch(path)).json();
    const { conversations } = await get("/api/chat/conversations");
    const { messages } = await get(`/api/chat/messages?conversation_id=${conversations[0].id}`);
    return messages;
}"""


def first_conversation_messages(page) -> list[dict]:
    """The latest page of messages of the first listed conversation, through the page's
    session and the JSON API (as stored, in the API's shape)."""
    return page.evaluate(FIRST_CONVERSATION_MESSAGES)


NEWEST_VOICE_HAS_M4A = """async () => {
    const get = async (path) => (await fetch(path)).json();
    const { conversations } = await get("/api/chat/conversations");
    if (!conversations.length) return false;
    const id = conversations[0].id;
    const { messages } = await get(`/api/chat/messages?conversation_id=${id}`);
    const voice = messages.filter((m) => m.type === "audio").at(-1);
    return Boolean(voice && JSON.parse(voice.content).url_m4a);
}"""


# A poll whose fetch failed in the network is tried again, as the chat page's own polling
# does; this many in a row fail the wait.
NETWORK_FAILURES_IN_A_ROW = 3


def wait_until_transcoded(page, timeout: float = 120.0) -> None:
    """Waits, through the page's own session and the JSON API, until the newest voice
    message of the first conversation names an m4a (so a tap then plays the m4a).

    A poll that fails in the network ("Failed to fetch") counts as "not yet" and is
    logged (a warning, with Chromium's error), so a one-off drop does not fail the voice
    test while a lasting one still does.
    """
    trail = PageTrail(page)
    deadline = time.monotonic() + timeout
    failed_in_a_row = 0
    while True:
        # page.evaluate awaits the promise; wait_for_function would take it as truthy.
        try:
            if page.evaluate(NEWEST_VOICE_HAS_M4A):
                return
            failed_in_a_row = 0
        except PlaywrightError as error:
            if "Failed to fetch" not in str(error):
                raise
            failed_in_a_row += 1
            seen = f"a poll failed in the network: {trail.failures()}"
            if failed_in_a_row >= NETWORK_FAILURES_IN_A_ROW:
                raise AssertionError(f"{failed_in_a_row} polls in a row: {seen}") from error
            logging.getLogger(__name__).warning(seen)
        if time.monotonic() > deadline:
            raise AssertionError(f"the voice message has no m4a after {timeout} s")
        time.sleep(0.25)


AXE_SCRIPT = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now: every rule axe runs by default.

    axe comes from the npm package that ansible/bootstrap.sh installs; it is put into the
    page through the DevTools protocol, which the page's Content-Security-Policy allows.
    """
    if not AXE_SCRIPT.is_file():
        raise AssertionError(f"{AXE_SCRIPT} is missing: run ansible/bootstrap.sh test")
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate("() => {" + AXE_SCRIPT.read_text() + "\n}")
    return page.evaluate(
        """async () => (await axe.run(document)).violations.map((v) => ({
            rule: v.id, impact: v.impact,
            nodes: v.nodes.slice(0, 5).map((n) => [n.target.join(" "), n.failureSummary]),
        }))"""
    )


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Bytes per pixel of an 8-bit PNG by colour type: grey, RGB, palette, grey+alpha, RGBA.
PNG_PIXEL_BYTES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def save_screenshot(page, name: str) -> Path:
    """The page as it is on screen, at the context's viewport and device pixel ratio,
    written to docs/screenshots/<name>.png for the README. Playwright's screenshot is
    CDP's Page.captureScreenshot; a bare CDP call would ignore the emulated pixel ratio."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, animations="disabled", caret="hide")
    return path


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG after checking it whole: signature, every chunk's CRC,
    an 8-bit IHDR, and image data that inflates to exactly one filtered row per line."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        position += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND", [k for k, _ in chunks]
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert depth == 8 and colour in PNG_PIXEL_BYTES, (depth, colour)
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(pixels) == height * (1 + width * PNG_PIXEL_BYTES[colour])
    return width, height
