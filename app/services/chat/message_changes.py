"""Edit and recall: the sender changes their own message within the change window.

An edit replaces a text message's content and stamps `edited_at`; a recall empties any
message (a voice message's files leave storage) and stamps `recalled_at`. Both reach
every participant's open pages as a `message_updated` event carrying the whole message.
"""

import json
import logging
from datetime import timedelta

from app.extensions import db
from app.models import ChatMessage, User, utcnow
from app.services import storage
from app.services.chat import conversations, messages
from app.services.errors import N_, Conflict, Forbidden, NotFound
from app.services.storage import naming

log = logging.getLogger(__name__)


def edit(message_id: int, user: User, content: object, settings) -> ChatMessage:
    message = _own_changeable(message_id, user, settings)
    if message.type != "text":
        raise Conflict(N_("only text messages can be edited"), code="not_text")
    text = messages.valid_text(content)
    if text != message.content:
        message.content = text
        message.edited_at = utcnow()
        messages.commit_change(message)
    return message


def recall(message_id: int, user: User, settings) -> ChatMessage:
    """Empties the message; a voice message's files are removed once the recall is saved."""
    message = _own_changeable(message_id, user, settings)
    names = _stored_names(message)
    store = storage.backend_of(message, settings) if names else None
    message.content = ""
    message.recalled_at = utcnow()
    # No key: /uploads no longer finds it, and if storage fails below (or a transcode
    # finishing now stores a file), the orphan sweep removes what is left.
    message.media_key = None
    message.transcode_state = None
    messages.commit_change(message)
    for name in names:
        storage.forget(store, name)
    return message


def _own_changeable(message_id: int, user: User, settings) -> ChatMessage:
    """The user's own message, still inside the window and not recalled; else the error."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or not conversations.is_participant(message.conversation_id, user.id):
        raise NotFound(N_("message not found"), code="message_not_found")
    if message.sender_id != user.id:
        raise Forbidden(N_("only its sender can change a message"), code="not_sender")
    if message.recalled_at is not None:
        raise Conflict(N_("this message was recalled"), code="already_recalled")
    window = timedelta(seconds=settings.message_change_window_seconds)
    if utcnow() - message.created_at > window:
        raise Forbidden(
            N_("the time for changing this message has passed"), code="change_window_passed"
        )
    return message


def _stored_names(message: ChatMessage) -> list[str]:
    if message.type != "audio" or not message.media_key:
        return []
    try:
        return naming.names_in(json.loads(message.content))
    except (ValueError, TypeError):
        log.error("voice message %s: unreadable content, files left to the sweep", message.id)
        return []
