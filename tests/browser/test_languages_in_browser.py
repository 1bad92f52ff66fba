"""A zh-CN and an English person chat in real Chromium, each in their own language; the
README's screenshots are taken on the way (a phone in Chinese, a desktop in English)."""

from tests.browser.chromium import (
    chromium,
    png_size,
    register,
    save_screenshot,
    start_conversation,
    wait_for_chat,
)
from tests.browser.test_voice_player_in_browser import upload
from tests.voice import audio

PASSWORD = "long password"
# The README's two sizes: an everyday phone at DPR 2, a laptop screen at DPR 1.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}  # fmt: skip
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
WAVEFORM = "li[data-type=audio] .voice-player .waveform[data-kind=peaks]"


def register_with_display_name(page, base_url, username, display_name):
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=display_name]", display_name)
    page.click("button[value=register]")
    wait_for_chat(page)


def post(page, path, body) -> dict:
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    response = page.request.post(path, headers={"X-CSRFToken": token}, data=body)
    assert response.ok, response.text()
    return response.json()


def test_a_chinese_and_an_english_person_chat(gunicorn_factory, tmp_path):
    base = gunicorn_factory({})
    with chromium() as browser:
        alice = browser.new_context(base_url=base, locale="en-US").new_page()
        register(alice, base, "Alice", PASSWORD)
        xiaoming = browser.new_context(locale="zh-CN", **PHONE).new_page()
        bob = browser.new_context(base_url=base, locale="en-US", **DESKTOP).new_page()
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
        start_conversation(xiaoming, "BOB，alice")
        assert xiaoming.inner_text("#conversation-members") == "3 位成员"
        assert xiaoming.inner_text("#voice-recorder button.record") == "🎤 录音"
        xiaoming.wait_for_function(
            "() => document.getElementById('live-status').textContent === '实时'"
        )
        xiaoming.fill("#send-text [name=content]", "你好，Bob！")
        xiaoming.click("#send-text button[type=submit]")

        # Alice also writes to Bob on her own, so his list has two conversations.
        talk = post(alice, "/api/chat/conversations", {"participants": ["bob"]})
        lunch = "Are we still on for lunch on Friday?"
        post(alice, "/api/chat/messages", {"conversation_id": talk["id"], "content": lunch})
        bob.wait_for_selector("#conversations li:nth-child(2) button", timeout=15000)
        bob.click("#conversations button >> text=明明 🐼")
        bob.wait_for_selector("#messages li.theirs")
        assert bob.inner_text("#messages li.theirs .body") == "你好，Bob！"
        assert bob.inner_text("#messages li.theirs .sender") == "明明 🐼"
        assert bob.inner_text("#conversation-members") == "3 participants"
        assert bob.inner_text("#voice-recorder button.record") == "🎤 Record"
        assert bob.inner_text("#conversation-title") == "Alice and 明明 🐼"  # Intl.ListFormat

        # Bob answers in words, then in a voice message; both screens show its waveform.
        bob.fill("#send-text [name=content]", "Hi 明明! I'm on the train, there in ten minutes.")
        bob.click("#send-text button[type=submit]")
        bob.wait_for_selector("#messages li.mine .body >> text=on the train")
        group = int(bob.get_attribute("#conversations button.active", "data-conversation-id"))
        spoken = audio.speak(
            "I'm at the station now. Meet me at the north exit.", tmp_path / "v.wav"
        )
        upload(bob, group, audio.encode(spoken, tmp_path / "voice.webm", "webm"), "audio/webm")
        for page in (xiaoming, bob):
            page.wait_for_selector(WAVEFORM, timeout=120000)
        xiaoming.wait_for_selector("#messages li.theirs .body >> text=on the train")
        assert xiaoming.inner_text("#messages li.theirs .sender >> nth=0") == "Bob B."
        # The README's screenshots: what the tests saw, at the sizes they promise.
        for page, name, size in ((xiaoming, "chat-phone-zh-CN", (780, 1688)),
                                 (bob, "chat-desktop-en", (1280, 800))):  # fmt: skip
            page.evaluate("() => document.activeElement?.blur()")
            assert png_size(save_screenshot(page, name).read_bytes()) == size

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
