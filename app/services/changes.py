"""Replaying changes to sent messages (edits, recalls, finished transcodes).

`messages.commit_change` saves each change with an entry in the change log and sends it
to open pages as a `message_updated` event carrying `change_id`. A page that missed some
(its event stream was down, it was polling) asks for the changes after the last
`change_id` it saw and gets each changed message once, as it is now.
"""

from sqlalchemy import func

from app.extensions import db
from app.models import ChatMessage, ConversationParticipant, MessageChange
from app.services import heard, messages

# At most this many changed messages per answer; the page's cursor then goes on from there.
REPLAY_LIMIT = 200


def latest_id() -> int:
    """Where a page that has just loaded its messages starts following changes."""
    return db.session.execute(db.select(func.max(MessageChange.id))).scalar() or 0


def in_conversation(conversation_id: int, after: int) -> list[dict]:
    """Each message of the conversation changed after change `after`, oldest change first."""
    return _replay(MessageChange.conversation_id == conversation_id, after)


def for_participant(user_id: int, after: int) -> list[dict]:
    """The same across every conversation the user takes part in (the event backlog)."""
    mine = db.select(ConversationParticipant.conversation_id).where(
        ConversationParticipant.user_id == user_id
    )
    return _replay(MessageChange.conversation_id.in_(mine), after)


def cursor(replayed: list[dict], after: int) -> int:
    return max((item["change_id"] for item in replayed), default=after)


def _replay(scope, after: int) -> list[dict]:
    last_change = func.max(MessageChange.id)
    query = (
        db.select(MessageChange.message_id, last_change)
        .where(scope, MessageChange.id > after)
        .group_by(MessageChange.message_id)
        .order_by(last_change)
        .limit(REPLAY_LIMIT)
    )
    latest = dict(db.session.execute(query).all())
    if not latest:
        return []
    found = db.session.execute(db.select(ChatMessage).where(ChatMessage.id.in_(latest)))
    replayed = [
        {**messages.serialize(message), "change_id": latest[message.id]}
        for message in found.scalars()
    ]
    replayed.sort(key=lambda item: item["change_id"])
    return heard.attach(replayed)
