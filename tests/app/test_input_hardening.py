"""Bad input gets a clear 400 JSON error, never a 500; redirects stay on the site."""

import re
from urllib.parse import quote

import pytest

LONE_SURROGATE = '"a\\ud800b"'


@pytest.fixture
def alice_and_bob(api_for):
    api_for("bob")
    alice = api_for("alice")
    return alice, alice.conversation_with("bob")


def raw_post(api, path, body: str):
    return api.post(path, data=body, content_type="application/json")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/chat/messages", '{"conversation_id": CID, "content": SURR}'),
        ("/api/chat/conversations", '{"participants": ["bob"], "title": SURR}'),
        ("/api/chat/conversations", '{"participants": [SURR]}'),
        ("/api/auth/register", '{"username": SURR, "password": "long enough pw"}'),
        ("/api/auth/register", '{"username": "carol", "password": SURR}'),
        ("/api/auth/login", '{"username": "alice", "password": SURR}'),
    ],
)
def test_lone_surrogates_are_a_400(alice_and_bob, path, body):
    alice, conversation_id = alice_and_bob
    body = body.replace("CID", str(conversation_id)).replace("SURR", LONE_SURROGATE)
    response = raw_post(alice, path, body)
    assert response.status_code == 400, response.get_json()
    assert "Unicode" in response.get_json()["error"]
    assert alice.messages(conversation_id).get_json()["messages"] == []


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 20 + "1" + "}" * 20])
def test_deeply_nested_json_is_a_400(alice_and_bob, body):
    alice, _ = alice_and_bob
    response = raw_post(alice, "/api/chat/messages", body)
    assert response.status_code == 400
    assert "nest" in response.get_json()["error"]


def test_control_characters_are_refused_and_text_is_nfc(alice_and_bob):
    alice, conversation_id = alice_and_bob
    bell = alice.send(conversation_id, "ring\u0007")
    assert bell.status_code == 400 and "control character" in bell.get_json()["error"]
    decomposed = alice.send(conversation_id, "cafe\u0301\nnext line")
    assert decomposed.status_code == 201
    assert decomposed.get_json()["content"] == "caf\u00e9\nnext line"
    title = alice.post("/api/chat/conversations", {"participants": ["bob"], "title": "a\nb"})
    assert title.status_code == 400 and "single line" in title.get_json()["error"]


@pytest.mark.parametrize("value", [8.9, "8.9", "８", True, "1e3", "7\n"])
def test_ids_are_parsed_strictly(alice_and_bob, value):
    alice, conversation_id = alice_and_bob
    response = alice.post("/api/chat/messages", {"conversation_id": value, "content": "x"})
    assert response.status_code == 400
    assert "integer" in response.get_json()["error"]
    query = alice.get(f"/api/chat/messages?conversation_id={quote(str(value))}")
    assert query.status_code == 400


BEYOND_THE_ID_COLUMNS = 2**31  # ids are 32-bit INTEGER columns (PostgreSQL refuses more)


@pytest.mark.parametrize("number", [BEYOND_THE_ID_COLUMNS, -BEYOND_THE_ID_COLUMNS - 1, 2**70])
def test_numbers_beyond_the_id_columns_are_a_400(alice_and_bob, number):
    alice, conversation_id = alice_and_bob
    asked = {
        "list": alice.get(f"/api/chat/messages?conversation_id={number}"),
        "after": alice.get(
            f"/api/chat/messages?conversation_id={conversation_id}&after_id={number}"
        ),
        "changes": alice.get(
            f"/api/chat/messages?conversation_id={conversation_id}&changes_after={number}"
        ),
        "post": alice.post("/api/chat/messages", {"conversation_id": number, "content": "x"}),
        "read": alice.post(
            "/api/chat/read", {"conversation_id": conversation_id, "message_id": number}
        ),
        "heard": alice.client.put(
            f"/api/chat/messages/{number}/heard", headers={"X-CSRFToken": alice.csrf()}
        ),
        "people": alice.get(f"/api/users/search?q=b&limit={number}"),
    }
    for name, response in asked.items():
        assert response.status_code == 400, (name, response.get_json())
        assert "out of range" in response.get_json()["error"], name
    assert alice.messages(conversation_id).get_json()["messages"] == []


@pytest.mark.parametrize("message_id", [2**31 - 1, BEYOND_THE_ID_COLUMNS, 10**30])
def test_a_message_id_beyond_every_message_is_not_found(alice_and_bob, message_id):
    alice, _ = alice_and_bob
    recall = alice.post(f"/api/chat/messages/{message_id}/recall")
    edit = alice.client.patch(
        f"/api/chat/messages/{message_id}",
        json={"content": "y"},
        headers={"X-CSRFToken": alice.csrf()},
    )
    for response in (recall, edit):
        assert response.status_code == 404, response.get_data(as_text=True)[:200]
        assert response.get_json()["error"]


def test_conversation_creation_is_rate_limited_per_account(api_for):
    api_for("bob")
    alice = api_for("alice")
    answers = []
    for attempt in range(11):
        answers.append(
            alice.client.post(
                "/api/chat/conversations",
                json={"participants": ["bob"], "title": f"topic {attempt}"},
                headers={"X-CSRFToken": alice.csrf()},
                environ_base={"REMOTE_ADDR": f"203.0.113.{attempt}"},
            ).status_code
        )
    assert answers[:10] == [201] * 10
    assert answers[10] == 429


@pytest.mark.parametrize(
    ("next_value", "expected"),
    [
        ("/%5Cevil.example/", "/chat"),
        ("/%09/evil.example/", "/chat"),
        ("//evil.example/", "/chat"),
        ("https://evil.example/", "/chat"),
        ("/%0A/evil.example", "/chat"),
        ("/chat?conversation=3", "/chat?conversation=3"),
    ],
)
def test_login_next_stays_on_the_site(client, next_value, expected):
    page = client.get(f"/login?next={next_value}").get_data(as_text=True)
    found = re.search(r'data-next="([^"]*)"', page).group(1).replace("&amp;", "&")
    assert found == expected


@pytest.mark.parametrize("path", ["/login", "/api/me", "/healthz", "/api/auth/csrf"])
def test_the_app_sends_its_own_security_headers(client, path):
    headers = client.get(path).headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "microphone=(self)" in headers["Permissions-Policy"]
