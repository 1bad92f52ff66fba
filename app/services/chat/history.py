"""Pages of a conversation's history: keyset on the message id, never OFFSET.

`after_id` asks for what came after a message (polls), `before_id` for the page before
one (scrolling back); both are a range on chat_messages' (conversation_id, id) index, so
the thousandth page costs what the first does.
"""

from sqlalchemy import bindparam

from app.extensions import db
from app.models import ChatMessage, Conversation, ConversationParticipant, User
from app.services.chat import heard, messages
from app.services.errors import N_, InvalidInput

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# A reconnecting event stream replays at most this many missed messages.
BACKLOG_LIMIT = 200


# A page is read as plain rows, the message's columns and its sender's names in one
# query: building 50 ORM objects and looking up their senders cost a fifth of a history
# page (python -m tests.benchmarks.request_profile).
PAGE_ROWS = db.select(
    *ChatMessage.__table__.columns,
    User.username.label("sender_username"),
    User.display_name.label("sender_display_name"),
).join(User, User.id == ChatMessage.sender_id)
# A poll's question ("what came after N"), asked every few seconds by every open page
# that has no event stream: built once, like sessions.LIVE_SESSION.
AFTER = (
    PAGE_ROWS.where(
        ChatMessage.conversation_id == bindparam("conversation_id"),
        ChatMessage.id > bindparam("after_id"),
    )
    .order_by(ChatMessage.id)
    .limit(bindparam("limit"))
)
# A history page: the `limit` newest before `before_id`, newest first; LATEST without one.
BEFORE = (
    PAGE_ROWS.where(
        ChatMessage.conversation_id == bindparam("conversation_id"),
        ChatMessage.id < bindparam("before_id"),
    )
    .order_by(ChatMessage.id.desc())
    .limit(bindparam("limit"))
)
LATEST = (
    PAGE_ROWS.where(ChatMessage.conversation_id == bindparam("conversation_id"))
    .order_by(ChatMessage.id.desc())
    .limit(bindparam("limit"))
)


def page(
    conversation: Conversation,
    after_id: int | None = None,
    before_id: int | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Serialized messages, oldest first. Without a cursor, the latest `limit` messages."""
    limit = DEFAULT_PAGE_SIZE if limit is None else limit
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(N_("limit must be between 1 and %(max)d"), max=MAX_PAGE_SIZE)
    if after_id is not None and before_id is not None:
        raise InvalidInput(N_("give after_id or before_id, not both"), code="conflicting_cursors")
    asked = {"conversation_id": conversation.id, "limit": limit}
    if after_id is not None:
        rows = db.session.execute(AFTER, {**asked, "after_id": after_id}).all()
    elif before_id is None:
        rows = db.session.execute(LATEST, asked).all()[::-1]
    else:
        rows = db.session.execute(BEFORE, {**asked, "before_id": before_id}).all()[::-1]
    return heard.attach([messages.serialize_row(row) for row in rows])


def missed_by(user_id: int, last_id: int, replay_from: int | None = None) -> list[dict]:
    """New messages after `last_id` in all the user's conversations (a resumed stream),
    after those from `replay_from` up to `last_id` that it may have missed (events.resume_from)."""
    replay = []
    if replay_from is not None and replay_from < last_id:
        replay = _messages_of(user_id, ChatMessage.id > replay_from, ChatMessage.id <= last_id)
    return heard.attach(replay + _messages_of(user_id, ChatMessage.id > last_id))


def _messages_of(user_id: int, *conditions) -> list[dict]:
    query = (
        db.select(ChatMessage)
        .join(
            ConversationParticipant,
            ConversationParticipant.conversation_id == ChatMessage.conversation_id,
        )
        .where(ConversationParticipant.user_id == user_id, *conditions)
        .order_by(ChatMessage.id)
        .limit(BACKLOG_LIMIT)
    )
    return [messages.serialize(m) for m in db.session.execute(query).scalars()]
