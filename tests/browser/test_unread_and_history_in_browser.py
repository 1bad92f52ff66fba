"""Unread counts and the tab title follow one person across two browsers live; the
history pages back through 200 messages; links, new lines and dates show right."""

import re

from app import create_app
from app.extensions import db
from app.models import Conversation, User
from app.services.chat import messages
from tests.app.test_live_and_limits import HttpUser
from tests.browser.chromium import chromium, wait_for_chat
from tests.conftest import make_settings

PASSWORD = "long password"
SEEDED = 200


# Records, before the page's scripts run, what the page does with sound and notifications:
# every AudioContext made, every oscillator started (the arrival beep), every
# Notification shown, and whether a user gesture was active when permission was asked.
WATCH_ALERTS = """(() => {
    const seen = { contexts: [], beeps: [], shown: [], asked: [], instances: [] };
    window.alertsSeen = seen;
    const Context = window.AudioContext;
    window.AudioContext = class extends Context {
        constructor(...args) { super(...args); seen.contexts.push(this); }
    };
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
        seen.beeps.push({ hz: this.frequency.value, context: this.context.state });
        return start.apply(this, args);
    };
    const Shown = window.Notification;
    window.Notification = class extends Shown {
        constructor(title, options = {}) {
            super(title, options);
            seen.shown.push({ title, body: options.body });
            seen.instances.push(this);
        }
        static requestPermission(...args) {
            seen.asked.push({ gesture: navigator.userActivation.isActive });
            return Shown.requestPermission(...args);
        }
    };
})();"""


def alerts_seen(page):
    return page.evaluate(
        "() => ({ beeps: alertsSeen.beeps, shown: alertsSeen.shown, asked: alertsSeen.asked })"
    )


def log_in(browser, base, username, locale, init_script=None):
    context = browser.new_context(locale=locale, viewport={"width": 1100, "height": 700})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=login]")
    wait_for_chat(page)
    page.wait_for_function("() => document.getElementById('live-status').dataset.mode === 'live'")
    return page


def seed(folder, conversation_id, sender, count):
    """Messages written through the service layer into the served app's database (the
    page must find them there; the API would spend a request on each)."""
    app = create_app(make_settings(folder, database_url=f"sqlite:///{folder / 'shared.sqlite3'}"))
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(username=sender)).scalar_one()
        conversation = db.session.get(Conversation, conversation_id)
        for n in range(count):
            messages.post_text(conversation, user, f"message {n}")
        db.session.remove()
        db.engine.dispose()


def row(conversation_id):
    return f"#conversations button[data-conversation-id='{conversation_id}']"


def badge_of(page, conversation_id):
    """The row's unread count as shown, '' when there is none."""
    return page.evaluate(
        "(selector) => { const b = document.querySelector(selector + ' .badge');"
        " return b.hidden ? '' : b.textContent; }",
        row(conversation_id),
    )


def wait_for_badge(page, conversation_id, shown):
    page.wait_for_function(
        "([selector, shown]) => { const b = document.querySelector(selector + ' .badge');"
        " return b && (b.hidden ? '' : b.textContent) === shown; }",
        arg=[row(conversation_id), shown],
    )


HISTORY = """() => [...document.querySelectorAll('#messages li[data-message-id]')]
    .map((li) => Number(li.dataset.messageId))"""

TOP_OFFSET = """(id) => {
    const list = document.getElementById('messages');
    const item = list.querySelector(`li[data-message-id="${id}"]`);
    return item.getBoundingClientRect().top - list.getBoundingClientRect().top;
}"""


SCROLL_TO_TOP = f"""(id) => {{
    document.getElementById('messages').scrollTop = 0;
    return ({TOP_OFFSET})(id);
}}"""


def test_unread_counts_follow_one_person_live_and_history_pages_back(gunicorn_factory, tmp_path):
    base = gunicorn_factory({})
    alice = HttpUser(base, "alice")
    HttpUser(base, "bob")
    first = alice.post("/api/chat/conversations", participants=["bob"]).json()["id"]
    seed(tmp_path, first, "alice", SEEDED)
    plans = alice.post("/api/chat/conversations", participants=["bob"], title="Plans").json()["id"]

    with chromium() as browser:
        # Bob on two devices, one in Chinese; each opens the newest conversation (Plans).
        home = log_in(browser, base, "bob", "zh-CN", init_script=WATCH_ALERTS)
        work = log_in(browser, base, "bob", "en-US")
        for page in (home, work):
            # The list renders after the stream is live, not before: wait for its count.
            wait_for_badge(page, first, str(SEEDED))
            assert page.title().startswith(f"({SEEDED}) ")
            assert page.inner_text(f"{row(first)} .preview") == "message 199"
            assert badge_of(page, plans) == ""
        # Relative times in each language ("now" unless this machine is very slow).
        assert re.fullmatch(r"now|\d+ min\. ago", work.inner_text(f"{row(first)} .when"))
        assert re.fullmatch(r"现在|\d+分钟前", home.inner_text(f"{row(first)} .when"))

        # Notifications are offered, not asked for at load (browsers want a gesture first).
        assert home.inner_text(".notifications-offer") == "开启通知"
        assert home.evaluate("() => Notification.permission") == "default"
        assert alerts_seen(home) == {"beeps": [], "shown": [], "asked": []}
        # Bob would say yes at the prompt (Browser.grantPermissions), then taps the offer:
        # asked once, during that tap; the tap also lets the page make sounds.
        home.context.grant_permissions(["notifications"], origin=base)
        home.click(".notifications-offer")
        home.wait_for_selector(".notifications-offer", state="detached")
        assert alerts_seen(home)["asked"] == [{"gesture": True}]
        home.wait_for_function("() => alertsSeen.contexts.at(-1)?.state === 'running'")

        # A new message: counted live on both devices, its conversation moves to the top.
        text = "see https://example.com/a?b=1, and <b>not bold</b>\nsecond line"
        alice.post("/api/chat/messages", conversation_id=first, content=text)
        for page in (home, work):
            wait_for_badge(page, first, str(SEEDED + 1))
            assert page.title().startswith(f"({SEEDED + 1}) ")
            assert page.get_attribute(
                "#conversations li:first-child button", "data-conversation-id"
            ) == str(first)
            assert (
                page.inner_text(f"{row(first)} .preview")
                == "see https://example.com/a?b=1, and <b>not bold</b> second line"
            )

        # A message where Bob is not looking: a short beep and a notification naming
        # the sender, with the same preview as the list.
        home.wait_for_function("() => alertsSeen.shown.length > 0")
        seen = alerts_seen(home)
        assert seen["shown"] == [
            {"title": "alice", "body": home.inner_text(f"{row(first)} .preview")}
        ]
        assert seen["beeps"] == [{"hz": 880, "context": "running"}]

        # In the conversation on screen nothing counts as unread, and nothing beeps.
        alice.post("/api/chat/messages", conversation_id=plans, content="plans?")
        for page in (home, work):
            page.wait_for_selector("#messages li.theirs[data-message-id]")
            assert badge_of(page, plans) == ""
        assert alerts_seen(home) == seen
        assert home.inner_text("#messages li.day") == "今天"

        # Reading on one device clears the count and the title on both.
        work.click(row(first))
        work.wait_for_function(
            "() => document.querySelectorAll('#messages li[data-message-id]').length >= 50"
        )
        for page in (work, home):
            wait_for_badge(page, first, "")
            page.wait_for_function("() => !document.title.startsWith('(')")
        assert work.inner_text("#messages li.day") == "Today"

        # Links are links (http/https only, in a new tab, no referrer); text stays text.
        newest = "#messages li[data-message-id]:last-child .body"
        assert work.inner_text(newest) == text
        link = work.query_selector(f"{newest} a")
        assert link.get_attribute("href") == "https://example.com/a?b=1"
        assert link.get_attribute("target") == "_blank"
        assert link.get_attribute("rel") == "noopener noreferrer"
        assert work.query_selector(f"{newest} b") is None

        # Scrolling up pages back to the first message, keeping what was on screen in place.
        for _ in range(SEEDED // 50 + 2):
            shown = work.evaluate(HISTORY)
            if len(shown) == SEEDED + 1:
                break
            # Scrolled to the top and measured in one task: the page cannot arrive between.
            before = work.evaluate(SCROLL_TO_TOP, shown[0])
            work.wait_for_function(f"() => ({HISTORY})().length > {len(shown)}")
            # The message that was at the top stays where it was on screen.
            assert abs(work.evaluate(TOP_OFFSET, shown[0]) - before) <= 1
        shown = work.evaluate(HISTORY)
        assert len(shown) == len(set(shown)) == SEEDED + 1
        assert shown == sorted(shown)
        assert work.inner_text("#messages li[data-message-id] .body >> nth=0") == "message 0"
        assert work.locator("#messages li.day").count() == 1

        # Scrolled up: a button jumps to the latest.
        assert work.is_visible(".jump-latest")
        work.click(".jump-latest")
        work.wait_for_selector(".jump-latest", state="hidden")
        assert work.evaluate(
            "(() => { const l = document.getElementById('messages');"
            " return l.scrollHeight - l.scrollTop - l.clientHeight < 2; })()"
        )

        # Shift+Enter starts a new line, Enter sends.
        field = "#send-text [name=content]"
        work.click(field)
        work.keyboard.type("line one")
        work.keyboard.press("Shift+Enter")
        work.keyboard.type("line two")
        work.keyboard.press("Enter")
        work.wait_for_selector("#messages li.mine")
        assert work.inner_text("#messages li.mine .body") == "line one\nline two"
        assert work.input_value(field) == ""

        # Someone starts a group with Bob: its first message is announced too, with who
        # wrote it; tapping the notification opens that conversation.
        lunch = alice.post("/api/chat/conversations", participants=["bob"], title="Lunch")
        alice.post("/api/chat/messages", conversation_id=lunch.json()["id"], content="12:30?")
        home.wait_for_function(f"() => alertsSeen.shown.length > {len(seen['shown'])}")
        shown = alerts_seen(home)
        assert shown["shown"][-1] == {"title": "Lunch", "body": "alice：12:30?"}
        assert len(shown["beeps"]) == len(seen["beeps"]) + 1
        home.evaluate("() => alertsSeen.instances.at(-1).dispatchEvent(new Event('click'))")
        home.wait_for_selector("#messages li.theirs .body >> text=12:30?")
        assert home.inner_text("#conversation-title") == "Lunch"
