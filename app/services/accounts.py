"""Registration and authentication."""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.extensions import db
from app.models import User
from app.services.errors import Conflict, InvalidInput

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


def register(username: object, password: object) -> User:
    if not isinstance(username, str) or not USERNAME_PATTERN.match(username):
        raise InvalidInput("username must be 3-32 letters, digits, '_', '.' or '-'")
    if not isinstance(password, str) or not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    ):
        raise InvalidInput(
            f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters"
        )
    if find_by_username(username) is not None:
        raise Conflict("that username is taken")
    user = User(username=username, password_hash=_hasher.hash(password))
    db.session.add(user)
    db.session.commit()
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
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()


def serialize(user: User) -> dict:
    return {"id": user.id, "username": user.username}
