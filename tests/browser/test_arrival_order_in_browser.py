"""A message that arrives after a newer one is shown in its place, not at the bottom.

A stream's resume can bring an older message after a newer one: one app process delivered
it only to its own listeners while Redis was away, a later one came live, and the resume
replays the older (the soak found people seeing a sender's 7 above their 6). Here
Playwright serves the listener's event stream: the messages are the server's own, stored
and fetched through the API, and the stream hands them over newest first.
"""

from playwright.sync_api import expect

from app.services.events import format_sse
from tests.browser.chromium import (
    chromium,
    first_conversation_messages,
    register,
    start_conversation,
)

EVENTS = "**/api/chat/events*"
# How long an expectation waits on a busy machine (Playwright's own default is 5 s).
WAIT_MS = 30_000
# An empty stream that asks the page to reconnect this soon (milliseconds).
RECONNECT_SOON = "retry: 500\n\n"


class ServedStream:
    """Answers every event-stream request of a page: with the queued events once, else
    with an empty stream (the page reconnects and asks again)."""

    def __init__(self, page):
        self.queued, self.served = [], 0
        page.route(EVENTS, self.handle)

    def handle(self, route):
        body = RECONNECT_SOON + "".join(self.queued)
        if self.queued:
            self.queued, self.served = [], self.served + 1
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)

    def send(self, messages: list[dict]) -> None:
        self.queued += [format_sse("message", message) for message in messages]


def send_text(page, text: str) -> None:
    page.fill("#send-text [name=content]", text)
    page.click("#send-text button[type=submit]")
    newest = page.locator("#messages li[data-message-id] .body").last
    expect(newest).to_have_text(text, timeout=WAIT_MS)


def test_an_older_message_arriving_after_a_newer_one_takes_its_place(gunicorn_factory):
    base = gunicorn_factory({})
    with chromium() as browser:
        ada = browser.new_context(locale="en-US").new_page()
        wide = {"width": 1100, "height": 700}
        ben = browser.new_context(locale="en-US", viewport=wide).new_page()
        register(ben, base, "ben")
        register(ada, base, "ada")
        start_conversation(ada, "ben")
        send_text(ada, "first")

        stream = ServedStream(ben)
        ben.reload()  # the wide page opens the conversation by itself, on the served stream
        bodies = ben.locator("#messages li[data-message-id] .body")
        expect(bodies).to_have_text(["first"], timeout=WAIT_MS)
        send_text(ada, "second")
        send_text(ada, "third")
        first, second, third = first_conversation_messages(ada)
        assert [m["content"] for m in (first, second, third)] == ["first", "second", "third"]

        stream.send([third, second])
        expect(bodies).to_have_text(["first", "second", "third"], timeout=WAIT_MS)
        assert stream.served == 1
        # Each once, under one day's separator, as the history shows them after a reload.
        expect(ben.locator("#messages li.day")).to_have_count(1, timeout=WAIT_MS)
        ben.unroute(EVENTS)
        ben.reload()
        expect(bodies).to_have_text(["first", "second", "third"], timeout=WAIT_MS)
