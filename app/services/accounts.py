"""Registration and authentication."""

import re

from app.extensions import db
from app.models import User
from app.services import passwords
from app.services.errors import Conflict, InvalidInput

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")


def register(username: object, password: object) -> User:
    if not isinstance(username, str) or not USERNAME_PATTERN.match(username):
        raise InvalidInput("username must be 3-32 letters, digits, '_', '.' or '-'")
    passwords.check_policy(password, username)
    if find_by_username(username) is not None:
        raise Conflict("that username is taken")
    user = User(username=username, password_hash=passwords.hash_password(password))
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: object, password: object) -> User | None:
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = find_by_username(username)
    # The same work whether or not the account exists, so usernames cannot be probed by timing.
    if not passwords.verify(user and user.password_hash, password):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        db.session.commit()
    return user


def change_password(user: User, current_password: object, new_password: object) -> None:
    """Sets a new password once the current one is proven; the caller ends other sessions."""
    if not isinstance(current_password, str) or not passwords.verify(
        user.password_hash, current_password
    ):
        raise InvalidInput("the current password is not right")
    user.password_hash = passwords.hash_password(
        passwords.check_policy(new_password, user.username)
    )
    db.session.commit()


def find_by_username(username: str) -> User | None:
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()


def serialize(user: User) -> dict:
    return {"id": user.id, "username": user.username}
