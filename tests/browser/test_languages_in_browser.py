"""A zh-CN and an English person chat in real Chromium, each in their own language."""

from tests.browser.chromium import chromium, register, start_conversation

PASSWORD = "long password"


def register_with_display_name(page, base_url, username, display_name):
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=display_name]", display_name)
    page.click("button[value=register]")
    page.wait_for_url("**/chat")


def test_a_chinese_and_an_english_person_chat(gunicorn_factory):
    base = gunicorn_factory({})
    with chromium() as browser:
        register(browser.new_context().new_page(), base, "carol", PASSWORD)
        xiaoming = browser.new_context(locale="zh-CN").new_page()
        bob = browser.new_context(locale="en-US").new_page()
        register_with_display_name(xiaoming, base, "小明", "明明 🐼")
        register_with_display_name(bob, base, "Bob", "Bob B.")

        # Pages and scripts speak each person's language.
        assert xiaoming.get_attribute("html", "lang") == "zh-CN"
        assert bob.get_attribute("html", "lang") == "en"
        assert xiaoming.inner_text("#new-conversation button[type=submit]") == "发起会话"
        assert bob.inner_text("#new-conversation button[type=submit]") == "Start conversation"

        # Errors from the API arrive in the person's language.
        start = "#new-conversation button[type=submit]"
        xiaoming.fill("#new-conversation input[name=participants]", "ghost")
        xiaoming.click(start)
        xiaoming.wait_for_selector("#new-conversation .error:not([hidden])")
        assert xiaoming.inner_text("#new-conversation .error") == "找不到用户：ghost"

        # Full-width "，" separates names; usernames match whatever the case.
        start_conversation(xiaoming, "BOB，Carol")
        assert xiaoming.inner_text("#conversation-members") == "3 位成员"
        assert xiaoming.inner_text("#voice-recorder button.record") == "🎤 录音"
        xiaoming.wait_for_function(
            "() => document.getElementById('live-status').textContent === '实时'"
        )
        xiaoming.fill("#send-text [name=content]", "你好，Bob！")
        xiaoming.click("#send-text button[type=submit]")

        bob.wait_for_selector("#conversations button", timeout=15000)
        bob.click("#conversations button >> nth=0")
        bob.wait_for_selector("#messages li.theirs")
        assert bob.inner_text("#messages li.theirs .body") == "你好，Bob！"
        assert bob.inner_text("#messages li.theirs .sender") == "明明 🐼"
        assert bob.inner_text("#conversation-members") == "3 participants"
        assert bob.inner_text("#voice-recorder button.record") == "🎤 Record"
        assert bob.inner_text("#conversation-title") == "carol and 明明 🐼"  # Intl.ListFormat

        # Bob switches to Chinese; the choice follows his account to a new browser.
        with bob.expect_navigation():
            bob.select_option("#language-switcher select", "zh-CN")
        assert bob.get_attribute("html", "lang") == "zh-CN"
        laptop = browser.new_context(locale="en-US").new_page()
        laptop.goto(f"{base}/login")
        assert laptop.get_attribute("html", "lang") == "en"
        laptop.fill("input[name=username]", "bob")
        laptop.fill("input[name=password]", PASSWORD)
        laptop.click("button[value=login]")
        laptop.wait_for_url("**/chat")
        assert laptop.get_attribute("html", "lang") == "zh-CN"
        assert laptop.inner_text("#logout") == "退出登录"


def test_find_people_and_reopen_the_same_conversation(gunicorn_factory):
    base = gunicorn_factory({})
    with chromium() as browser:
        register(browser.new_context().new_page(), base, "Bob", PASSWORD)
        page = browser.new_context(locale="en-US").new_page()
        register_with_display_name(page, base, "alice", "Alice")
        field = "#new-conversation input[name=participants]"
        page.type(field, "b")
        page.type(field, "O")  # case does not matter; suggestions start at 2 characters
        page.wait_for_selector("#people-suggestions button.suggestion")
        assert page.inner_text("#people-suggestions button.suggestion") == "Bob @Bob"
        page.click("#people-suggestions button.suggestion")
        assert page.input_value(field) == "Bob, "
        page.click("#new-conversation button[type=submit]")
        page.wait_for_selector("#conversation:not([hidden])")
        first = page.evaluate("document.querySelectorAll('#conversations li').length")
        # The same person again: the existing conversation opens, no duplicate appears.
        start_conversation(page, "bob")
        page.wait_for_function(
            "() => document.querySelector('#new-conversation input').value === ''"
        )
        assert page.evaluate("document.querySelectorAll('#conversations li').length") == first == 1
