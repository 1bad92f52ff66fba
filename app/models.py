"""Database tables. Behaviour lives in app/services, not here."""

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


def folded_name(length: int) -> String:
    """A folded-name column: compared code point by code point on every database, so "starts
    with q" is a range of its index (SQLite compares so already; PostgreSQL needs "C")."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As typed (NFC); logins and lookups use username_key, the case-folded form.
    username: Mapped[str] = mapped_column(String(32), unique=True)
    username_key: Mapped[str] = mapped_column(folded_name(128), unique=True)
    # What others see (any script, emoji); None shows the username.
    display_name: Mapped[str | None] = mapped_column(String(40))
    # The display name folded like username_key: people search matches its prefix.
    display_name_key: Mapped[str | None] = mapped_column(folded_name(160), index=True)
    # The language chosen in the UI ("en", "zh-CN"); None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Admins reach /admin and /api/admin/ (users, invites, registration mode).
    is_admin: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Set while the account is disabled: no login, no session; its messages stay.
    disabled_at: Mapped[datetime | None] = mapped_column()
    # The voice player's speed this person chose (1, 1.5 or 2); None plays at 1x.
    voice_speed: Mapped[float | None] = mapped_column()

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username


class Conversation(db.Model):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    participants: Mapped[list["ConversationParticipant"]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan"
    )


class ConversationParticipant(db.Model):
    __tablename__ = "conversation_participants"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    # This person's read position: every message up to this id is read (on every device).
    # It only moves forward; 0 = nothing read yet.
    last_read_message_id: Mapped[int] = mapped_column(default=0, server_default="0")

    conversation: Mapped[Conversation] = relationship(back_populates="participants")
    user: Mapped[User] = relationship()


class ChatMessage(db.Model):
    __tablename__ = "chat_messages"
    # Polls ask "messages of conversation C with id > N": one range scan of this index.
    __table_args__ = (
        Index("ix_chat_messages_conversation_id_id", "conversation_id", "id"),
        # A send repeated with its client's key finds the stored message here, and two
        # repeats racing each other cannot both insert (NULL keys never collide).
        Index("ix_chat_messages_sender_id_client_id", "sender_id", "client_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(String(16), default="text")
    content: Mapped[str] = mapped_column(Text)
    # Stem of the voice files under UPLOAD_DIR/chat/ (audio messages only).
    media_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Audio only: "pending" until the transcode settles as "done" or "failed".
    transcode_state: Mapped[str | None] = mapped_column(String(16), index=True)
    # Audio only: the storage backend holding its files ("local" or "s3"); NULL is local
    # (messages from before there was a choice). `storage migrate` switches it.
    storage: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when its sender last edited the text (text messages only).
    edited_at: Mapped[datetime | None] = mapped_column()
    # Set when its sender recalled it: the content is emptied, a voice message's files
    # removed, and everyone sees "recalled" in its place.
    recalled_at: Mapped[datetime | None] = mapped_column()
    # The key the sender's client made for this send (a UUID), so a retry of a send whose
    # answer was lost finds this message instead of posting a second. Kept as long as the
    # message; NULL for sends without one (and messages from before keys).
    client_id: Mapped[str | None] = mapped_column(String(36))
    # SHA-256 of what was sent with that key (conversation, type, text or file bytes): a
    # repeat must match it; the text itself may have been edited since.
    client_digest: Mapped[str | None] = mapped_column(String(64))

    sender: Mapped[User] = relationship()


class MessageChange(db.Model):
    """An edit, recall or finished transcode of a sent message, in the order they happened.

    Open pages hear of each as a live event; a page that missed some (its event stream
    was down, it was polling) replays the ones after the last it saw.
    """

    __tablename__ = "message_changes"
    # Polls ask "changes in conversation C after N": one range scan of this index.
    __table_args__ = (Index("ix_message_changes_conversation_id_id", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_messages.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoiceHeard(db.Model):
    """A recipient has heard a voice message (played past a few seconds, or to its end)."""

    __tablename__ = "voice_heard"

    message_id: Mapped[int] = mapped_column(ForeignKey("chat_messages.id"), primary_key=True)
    # Unheard counts ask "which voice messages has user U not heard": this index.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    heard_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """A login on one device. The cookie holds the token; only its hash is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(db.Model):
    """Failed logins per account (or per trusted device) and how long to wait before the next."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invite(db.Model):
    """A registration invite: the link carries the token, the table only its SHA-256."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # How many registrations it allowed at creation, and how many it still allows.
    max_uses: Mapped[int] = mapped_column()
    uses_left: Mapped[int] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteSetting(db.Model):
    """A setting changed by an admin at runtime; it overrides the environment's default."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
