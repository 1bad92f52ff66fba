"""Edit and recall over the API: the sender, within the window; every refusal is JSON."""

from datetime import timedelta

from app.extensions import db
from app.models import ChatMessage


def patch(api, message_id, body, **headers):
    return api.client.patch(
        f"/api/chat/messages/{message_id}",
        json=body,
        headers={"X-CSRFToken": api.csrf(), **headers},
    )


def recall(api, message_id, **headers):
    return api.post(f"/api/chat/messages/{message_id}/recall", headers=headers)


def stored(app, message_id) -> tuple:
    with app.app_context():
        m = db.session.get(ChatMessage, message_id)
        return m.content, m.edited_at, m.recalled_at


def test_edit_then_recall_and_every_refusal(app, api_for):
    alice, bob, mallory = api_for("alice"), api_for("bob"), api_for("mallory")
    conversation_id = alice.conversation_with("bob")
    text_id = alice.send(conversation_id, "helo").get_json()["id"]
    bobs_id = bob.send(conversation_id, "bob's words").get_json()["id"]

    # The sender edits: the new text, edited_at, and everyone reads it.
    edited = patch(alice, text_id, {"content": "hello"})
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["content"] == "hello" and edited.get_json()["edited_at"]
    listed = {m["id"]: m for m in bob.messages(conversation_id).get_json()["messages"]}
    assert listed[text_id]["content"] == "hello" and listed[text_id]["recalled_at"] is None
    before = stored(app, text_id)

    refusals = [
        # Bad content: the same words as sending.
        (patch(alice, text_id, {"content": "   "}), 400, "invalid_input"),
        (patch(alice, text_id, {"content": "x" * 4001}), 400, "invalid_input"),
        (patch(alice, text_id, {}), 400, "invalid_input"),
        (patch(alice, text_id, ["hello"]), 400, "invalid_input"),
        # Not the sender; an outsider and a missing id get the same 404.
        (patch(bob, text_id, {"content": "mine now"}), 403, "not_sender"),
        (recall(bob, text_id), 403, "not_sender"),
        (patch(mallory, text_id, {"content": "hi"}), 404, "message_not_found"),
        (recall(mallory, text_id), 404, "message_not_found"),
        (patch(alice, 999999, {"content": "hi"}), 404, "message_not_found"),
        (recall(alice, 999999), 404, "message_not_found"),
    ]
    for response, status, code in refusals:
        assert (response.status_code, response.get_json()["code"]) == (status, code)
        assert response.get_json()["error"]
    assert patch(mallory, text_id, {"content": "hi"}).get_json() == (
        patch(alice, 999999, {"content": "hi"}).get_json()
    )
    # In the person's language.
    chinese = patch(bob, text_id, {"content": "改"}, **{"Accept-Language": "zh-CN"})
    assert chinese.get_json()["error"] == "只有发送者可以更改消息"
    assert stored(app, text_id) == before
    assert stored(app, bobs_id)[0] == "bob's words"

    # Recall: content gone for everyone; nothing more may change it.
    recalled = recall(alice, text_id)
    assert recalled.status_code == 200
    assert recalled.get_json()["content"] == "" and recalled.get_json()["recalled_at"]
    listed = {m["id"]: m for m in bob.messages(conversation_id).get_json()["messages"]}
    assert listed[text_id]["content"] == "" and listed[text_id]["recalled_at"]
    after = stored(app, text_id)
    for response in (recall(alice, text_id), patch(alice, text_id, {"content": "back"})):
        assert (response.status_code, response.get_json()["code"]) == (409, "already_recalled")
    assert stored(app, text_id) == after

    # Past the window: 403, nothing changed.
    with app.app_context():
        old = db.session.get(ChatMessage, bobs_id)
        window = app.config["SETTINGS"].message_change_window_seconds
        old.created_at -= timedelta(seconds=window + 1)
        db.session.commit()
    for response in (patch(bob, bobs_id, {"content": "late"}), recall(bob, bobs_id)):
        assert (response.status_code, response.get_json()["code"]) == (403, "change_window_passed")
    assert stored(app, bobs_id)[0] == "bob's words"


def test_voice_messages_cannot_be_edited(app, api_for):
    alice = api_for("alice")
    conversation_id = alice.conversation_with()
    with app.app_context():
        voice = ChatMessage(conversation_id=conversation_id, sender_id=1, type="audio",
                            content='{"url": null}')  # fmt: skip
        db.session.add(voice)
        db.session.commit()
        voice_id = voice.id
    response = patch(alice, voice_id, {"content": "words"})
    assert (response.status_code, response.get_json()["code"]) == (409, "not_text")
    assert stored(app, voice_id) == ('{"url": null}', None, None)


def test_a_polling_page_replays_the_changes_it_missed(app, api_for):
    alice, bob, _carol = api_for("alice"), api_for("bob"), api_for("carol")
    conversation_id = alice.conversation_with("bob")
    others = alice.conversation_with("carol")
    first = alice.send(conversation_id, "helo").get_json()["id"]
    second = alice.send(conversation_id, "wrong chat").get_json()["id"]

    # Bob's page loads the conversation: the answer says where changes stand.
    loaded = bob.messages(conversation_id).get_json()
    cursor = loaded["last_change_id"]
    assert "changes" not in loaded

    # While Bob's page is only polling: two edits of one message, a recall of another,
    # and a change in a conversation Bob is not in.
    patch(alice, first, {"content": "hello"})
    patch(alice, first, {"content": "hello, Bob"})
    recall(alice, second)
    patch(alice, alice.send(others, "hi carol").get_json()["id"], {"content": "hi Carol"})

    polled = bob.messages(conversation_id, after_id=second, changes_after=cursor).get_json()
    assert polled["messages"] == []
    replayed = [(m["id"], m["content"], bool(m["recalled_at"])) for m in polled["changes"]]
    assert replayed == [(first, "hello, Bob", False), (second, "", True)]
    assert polled["last_change_id"] == polled["changes"][-1]["change_id"] > cursor

    # From the new cursor nothing is replayed twice; a bad cursor is a clear 400.
    again = bob.messages(conversation_id, after_id=second, changes_after=polled["last_change_id"])
    assert again.get_json()["changes"] == []
    assert again.get_json()["last_change_id"] == polled["last_change_id"]
    bad = bob.messages(conversation_id, changes_after="yesterday")
    assert bad.status_code == 400 and "changes_after" in bad.get_json()["error"]
