"""Server-side sessions: a login is a row, so logging out ends it wherever the cookie went.

The browser's signed session cookie carries a random token; the database keeps only its
SHA-256. Every request loads the user through that row (one indexed query), so deleting
rows ends sessions at once: logout, "log out everywhere", a password change.
"""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam

from app.extensions import db
from app.models import User, UserSession, utcnow
from app.services import events

# The key of the session cookie that holds the token.
COOKIE_KEY = "sid"
# last_seen_at is written at most this often, so reading pages does not write each time.
TOUCH_INTERVAL = timedelta(hours=1)
# Every request runs this: built once (building a statement costs more than running it).
LIVE_SESSION = (
    db.select(User, UserSession)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.token_hash == bindparam("token_hash"),
        User.id == bindparam("user_id"),
        User.disabled_at.is_(None),  # a disabled account's cookies are worthless at once
    )
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User) -> str:
    """A new session for `user`; the returned token goes into the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=token_hash(token), user_id=user.id))
    db.session.commit()
    return token


def user_for(
    user_id: object, token: object, idle_lifetime: timedelta, on_touch=None
) -> User | None:
    """The session's user, if the session exists, is that user's and is still alive.

    `on_touch` is called when last_seen_at moves on (at most once per TOUCH_INTERVAL):
    the moment the cookie's own expiry should move on too.
    """
    if not isinstance(token, str) or not isinstance(user_id, str) or not user_id.isdigit():
        return None
    row = db.session.execute(
        LIVE_SESSION, {"token_hash": token_hash(token), "user_id": int(user_id)}
    ).one_or_none()
    if row is None:
        return None
    user, login = row
    now = utcnow()
    if now - login.last_seen_at > idle_lifetime:
        end(token)
        return None
    if now - login.last_seen_at > TOUCH_INTERVAL:
        login.last_seen_at = now
        db.session.commit()
        if on_touch is not None:
            on_touch()
    return user


def end(token: object) -> None:
    if not isinstance(token, str):
        return
    hashed = token_hash(token)
    db.session.execute(db.delete(UserSession).where(UserSession.token_hash == hashed))
    db.session.commit()
    events.hub().close_streams(session_hashes=[hashed])


def end_all(user: User, keep_token: str | None = None) -> int:
    """Ends every session of `user` but the one holding `keep_token`; how many ended."""
    query = db.select(UserSession.token_hash).where(UserSession.user_id == user.id)
    if keep_token is not None:
        query = query.where(UserSession.token_hash != token_hash(keep_token))
    hashes = list(db.session.execute(query).scalars())
    if hashes:
        db.session.execute(db.delete(UserSession).where(UserSession.token_hash.in_(hashes)))
        db.session.commit()
        events.hub().close_streams(session_hashes=hashes)
    return len(hashes)
