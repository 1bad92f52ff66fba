"""Languages: complete catalogs, no hard-coded text, the person's language everywhere."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.i18n import LOCALES, plural_categories
from tests.app import text_scanner

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def extracted_messages() -> dict:
    """Every marked message in the sources now, extracted as `make messages` does."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "Nn_": (1, 2)}
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        found.setdefault(message, f"{filename}:{lineno}")
    return found


def catalog(babel_id: str):
    with open(ROOT / "app/translations" / babel_id / "LC_MESSAGES/messages.po", "rb") as po:
        return read_po(po)


@pytest.mark.parametrize("tag", [tag for tag in LOCALES if tag != "en"])
def test_every_message_has_a_translation(tag):
    translations = catalog(LOCALES[tag])
    problems = []
    for message, where in extracted_messages().items():
        key = message[0] if isinstance(message, tuple) else message
        entry = translations.get(key)
        if entry is None:
            problems.append(f"{where}: {message!r} is not in the catalog (run make messages)")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            problems.append(f"{where}: {message!r} has no {tag} translation")
            continue
        wanted = set(PLACEHOLDER.findall(key))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"{where}: {text!r} does not keep the placeholders {wanted}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("tag", [tag for tag in LOCALES if tag != "en"])
def test_scripts_get_as_many_plural_forms_as_the_catalog(tag):
    assert len(plural_categories(LOCALES[tag])) == catalog(LOCALES[tag]).num_plurals


def test_the_text_scanner_finds_hard_coded_text():
    script = 'a.textContent = "Hello there"; b(_("Fine text")); c("Send"); d(`Not ${x} sent.`)'
    assert text_scanner.script_text(script + '; e("小明"); f("audio/mp4"); g("send-voice")') == [
        "Hello there", "Send", "Not  sent.", "小明",
    ]  # fmt: skip
    page = '<p>Hi {{ x }}</p><input placeholder="Name"><b>{{ _("ok") }}</b><i title="‹"></i>'
    assert text_scanner.page_text(page) == ["Hi", "<input placeholder='Name'>"]


def test_pages_and_scripts_carry_no_hard_coded_text():
    found = {}
    for path in sorted((ROOT / "app/templates").rglob("*.html")):
        found[path] = text_scanner.page_text(path.read_text())
    for path in sorted((ROOT / "app/static/js").rglob("*.js")):
        found[path] = text_scanner.script_text(path.read_text())
    hard_coded = {str(path.relative_to(ROOT)): texts for path, texts in found.items() if texts}
    assert not hard_coded, f"text for people outside the catalogs: {hard_coded}"
    assert len(found) >= 10  # the scanner saw the pages and the scripts


def page_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_accept_language_picks_chinese_pages_and_errors(client, api_for):
    page = client.get("/login", headers=ZH)
    text = page.get_data(as_text=True)
    assert page_lang(page) == "zh-CN"
    assert "<title>登录 · Natter</title>" in text and "注册账号" in text
    assert '"locale": "zh-CN"' in text and "\\u6b63\\u5728\\u5f55\\u97f3" in text  # 正在录音
    missing = client.get("/no-such-page", headers=ZH)
    assert missing.status_code == 404 and "未找到" in missing.get_data(as_text=True)
    api = api_for()
    bad = api.post("/api/auth/register", {"username": "a b", "password": "x" * 12}, headers=ZH)
    assert bad.status_code == 400
    assert bad.get_json()["code"] == "username_invalid" and "用户名" in bad.get_json()["error"]
    wrong = api.post("/api/auth/login", {"username": "nobody", "password": "x" * 12}, headers=ZH)
    assert wrong.get_json() == {"error": "用户名或密码错误", "code": "wrong_credentials"}


@pytest.mark.parametrize(
    ("accept", "lang"),
    [("", "en"), ("en-GB,en;q=0.9", "en"), ("zh", "zh-CN"), ("fr, zh-TW;q=0.8", "zh-CN"),
     ("zh-CN;q=0.4, en;q=0.9", "en"), ("de", "en")],
)  # fmt: skip
def test_accept_language_choices(client, accept, lang):
    assert page_lang(client.get("/login", headers={"Accept-Language": accept})) == lang


def test_plural_errors_follow_each_language(api_for):
    alice = api_for("alice")
    names = {"participants": ["ghost", "spectre"]}
    english = alice.post("/api/chat/conversations", names).get_json()
    assert english == {"error": "unknown users: ghost, spectre", "code": "unknown_users"}
    one = alice.post("/api/chat/conversations", {"participants": ["ghost"]}).get_json()
    assert one["error"] == "unknown user: ghost"
    chinese = alice.post("/api/chat/conversations", names, headers=ZH).get_json()
    assert chinese["error"] == "找不到用户：ghost, spectre"


def test_language_switch_is_remembered_on_the_account(app, api_for):
    alice = api_for("alice")
    switched = alice.client.put(
        "/api/locale", json={"locale": "zh-cn"}, headers={"X-CSRFToken": alice.csrf()}
    )
    assert switched.status_code == 200 and switched.get_json() == {"locale": "zh-CN"}
    assert alice.get("/api/me").get_json()["locale"] == "zh-CN"
    # Another browser, English Accept-Language, no cookie: the account's choice wins.
    phone = api_for()
    assert phone.login("alice").status_code == 200
    chat = phone.client.get("/chat", headers={"Accept-Language": "en"})
    assert page_lang(chat) == "zh-CN" and "退出登录" in chat.get_data(as_text=True)
    error = phone.client.get("/api/chat/messages?conversation_id=x")
    assert error.get_json() == {"error": "conversation_id 须为整数", "code": "invalid_input"}
    back = phone.client.put(
        "/api/locale", json={"locale": None}, headers={"X-CSRFToken": phone.csrf()}
    )
    assert back.get_json() == {"locale": None}
    assert page_lang(phone.client.get("/chat", headers={"Accept-Language": "en"})) == "en"


def test_switch_before_login_is_kept_in_a_cookie(api_for):
    visitor = api_for()
    response = visitor.client.put(
        "/api/locale", json={"locale": "zh-CN"}, headers={"X-CSRFToken": visitor.csrf()}
    )
    assert "natter_locale=zh-CN" in response.headers["Set-Cookie"]
    assert page_lang(visitor.client.get("/login", headers={"Accept-Language": "en"})) == "zh-CN"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({"locale": "fr"}, 400, "locale_invalid"), ({"locale": 5}, 400, "locale_invalid"),
     ({}, 400, "locale_invalid"), ({"locale": ["en"]}, 400, "locale_invalid"),
     ("zh-CN", 400, "invalid_input")],
)  # fmt: skip
def test_bad_locale_changes_nothing(api_for, body, status, code):
    alice = api_for("alice")
    response = alice.client.put("/api/locale", json=body, headers={"X-CSRFToken": alice.csrf()})
    assert response.status_code == status and response.get_json()["code"] == code
    assert "Set-Cookie" not in response.headers or "natter_locale" not in response.headers.get(
        "Set-Cookie", ""
    )
    assert alice.get("/api/me").get_json()["locale"] is None


def test_locale_needs_json_and_csrf(api_for):
    alice = api_for("alice")
    headers = {"X-CSRFToken": alice.csrf()}
    plain = alice.client.put(
        "/api/locale", data="zh-CN", content_type="text/plain", headers=headers
    )
    assert plain.status_code == 415 and plain.get_json()["code"] == "unsupported_media_type"
    forged = alice.client.put("/api/locale", json={"locale": "zh-CN"})
    assert forged.status_code == 400 and forged.get_json()["code"] == "csrf_failed"
    assert alice.get("/api/me").get_json()["locale"] is None


def test_error_pages_in_the_persons_language(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    client = app.test_client()
    crashed = client.get("/boom", headers=ZH)
    assert crashed.status_code == 500 and page_lang(crashed) == "zh-CN"
    assert "服务器内部错误" in crashed.get_data(as_text=True)
    english = client.get("/boom")
    assert english.status_code == 500 and "internal error" in english.get_data(as_text=True)
    missing = client.get("/nowhere", headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and "<h1>404</h1>" in missing.get_data(as_text=True)
