"""Recalling a voice message removes its files from storage (local disk and S3)."""

import json

from tests.voice.test_upload import upload, user


def test_recall_removes_the_files_and_uploads_answer_404(
    tmp_path, voice_app, speech_files, files_in
):
    app = voice_app(tmp_path)
    alice, bob = user(app, "alice"), user(app, "bob")
    conversation_id = alice.conversation_with("bob")
    sent = upload(alice, conversation_id, speech_files["webm"]).get_json()
    content = json.loads(sent["content"])
    urls = [content["url_raw"], content["url_m4a"]]
    assert len(files_in(tmp_path)) == 2
    assert all(bob.get(url).status_code == 200 for url in urls)

    assert alice.post(f"/api/chat/messages/{sent['id']}/recall").status_code == 200
    assert files_in(tmp_path) == []
    for url in urls:
        gone = bob.get(url)
        assert gone.status_code == 404 and gone.get_json()["code"] == "not_found"
    shown = bob.messages(conversation_id).get_json()["messages"][-1]
    assert (shown["type"], shown["content"]) == ("audio", "")
    assert shown["recalled_at"] is not None
