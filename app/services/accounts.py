"""Registration and authentication."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import User
from app.services import names
from app.services.errors import N_, Conflict, InvalidInput

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


def register(username: object, password: object, display_name: object = None) -> User:
    username = names.clean_username(username)
    display_name = username if display_name is None else names.clean_display_name(display_name)
    if not isinstance(password, str) or not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    ):
        raise InvalidInput(
            f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters"
        )
    if find_by_username(username) is not None:
        raise Conflict(N_("that username is taken"), code="username_taken")
    user = User(
        username=username,
        username_key=names.username_key(username),
        display_name=display_name,
        display_name_key=names.username_key(display_name),
        password_hash=_hasher.hash(password),
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same name, registered a moment earlier by someone else
        db.session.rollback()
        raise Conflict(N_("that username is taken"), code="username_taken") from None
    return user


def authenticate(username: object, password: object) -> User | None:
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = find_by_username(username)
    if user is None:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user


def find_by_username(username: str) -> User | None:
    """Case-insensitive: "Alice" logs in (and is found) as alice."""
    key = names.username_key(username.strip())
    return db.session.execute(db.select(User).filter_by(username_key=key)).scalar_one_or_none()


def serialize(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.shown_name,
        "locale": user.locale,
    }
