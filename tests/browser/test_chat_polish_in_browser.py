"""The chat's states, edit and recall, and accessibility, in real Chromium.

One scenario: Alice on a desktop in English, Bob on a phone in Chinese. Empty states,
no composer until a conversation is open, edit and recall arriving live, offline and
server errors in Bob's language, dark mode, tap targets, an installable app, and
axe-core finding nothing on /login and /chat (list and open conversation, both sizes).
"""

import re

from playwright.sync_api import expect

from tests.browser.chromium import axe_violations, chromium, register, start_conversation

PASSWORD = "long password"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
# Every element a finger can aim at, if shown, must be at least 44 × 44 CSS pixels.
SMALL_TARGETS = """() => [...document.querySelectorAll("a, button, input, select, textarea")]
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden")
    .map((el) => [el.outerHTML.slice(0, 80), el.getBoundingClientRect()])
    .filter(([, box]) => box.width < 44 || box.height < 44)
    .map(([html, box]) => `${html}: ${Math.round(box.width)}×${Math.round(box.height)}`)"""


def assert_accessible(page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{where}: {violations}"
    small = page.evaluate(SMALL_TARGETS)
    assert small == [], f"{where}: {small}"


def test_states_edit_recall_and_accessibility(gunicorn_factory):
    base = gunicorn_factory({})
    with chromium() as browser:
        alice = browser.new_context(locale="en-US", **DESKTOP).new_page()
        bob_context = browser.new_context(locale="zh-CN", **PHONE)
        bob = bob_context.new_page()

        bob.goto(f"{base}/login")
        assert_accessible(bob, "/login, phone")
        alice.goto(f"{base}/login")
        assert_accessible(alice, "/login, desktop")
        # Static files by content hash; an SVG icon and a manifest Chromium can install.
        assert re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]{12}",
                            alice.get_attribute("link[rel=stylesheet]", "href"))  # fmt: skip
        cdp = alice.context.new_cdp_session(alice)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        # Test contexts are incognito, where Chromium installs nothing: the page is fine.
        assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [] and manifest["url"].endswith("/static/manifest.webmanifest")

        register(bob, base, "bob", PASSWORD)
        register(alice, base, "alice", PASSWORD)
        # Nothing yet: a hint in the list, an empty pane on the desktop, no composer.
        expect(alice.locator("#no-conversations")).to_be_visible()
        expect(alice.locator("#no-conversation h2")).to_have_text("No conversation open")
        expect(alice.locator("#send-text")).to_be_hidden()
        # How new messages arrive shows in the list while no conversation header does.
        expect(alice.locator("#list-live-status")).to_be_visible()
        expect(alice.locator("#list-live-status")).to_have_text("live")
        assert_accessible(alice, "/chat, empty, desktop")
        expect(bob.locator("#no-conversations")).to_contain_text("还没有会话")
        expect(bob.locator("#no-conversation")).to_be_hidden()
        expect(bob.locator("#send-text")).to_be_hidden()
        expect(bob.locator("#list-live-status")).to_be_visible()
        expect(bob.locator("#list-live-status")).to_have_text("实时")
        assert_accessible(bob, "/chat, empty, phone")

        start_conversation(alice, "bob")
        expect(alice.locator("#no-conversation")).to_be_hidden()
        expect(alice.locator("#live-status")).to_have_text("live")
        expect(alice.locator("#list-live-status")).to_be_hidden()  # one indicator on screen
        alice.fill("#send-text [name=content]", "see you at 8")
        alice.click("#send-text button[type=submit]")
        mine, theirs = "#messages li.mine", "#messages li.theirs"
        alice.wait_for_selector(f"{mine} button.edit")
        assert_accessible(alice, "/chat, open conversation, desktop")

        # On a phone, logging in (or coming back) shows the list, not the newest chat.
        bob.locator("#conversations button").wait_for()
        bob.reload()
        bob.locator("#conversations button").wait_for()
        expect(bob.locator("#conversation")).to_be_hidden()
        expect(bob.locator("#list-live-status")).to_have_text("实时")
        expect(bob.locator("#list-live-status")).to_be_visible()
        bob.click("#conversations button >> nth=0")
        expect(bob.locator("#list-live-status")).to_be_hidden()
        expect(bob.locator(f"{theirs} .body")).to_have_text("see you at 8")
        expect(bob.locator("#live-status")).to_have_text("实时")
        assert bob.locator(f"{theirs} button").count() == 0  # only one's own can change
        assert_accessible(bob, "/chat, open conversation, phone")

        # Alice edits: Bob sees the new words and "edited" without a reload.
        alice.click(f"{mine} button.edit")
        alice.fill(f"{mine} textarea", "see you at 9")
        alice.click(f"{mine} .edit-message button[type=submit]")
        expect(bob.locator(f"{theirs} .body")).to_have_text("see you at 9")
        expect(bob.locator(f"{theirs} .meta .edited")).to_have_text("已编辑")
        expect(alice.locator(f"{mine} .meta .edited")).to_have_text("edited")

        # Alice recalls it: gone for both, each in their language, live.
        alice.once("dialog", lambda dialog: dialog.accept())
        alice.click(f"{mine} button.recall")
        expect(bob.locator(f"{theirs}.recalled .body")).to_have_text("对方撤回了一条消息")
        expect(alice.locator(f"{mine}.recalled .body")).to_have_text("You recalled a message")
        assert alice.locator(f"{mine} button").count() == 0
        assert "see you" not in bob.inner_text("#messages")
        assert_accessible(bob, "/chat, recalled message, phone")

        # Offline and back: the indicator follows the real state, in Bob's language.
        bob_context.set_offline(True)
        expect(bob.locator("#live-status")).to_have_text("离线")
        expect(bob.locator("#connection-banner")).to_contain_text("你已离线")
        bob.click("#back")  # the phone's list says so too
        expect(bob.locator("#list-live-status")).to_be_visible()
        expect(bob.locator("#list-live-status")).to_have_text("离线")
        banner = bob.locator("#connection-banner").bounding_box()
        for covered in ("#list-live-status", "#my-name", "#conversations"):
            box = bob.locator(covered).bounding_box()
            assert banner["y"] + banner["height"] <= box["y"], f"the banner covers {covered}"
        bob_context.set_offline(False)
        expect(bob.locator("#connection-banner")).to_be_hidden()
        expect(bob.locator("#list-live-status")).to_have_text("实时")
        expect(bob.locator("#live-status")).to_have_text("实时")

        # With no event stream (refused), Bob's page polls, and an edit made meanwhile
        # still reaches it: the poll replays the changes since the page's last one.
        alice.fill("#send-text [name=content]", "dinner at 7")
        alice.click("#send-text button[type=submit]")
        expect(bob.locator(f"{theirs}:not(.recalled) .body")).to_have_text("dinner at 7")
        bob.route("**/api/chat/events*", lambda route: route.fulfill(status=503))
        bob.reload()
        bob.click("#conversations button >> nth=0")
        expect(bob.locator("#live-status")).to_have_text("轮询中")
        alice.click(f"{mine}:not(.recalled) button.edit")
        alice.fill(f"{mine} textarea", "dinner at 8")
        alice.click(f"{mine} .edit-message button[type=submit]")
        expect(bob.locator(f"{theirs}:not(.recalled) .body")).to_have_text("dinner at 8")
        expect(bob.locator(f"{theirs}:not(.recalled) .meta .edited")).to_have_text("已编辑")
        bob.unroute("**/api/chat/events*")

        # A proxy's error page (no JSON) still reads as a sentence in Bob's language.
        bob.route("**/api/chat/conversations", lambda route: route.fulfill(
            status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>"))  # fmt: skip
        bob.reload()
        expect(bob.locator("#connection-banner")).to_have_text("服务器暂时没有响应，请稍后再试。")
        bob.unroute("**/api/chat/conversations")

        # Dark mode follows the system, and stays readable.
        alice.emulate_media(color_scheme="dark")
        assert alice.evaluate("getComputedStyle(document.body).backgroundColor") == (
            "rgb(17, 24, 39)"
        )
        assert_accessible(alice, "/chat, dark, desktop")
