"""Seeds a deployed app with MESSAGES messages, VOICE of them voice messages (run on the host).

Run as the app's user from the live release with natter.env loaded (backup_restore.py
does so): `python backup_seed.py 1000 100`. Voice messages get the three files the app
keeps for each (m4a, mp3, raw WebM) at the sizes of a 20 s recording (the README's KB a
minute); their bytes are random, which compresses as little as real AAC/MP3/Opus does.
"""

import json
import os
import sys
from pathlib import Path

from app import create_app
from app.extensions import db
from app.models import ChatMessage
from app.services.accounts import accounts
from app.services.chat import conversations
from app.services.storage import naming

# Bytes of a 20 s voice message: m4a ~393 KB/min, mp3 ~364 KB/min, WebM/Opus 48 kbit/s.
SIZES = {"m4a": 131_000, "mp3": 121_000, "webm": 120_000}


def main(total: int, voice: int) -> None:
    app = create_app()
    with app.app_context():
        people = [
            accounts.find_by_username(name) or accounts.create(name, "seed password 12345")
            for name in ("seed-ann", "seed-ben")
        ]
        conversation, _ = conversations.create(people[0], ["seed-ben"])
        folder = Path(app.config["SETTINGS"].upload_dir) / naming.FOLDER
        every = total // voice if voice else total + 1  # every n-th message is a voice one
        for number in range(total):
            sender = people[number % 2]
            if number % every == 0:
                key = naming.new_key()
                names = {
                    "m4a": naming.output_name(key, "m4a"),
                    "mp3": naming.output_name(key, "mp3"),
                    "raw": naming.raw_name(key, "webm"),
                }
                for kind, name in names.items():
                    (folder / name).write_bytes(os.urandom(SIZES.get(kind, SIZES["webm"])))
                    os.chmod(folder / name, 0o644)
                content = {f"url_{kind}": naming.url(name) for kind, name in names.items()}
                content.update(url=content["url_m4a"], duration=20.0)
                message = ChatMessage(type="audio", content=json.dumps(content), media_key=key)
                message.transcode_state = "done"
            else:
                message = ChatMessage(
                    type="text", content=f"seeded message {number} · 第{number}条"
                )
            message.conversation_id, message.sender_id = conversation.id, sender.id
            db.session.add(message)
        db.session.commit()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
