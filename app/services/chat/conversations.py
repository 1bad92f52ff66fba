"""Conversations and who may see them."""

from sqlalchemy import bindparam

from app.extensions import db
from app.models import Conversation, ConversationParticipant, User
from app.services import text
from app.services.accounts import names
from app.services.errors import N_, InvalidInput, Nn_, NotFound

MAX_PARTICIPANTS = 50
MAX_TITLE_LENGTH = 100


def create(
    creator: User, participant_usernames: object, title: object = None
) -> tuple[Conversation, bool]:
    """(conversation, created). Usernames match case-insensitively. An untitled one-to-one
    conversation with someone you already have one with is that one, not a duplicate."""
    if not isinstance(participant_usernames, list) or not all(
        isinstance(name, str) for name in participant_usernames
    ):
        raise InvalidInput(N_("participants must be a list of usernames"))
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE_LENGTH):
        raise InvalidInput(
            N_("title must be text of at most %(max)d characters"), max=MAX_TITLE_LENGTH
        )
    if title is not None:
        title = text.single_line(title).strip()
    wanted = {names.username_key(name.strip()): name.strip() for name in participant_usernames}
    wanted.pop(creator.username_key, None)
    wanted.pop("", None)
    if len(wanted) + 1 > MAX_PARTICIPANTS:
        raise InvalidInput(
            Nn_(
                "a conversation has at most %(num)d participant",
                "a conversation has at most %(num)d participants",
            ),
            num=MAX_PARTICIPANTS,
        )
    others = (
        db.session.execute(db.select(User).where(User.username_key.in_(wanted))).scalars().all()
    )
    unknown = sorted(set(wanted) - {user.username_key for user in others})
    if unknown:
        raise InvalidInput(
            Nn_("unknown user: %(names)s", "unknown users: %(names)s"),
            code="unknown_users",
            num=len(unknown),
            names=", ".join(wanted[key] for key in unknown),
        )
    if len(others) == 1 and not title:
        existing = _one_to_one(creator.id, others[0].id)
        if existing is not None:
            return existing, False
    conversation = Conversation(title=title or None, created_by_id=creator.id)
    conversation.participants = [
        ConversationParticipant(user_id=user.id) for user in [creator, *others]
    ]
    db.session.add(conversation)
    db.session.commit()
    return conversation, True


def _one_to_one(first_id: int, second_id: int) -> Conversation | None:
    """The oldest untitled conversation whose participants are exactly these two."""
    pairs = (
        db.select(ConversationParticipant.conversation_id)
        .group_by(ConversationParticipant.conversation_id)
        .having(db.func.count() == 2)
    )

    def joined(user_id: int):
        return db.select(ConversationParticipant.conversation_id).filter_by(user_id=user_id)

    query = (
        db.select(Conversation)
        .where(
            Conversation.title.is_(None),
            Conversation.id.in_(pairs),
            Conversation.id.in_(joined(first_id)),
            Conversation.id.in_(joined(second_id)),
        )
        .order_by(Conversation.id)
        .limit(1)
    )
    return db.session.execute(query).scalar_one_or_none()


# Polls and history pages run this first: built once, like sessions.LIVE_SESSION.
PARTICIPANT_CONVERSATION = (
    db.select(Conversation)
    .join(ConversationParticipant)
    .where(
        Conversation.id == bindparam("conversation_id"),
        ConversationParticipant.user_id == bindparam("user_id"),
    )
)


def get_for_participant(conversation_id: object, user: User) -> Conversation:
    """The conversation, or NotFound: outsiders must not learn that it exists."""
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        raise InvalidInput(N_("%(name)s must be an integer"), name="conversation_id")
    conversation = db.session.execute(
        PARTICIPANT_CONVERSATION, {"conversation_id": conversation_id, "user_id": user.id}
    ).scalar_one_or_none()
    if conversation is None:
        raise NotFound(N_("conversation not found"), code="conversation_not_found")
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
        "members": [
            {"id": p.user.id, "username": p.user.username, "display_name": p.user.shown_name}
            for p in sorted(conversation.participants, key=lambda p: p.user_id)
        ],
        "created_at": conversation.created_at.isoformat() + "Z",
    }
