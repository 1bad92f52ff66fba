"""Conversations and who may see them."""

from app.extensions import db
from app.models import Conversation, ConversationParticipant, User
from app.services import text
from app.services.errors import InvalidInput, NotFound

MAX_PARTICIPANTS = 50
MAX_TITLE_LENGTH = 100


def create(creator: User, participant_usernames: object, title: object = None) -> Conversation:
    if not isinstance(participant_usernames, list) or not all(
        isinstance(name, str) for name in participant_usernames
    ):
        raise InvalidInput("participants must be a list of usernames")
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE_LENGTH):
        raise InvalidInput(f"title must be text of at most {MAX_TITLE_LENGTH} characters")
    if title is not None:
        title = text.single_line(title, "title").strip()
    names = set(participant_usernames) - {creator.username}
    if len(names) + 1 > MAX_PARTICIPANTS:
        raise InvalidInput(f"a conversation has at most {MAX_PARTICIPANTS} participants")
    others = db.session.execute(db.select(User).where(User.username.in_(names))).scalars().all()
    unknown = names - {user.username for user in others}
    if unknown:
        raise InvalidInput(f"unknown users: {', '.join(sorted(unknown))}")
    conversation = Conversation(title=title or None, created_by_id=creator.id)
    conversation.participants = [
        ConversationParticipant(user_id=user.id) for user in [creator, *others]
    ]
    db.session.add(conversation)
    db.session.commit()
    return conversation


def list_for(user: User) -> list[Conversation]:
    query = (
        db.select(Conversation)
        .join(ConversationParticipant)
        .where(ConversationParticipant.user_id == user.id)
        .order_by(Conversation.id.desc())
    )
    return list(db.session.execute(query).scalars())


def get_for_participant(conversation_id: object, user: User) -> Conversation:
    """The conversation, or NotFound: outsiders must not learn that it exists."""
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        raise InvalidInput("conversation_id must be an integer")
    query = (
        db.select(Conversation)
        .join(ConversationParticipant)
        .where(Conversation.id == conversation_id, ConversationParticipant.user_id == user.id)
    )
    conversation = db.session.execute(query).scalar_one_or_none()
    if conversation is None:
        raise NotFound("conversation not found")
    return conversation


def is_participant(conversation_id: int, user_id: int) -> bool:
    return db.session.get(ConversationParticipant, (conversation_id, user_id)) is not None


def participant_ids(conversation_id: int) -> list[int]:
    query = db.select(ConversationParticipant.user_id).filter_by(conversation_id=conversation_id)
    return list(db.session.execute(query).scalars())


def serialize(conversation: Conversation) -> dict:
    return {
        "id": conversation.id,
        "title": conversation.title,
        "participants": sorted(p.user.username for p in conversation.participants),
        "created_at": conversation.created_at.isoformat() + "Z",
    }
