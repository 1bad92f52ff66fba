"""Who has heard which voice message: the dot on unheard ones, the sender's "heard by"."""

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ChatMessage, ConversationParticipant, User, VoiceHeard
from app.services import events
from app.services.chat import conversations
from app.services.errors import N_, InvalidInput, NotFound

EVENT = "voice_heard"


def mark(message_id: int, user: User) -> tuple[dict, bool]:
    """Records that `user` heard the voice message: (the record, whether it is new).

    Idempotent: the first time counts (and is announced); later calls change nothing.
    Outsiders get NotFound, as for a message that does not exist.
    """
    message = db.session.get(ChatMessage, message_id)
    if message is None or not conversations.is_participant(message.conversation_id, user.id):
        raise NotFound(N_("message not found"), code="message_not_found")
    if message.type != "audio":
        raise InvalidInput(N_("only voice messages can be heard"), code="not_voice")
    if message.sender_id == user.id:
        raise InvalidInput(
            N_("your own voice message needs no heard mark"), code="own_voice_message"
        )
    record = db.session.get(VoiceHeard, (message.id, user.id))
    created = record is None
    if created:
        record = VoiceHeard(message_id=message.id, user_id=user.id)
        db.session.add(record)
        try:
            db.session.commit()
        except IntegrityError:  # the same person's other page marked it a moment before
            db.session.rollback()
            record = db.session.get(VoiceHeard, (message.id, user.id))
            created = False
    data = serialize(record, message.conversation_id)
    if created:
        participants = conversations.participant_ids(message.conversation_id)
        events.hub().publish(participants, EVENT, data)
    return data, created


def serialize(record: VoiceHeard, conversation_id: int) -> dict:
    return {
        "message_id": record.message_id,
        "conversation_id": conversation_id,
        "user_id": record.user_id,
        "username": record.user.username,
        "display_name": record.user.shown_name,
        "heard_at": record.heard_at.isoformat() + "Z",
    }


def attach(items: list[dict]) -> list[dict]:
    """Adds `heard_by` (who heard it, when) to each serialized voice message, in one query."""
    voice = {item["id"]: item for item in items if item["type"] == "audio"}
    if not voice:
        return items
    for item in voice.values():
        item["heard_by"] = []
    query = (
        db.select(VoiceHeard)
        .where(VoiceHeard.message_id.in_(voice))
        .order_by(VoiceHeard.heard_at, VoiceHeard.user_id)
    )
    for record in db.session.execute(query).scalars():
        item = voice[record.message_id]
        item["heard_by"].append(serialize(record, item["conversation_id"]))
    return items


def unheard_counts(user: User) -> dict[int, int]:
    """{conversation id: voice messages from others that `user` has not heard}, one query."""
    heard = db.select(VoiceHeard.message_id).where(VoiceHeard.user_id == user.id)
    query = (
        db.select(ChatMessage.conversation_id, db.func.count())
        .join(
            ConversationParticipant,
            ConversationParticipant.conversation_id == ChatMessage.conversation_id,
        )
        .where(
            ConversationParticipant.user_id == user.id,
            ChatMessage.type == "audio",
            ChatMessage.sender_id != user.id,
            ChatMessage.recalled_at.is_(None),
            ChatMessage.id.not_in(heard),
        )
        .group_by(ChatMessage.conversation_id)
    )
    return dict(db.session.execute(query).all())
