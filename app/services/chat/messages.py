"""Chat messages: posting text, publishing new and changed messages."""

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ChatMessage, Conversation, MessageChange, User
from app.services import events
from app.services.chat import client_keys, conversations
from app.services.errors import N_, InvalidInput, Nn_

MAX_TEXT_LENGTH = 4000


def post_text(
    conversation: Conversation, sender: User, content: object, client_id: object = None
) -> tuple[ChatMessage, bool]:
    """(the message, True if stored now; False: a repeat of a send already stored)."""
    text = valid_text(content)
    key = client_keys.parse(client_id)
    digest = client_keys.digest(conversation.id, "text", [text.encode()])
    sender_id = sender.id  # read now: a refused commit leaves `sender` unreadable
    found = client_keys.stored(sender_id, key, digest)
    if found is not None:
        return found, False
    try:
        return create(conversation, sender, "text", text, client_id=key, client_digest=digest), True
    except IntegrityError as error:
        return client_keys.race_winner(error, sender_id, key, digest), False


def valid_text(content: object) -> str:
    """The text of a message as sent or edited, or InvalidInput."""
    if not isinstance(content, str) or not content.strip():
        raise InvalidInput(N_("content must be non-empty text"))
    if len(content) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            Nn_(
                "content must be at most %(num)d character",
                "content must be at most %(num)d characters",
            ),
            num=MAX_TEXT_LENGTH,
        )
    return content


def create(
    conversation: Conversation,
    sender: User,
    message_type: str,
    content: str,
    media_key: str | None = None,
    transcode_state: str | None = None,
    storage: str | None = None,
    client_id: str | None = None,
    client_digest: str | None = None,
) -> ChatMessage:
    message = ChatMessage(
        conversation_id=conversation.id,
        sender_id=sender.id,
        type=message_type,
        content=content,
        media_key=media_key,
        transcode_state=transcode_state,
        storage=storage,
        client_id=client_id,
        client_digest=client_digest if client_id else None,
    )
    db.session.add(message)
    db.session.commit()
    publish(message, "message")
    return message


def publish(message: ChatMessage, event: str = "message", change_id: int | None = None) -> None:
    """Tell every participant's open pages about a new message, or a change to one."""
    user_ids = conversations.participant_ids(message.conversation_id)
    data = serialize(message)
    if change_id is not None:
        data["change_id"] = change_id
    events.hub().publish(user_ids, event, data)


def commit_change(message: ChatMessage) -> None:
    """Saves a change to a sent message with its entry in the change log (which pages
    that missed the event replay: `app.services.chat.changes`), then tells the open pages."""
    change = MessageChange(message_id=message.id, conversation_id=message.conversation_id)
    db.session.add(change)
    db.session.commit()
    publish(message, "message_updated", change.id)


def serialize(message: ChatMessage) -> dict:
    return _fields(message, message.sender.username, message.sender.shown_name)


def serialize_row(row) -> dict:
    """The same from a row of history.PAGE_ROWS: a message's columns and its sender's names."""
    return _fields(row, row.sender_username, row.sender_display_name or row.sender_username)


def _fields(message, sender_username: str, sender_display_name: str) -> dict:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "sender": sender_username,
        "sender_id": message.sender_id,
        "sender_display_name": sender_display_name,
        "type": message.type,
        # A transcode that finished during a recall may have written content back.
        "content": "" if message.recalled_at else message.content,
        "created_at": message.created_at.isoformat() + "Z",
        "edited_at": _timestamp(message.edited_at),
        "recalled_at": _timestamp(message.recalled_at),
        # The sender's page matches its "sending…" bubble to the message by this key.
        "client_id": message.client_id,
    }


def _timestamp(moment) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"
