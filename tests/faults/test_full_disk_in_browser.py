"""A real browser on a server whose voice disk is full: the page keeps the recording.

The upload is refused with a 507 (the free-space reserve); the page says why, keeps the
recording and offers a retry, which succeeds once there is room again.
"""

from tests.browser.chromium import chromium, record_and_send, register, start_conversation
from tests.faults.conftest import fill

KIB = 1024
RECORD_SECONDS = 2
WAIT_MS = 30000


def test_the_page_keeps_a_refused_recording_and_sends_it_on_retry(
    gunicorn_factory, small_disk, speech_wav
):
    uploads = small_disk(2048)
    filler = fill(uploads, 256 * KIB)
    base = gunicorn_factory({"UPLOAD_DIR": str(uploads), "UPLOAD_MIN_FREE_BYTES": str(1024 * KIB)})
    with chromium(microphone_wav=speech_wav) as browser:
        page = browser.new_page()
        register(page, base, "alice")
        start_conversation(page, "alice")
        record_and_send(page, RECORD_SECONDS)

        page.wait_for_selector("#voice-recorder button.retry-voice", timeout=WAIT_MS)
        status = page.inner_text("#voice-recorder .voice-status")
        assert "no room" in status and "Your recording is kept" in status
        assert page.query_selector("li[data-type=audio]") is None
        assert list((uploads / "chat").iterdir()) == []

        filler.unlink()  # room again
        page.click("#voice-recorder button.retry-voice")
        page.wait_for_selector("li[data-type=audio]", timeout=WAIT_MS)
        page.wait_for_selector("#voice-recorder button.record", timeout=WAIT_MS)
    assert any("-raw." in path.name for path in (uploads / "chat").iterdir())
