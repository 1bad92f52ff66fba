"""A send whose answer is lost is sent again with its key and shows once, for both people.

Playwright sits between the page and the server: the first send reaches the server (it
commits) and then its answer is cut, as when a phone's connection drops just then; later,
sends fail in the network altogether while "sending…" shows, and go once it is back.
"""

from playwright.sync_api import expect

from tests.browser.chromium import chromium, register, start_conversation

SEND = "/api/chat/messages"


class AnswerCutter:
    """Routes the page's text sends: `cut` sends are committed, then their answer dropped;
    while `offline`, sends fail before reaching the server."""

    def __init__(self, page, cut: int):
        self.cut, self.offline, self.seen = cut, False, []
        page.route(f"**{SEND}", self.handle)

    def handle(self, route):
        request = route.request
        if request.method != "POST":
            return route.continue_()
        self.seen.append(request.post_data_json)
        if self.offline:
            return route.abort("internetdisconnected")
        if self.cut > 0:
            self.cut -= 1
            route.fetch()  # the server stores it and answers; the page never hears
            return route.abort("connectionreset")
        return route.continue_()


def is_send_answer(response) -> bool:
    return response.request.method == "POST" and response.url.endswith(SEND)


def test_a_lost_answer_is_retried_and_the_message_shows_once(gunicorn_factory):
    base = gunicorn_factory({})
    with chromium() as browser:
        alice = browser.new_context(locale="en-US").new_page()
        bob = browser.new_context(locale="zh-CN").new_page()
        register(bob, base, "bob")
        register(alice, base, "alice")
        start_conversation(alice, "bob")
        cutter = AnswerCutter(alice, cut=1)

        alice.fill("#send-text [name=content]", "only once")
        with alice.expect_response(is_send_answer, timeout=60000) as retried:
            alice.click("#send-text button[type=submit]")
        # The first answer was cut; the retry's is the stored message, repeated: a 200.
        assert retried.value.status == 200, retried.value.text()
        bob.click("#conversations button >> nth=0")
        expect(bob.locator("#messages li[data-message-id] .body")).to_have_text(["only once"])
        expect(alice.locator("#messages li[data-message-id] .body")).to_have_text(["only once"])
        expect(alice.locator("#messages li.waiting")).to_have_count(0)
        # It was sent twice with one key, and is stored once.
        assert len(cutter.seen) == 2, cutter.seen
        assert len({sent["client_id"] for sent in cutter.seen}) == 1

        cutter.offline = True
        alice.fill("#send-text [name=content]", "through the tunnel")
        alice.click("#send-text button[type=submit]")
        waiting = alice.locator("#messages li.waiting")
        expect(waiting.locator(".sending")).to_have_text("Sending…")
        expect(waiting.locator(".body")).to_have_text("through the tunnel")
        expect(alice.locator("#send-text [name=content]")).to_have_value("")
        cutter.offline = False
        expected = ["only once", "through the tunnel"]
        expect(alice.locator("#messages li[data-message-id] .body")).to_have_text(
            expected, timeout=60000
        )
        expect(waiting).to_have_count(0)
        expect(bob.locator("#messages li[data-message-id] .body")).to_have_text(expected)
        bob.reload()
        bob.click("#conversations button >> nth=0")
        expect(bob.locator("#messages li[data-message-id] .body")).to_have_text(expected)


def test_sending_shows_in_chinese_while_offline(gunicorn_factory):
    base = gunicorn_factory({})
    with chromium() as browser:
        register(browser.new_context(locale="en-US").new_page(), base, "alice")
        bob = browser.new_context(locale="zh-CN").new_page()
        register(bob, base, "bob")
        start_conversation(bob, "alice")
        cutter = AnswerCutter(bob, cut=0)
        cutter.offline = True
        bob.fill("#send-text [name=content]", "你好")
        bob.click("#send-text button[type=submit]")
        expect(bob.locator("#messages li.waiting .sending")).to_have_text("正在发送…")
        cutter.offline = False
        expect(bob.locator("#messages li[data-message-id] .body")).to_have_text(
            ["你好"], timeout=60000
        )
