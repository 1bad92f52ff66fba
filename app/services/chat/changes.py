"""Replaying changes to sent messages (edits, recalls, finished transcodes).

`messages.commit_change` saves each change with an entry in the change log and sends it
to open pages as a `message_updated` event carrying `change_id`. A page that missed some
(its event stream was down, it was polling) asks for the changes after the last
`change_id` it saw and gets each changed message once, as it is now.
"""

from sqlalchemy import bindparam, func

from app.extensions import db
from app.models import ChatMessage, ConversationParticipant, MessageChange
from app.services.chat import heard, messages

# At most this many changed messages per answer; the page's cursor then goes on from there.
REPLAY_LIMIT = 200


def latest_id() -> int:
    """Where a page that has just loaded its messages starts following changes."""
    return db.session.execute(db.select(func.max(MessageChange.id))).scalar() or 0


def in_conversation(conversation_id: int, after: int) -> list[dict]:
    """Each message of the conversation changed after change `after`, oldest change first."""
    return _replay(IN_CONVERSATION, {"conversation_id": conversation_id, "after": after})


def for_participant(user_id: int, after: int) -> list[dict]:
    """The same across every conversation the user takes part in (the event backlog)."""
    return _replay(FOR_PARTICIPANT, {"user_id": user_id, "after": after})


def cursor(replayed: list[dict], after: int) -> int:
    return max((item["change_id"] for item in replayed), default=after)


def _changed_messages(scope):
    """(message id, its latest change id) after :after within scope, oldest change first."""
    last_change = func.max(MessageChange.id)
    return (
        db.select(MessageChange.message_id, last_change)
        .where(scope, MessageChange.id > bindparam("after"))
        .group_by(MessageChange.message_id)
        .order_by(last_change)
        .limit(REPLAY_LIMIT)
    )


# A polling page asks IN_CONVERSATION every few seconds: built once, like
# sessions.LIVE_SESSION.
IN_CONVERSATION = _changed_messages(MessageChange.conversation_id == bindparam("conversation_id"))
FOR_PARTICIPANT = _changed_messages(
    MessageChange.conversation_id.in_(
        db.select(ConversationParticipant.conversation_id).where(
            ConversationParticipant.user_id == bindparam("user_id")
        )
    )
)


def _replay(statement, asked: dict) -> list[dict]:
    latest = dict(db.session.execute(statement, asked).all())
    if not latest:
        return []
    found = db.session.execute(db.select(ChatMessage).where(ChatMessage.id.in_(latest)))
    replayed = [
        {**messages.serialize(message), "change_id": latest[message.id]}
        for message in found.scalars()
    ]
    replayed.sort(key=lambda item: item["change_id"])
    return heard.attach(replayed)
