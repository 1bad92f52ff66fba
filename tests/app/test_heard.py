"""Heard marks on voice messages: who may set them, idempotence, the unheard counts."""

import io

from tests.voice.test_upload import UPLOAD


def send_voice(api, conversation_id, recording) -> int:
    data = {
        "conversation_id": str(conversation_id),
        "file": (io.BytesIO(recording.read_bytes()), "speech.webm"),
    }
    response = api.post(UPLOAD, data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def put_heard(api, message_id):
    return api.client.put(
        f"/api/chat/messages/{message_id}/heard", headers={"X-CSRFToken": api.csrf()}
    )


def unheard(api) -> dict[int, int]:
    listing = api.get("/api/chat/conversations").get_json()["conversations"]
    return {c["id"]: c["unheard"] for c in listing}


def heard_by(api, conversation_id) -> dict[int, list[str]]:
    listed = api.messages(conversation_id).get_json()["messages"]
    return {m["id"]: [h["username"] for h in m.get("heard_by", [])] for m in listed}


def test_heard_marks_count_and_stay_put(api_for, speech_files):
    alice, bob, carol, mallory = (api_for(name) for name in ("alice", "bob", "carol", "mallory"))
    group = alice.post(
        "/api/chat/conversations", {"participants": ["bob", "carol"], "title": "trio"}
    ).get_json()["id"]
    pair = bob.conversation_with("alice")
    first = send_voice(alice, group, speech_files["webm"])
    second = send_voice(alice, group, speech_files["webm"])
    from_bob = send_voice(bob, pair, speech_files["webm"])
    text = alice.send(group, "not a voice").get_json()["id"]

    assert unheard(bob) == {group: 2, pair: 0}
    assert unheard(carol) == {group: 2}
    assert unheard(alice) == {group: 0, pair: 1}
    assert heard_by(alice, group) == {first: [], second: [], text: []}

    # Bad input: a clear JSON error, nothing recorded.
    for bad in ("abc", "1.5", "99999999999999999999"):
        response = put_heard(bob, bad)
        assert response.status_code == 400, bad
        assert "message_id" in response.get_json()["error"]
    assert put_heard(bob, text).get_json()["code"] == "not_voice"
    assert put_heard(alice, first).get_json()["code"] == "own_voice_message"
    # Outsiders learn nothing: the same 404 as for a message that does not exist.
    outsider = put_heard(mallory, first)
    assert outsider.status_code == 404
    assert outsider.get_json() == put_heard(mallory, 424242).get_json()
    assert put_heard(carol, from_bob).status_code == 404
    no_token = bob.client.put(f"/api/chat/messages/{first}/heard")
    assert no_token.status_code in (400, 403)
    assert unheard(bob) == {group: 2, pair: 0}
    assert heard_by(alice, group) == {first: [], second: [], text: []}

    # The first mark counts; a repeat answers the same record and changes nothing.
    marked = put_heard(bob, first)
    assert marked.status_code == 201
    record = marked.get_json()
    assert record["message_id"] == first and record["username"] == "bob"
    assert record["conversation_id"] == group
    again = put_heard(bob, first)
    assert again.status_code == 200 and again.get_json() == record
    assert unheard(bob) == {group: 1, pair: 0}
    assert unheard(carol) == {group: 2}
    assert put_heard(carol, first).status_code == 201
    assert put_heard(alice, from_bob).status_code == 201
    assert unheard(alice) == {group: 0, pair: 0}
    assert unheard(carol) == {group: 1}
    # The sender sees who heard what, in the order they heard it.
    assert heard_by(alice, group) == {first: ["bob", "carol"], second: [], text: []}
    assert heard_by(bob, pair) == {from_bob: ["alice"]}


def test_voice_speed_is_remembered_on_the_account(api_for):
    alice = api_for("alice")
    assert alice.get("/api/me").get_json()["voice_speed"] == 1

    def patch(body):
        return alice.client.patch("/api/me", json=body, headers={"X-CSRFToken": alice.csrf()})

    for bad in (3, "2", True, None):
        response = patch({"voice_speed": bad})
        assert response.status_code == 400 and response.get_json()["code"] == "voice_speed_invalid"
    assert patch({"voice_speed": 1.5}).get_json()["voice_speed"] == 1.5
    assert alice.get("/api/me").get_json()["voice_speed"] == 1.5
