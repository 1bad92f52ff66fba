"""Client keys: a send repeated with the key its client made finds the message it stored.

A phone that sent a message and lost the answer cannot tell whether the server kept it;
it sends again with the same key. The same key with the same content answers the stored
message (no second message, event or file); the same key with other content is a conflict.
Keys live on their message (`ChatMessage.client_id`), so they last as long as it does.
"""

import hashlib
import uuid
from collections.abc import Iterable

from app.extensions import db
from app.models import ChatMessage
from app.services.errors import N_, Conflict, InvalidInput

BAD_KEY = N_("client_id must be a UUID, such as 0b9e2cc4-52c4-4a2b-9e54-03f1b5a3a0a1")
REUSED_KEY = N_("this client_id was already used for another message")


def parse(value: object) -> str | None:
    """The key in its canonical form (lowercase, hyphenated), None if absent, or InvalidInput."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 36:
        raise InvalidInput(BAD_KEY, code="invalid_client_id")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInput(BAD_KEY, code="invalid_client_id") from None


def digest(conversation_id: int, message_type: str, chunks: Iterable[bytes]) -> str:
    """What a repeat must match: the conversation, the kind of message and its bytes."""
    hashed = hashlib.sha256(f"{conversation_id}\n{message_type}\n".encode())
    for chunk in chunks:
        hashed.update(chunk)
    return hashed.hexdigest()


def stored(sender_id: int, client_id: str | None, sent_digest: str) -> ChatMessage | None:
    """The message this sender already stored with this key, None, or Conflict."""
    if client_id is None:
        return None
    message = db.session.execute(
        db.select(ChatMessage).where(
            ChatMessage.sender_id == sender_id, ChatMessage.client_id == client_id
        )
    ).scalar_one_or_none()
    if message is not None and message.client_digest != sent_digest:
        raise Conflict(REUSED_KEY, code="client_id_reused")
    return message


def race_winner(error: Exception, sender_id: int, client_id: str | None, sent_digest: str):
    """After a commit the key's unique index refused: the repeat that committed first.

    Two repeats of one send that arrive together both find nothing, both insert, and the
    index lets one through. Any other refusal (`error`) is raised again.
    """
    db.session.rollback()
    found = stored(sender_id, client_id, sent_digest)
    if found is None:
        raise error
    return found
