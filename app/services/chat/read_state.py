"""Read positions and unread counts, and the conversation list built on them.

Each participant row holds how far its person has read (`last_read_message_id`); it is
the same on every device, and only moves forward. A message is unread for someone when
its id is above their position and someone else sent it. Every query here is a range on
chat_messages' (conversation_id, id) index or a primary-key lookup.
"""

from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import ChatMessage, Conversation, ConversationParticipant, User
from app.services import events
from app.services.chat import conversations, messages
from app.services.errors import N_, InvalidInput

READ_EVENT = "conversation_read"


def _unread_count(conversation_id, last_read, user_id):
    return (
        db.select(db.func.count(ChatMessage.id))
        .where(
            ChatMessage.conversation_id == conversation_id,
            ChatMessage.id > last_read,
            ChatMessage.sender_id != user_id,
        )
        .scalar_subquery()
    )


def summaries(user: User) -> list[dict]:
    """The person's conversations, latest activity first, each with its last message and
    unread count (what the conversation list shows)."""
    last_id = (
        db.select(db.func.max(ChatMessage.id))
        .where(ChatMessage.conversation_id == Conversation.id)
        .scalar_subquery()
    )
    unread = _unread_count(Conversation.id, ConversationParticipant.last_read_message_id, user.id)
    query = (
        db.select(Conversation, ConversationParticipant.last_read_message_id, last_id, unread)
        .join(ConversationParticipant)
        .where(ConversationParticipant.user_id == user.id)
        .options(selectinload(Conversation.participants).selectinload(ConversationParticipant.user))
    )
    rows = db.session.execute(query).all()
    wanted = [row[2] for row in rows if row[2] is not None]
    last_messages = {
        message.id: message
        for message in db.session.execute(
            db.select(ChatMessage)
            .where(ChatMessage.id.in_(wanted))
            .options(selectinload(ChatMessage.sender))
        ).scalars()
    }
    items = []
    for conversation, last_read, newest_id, unread_count in rows:
        last = last_messages.get(newest_id)
        activity = last.created_at if last is not None else conversation.created_at
        items.append(
            (
                activity,
                conversation.id,
                {
                    **conversations.serialize(conversation),
                    "last_message": messages.serialize(last) if last is not None else None,
                    "last_activity_at": activity.isoformat() + "Z",
                    "last_read_message_id": last_read,
                    "unread": unread_count,
                },
            )
        )
    items.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [item[2] for item in items]


def mark_read(user: User, conversation_id: object, message_id: object) -> dict:
    """Moves the person's read position up to `message_id` (a message of that
    conversation); never back. Tells the person's other pages, so every device agrees."""
    conversation = conversations.get_for_participant(conversation_id, user)
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise InvalidInput(N_("%(name)s must be an integer"), name="message_id")
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise InvalidInput(
            N_("message %(id)d is not in this conversation"),
            code="message_not_found",
            id=message_id,
        )
    db.session.execute(
        db.update(ConversationParticipant)
        .where(
            ConversationParticipant.conversation_id == conversation.id,
            ConversationParticipant.user_id == user.id,
            ConversationParticipant.last_read_message_id < message_id,
        )
        .values(last_read_message_id=message_id)
    )
    db.session.commit()
    position = db.session.execute(
        db.select(ConversationParticipant.last_read_message_id).filter_by(
            conversation_id=conversation.id, user_id=user.id
        )
    ).scalar_one()
    state = {
        "conversation_id": conversation.id,
        "last_read_message_id": position,
        "unread": db.session.execute(
            db.select(_unread_count(conversation.id, position, user.id))
        ).scalar_one(),
    }
    events.hub().publish([user.id], READ_EVENT, state)
    return state
