"""Edit and recall in real Chromium: they arrive live on the other person's page."""

from playwright.sync_api import expect

from tests.browser.chromium import chromium, register, start_conversation

PASSWORD = "long password"


def test_edit_and_recall_arrive_live(gunicorn_factory):
    base = gunicorn_factory({})
    with chromium() as browser:
        bob = browser.new_context(locale="en-US").new_page()
        register(bob, base, "bob", PASSWORD)
        alice = browser.new_context(locale="zh-CN").new_page()
        register(alice, base, "alice", PASSWORD)
        start_conversation(alice, "bob")
        alice.fill("#send-text [name=content]", "see you at 8")
        alice.click("#send-text button[type=submit]")
        mine = "#messages li.mine"
        alice.wait_for_selector(f"{mine} button.edit")

        bob.wait_for_selector("#conversations button")
        bob.click("#conversations button >> nth=0")
        theirs = "#messages li.theirs"
        bob.wait_for_selector(theirs)
        expect(bob.locator("#live-status")).to_have_attribute("data-mode", "live")
        assert bob.inner_text(f"{theirs} .body") == "see you at 8"
        # Only one's own messages can be changed.
        assert bob.locator(f"{theirs} button").count() == 0

        # Alice edits: Bob's page shows the new words and "edited" without a reload.
        alice.click(f"{mine} button.edit")
        alice.fill(f"{mine} textarea", "see you at 9")
        alice.click(f"{mine} .edit-message button[type=submit]")
        expect(bob.locator(f"{theirs} .body")).to_have_text("see you at 9")
        assert bob.inner_text(f"{theirs} .meta .edited") == "edited"
        alice.wait_for_selector(f"{mine} .meta .edited")
        assert alice.inner_text(f"{mine} .meta .edited") == "已编辑"

        # Alice recalls it: gone for both, in each person's language, live.
        alice.once("dialog", lambda dialog: dialog.accept())
        alice.click(f"{mine} button.recall")
        bob.wait_for_selector(f"{theirs}.recalled")
        assert bob.inner_text(f"{theirs} .body") == "This message was recalled"
        alice.wait_for_selector(f"{mine}.recalled")
        assert alice.inner_text(f"{mine} .body") == "你撤回了一条消息"
        assert alice.locator(f"{mine} button").count() == 0
        assert "see you" not in bob.inner_text("#messages")
