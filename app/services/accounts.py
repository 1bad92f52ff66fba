"""Registration and authentication."""

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import User
from app.services import names, passwords
from app.services.errors import N_, Conflict, InvalidInput


def register(username: object, password: object, display_name: object = None) -> User:
    username = names.clean_username(username)
    display_name = username if display_name is None else names.clean_display_name(display_name)
    passwords.check_policy(password, username)
    if find_by_username(username) is not None:
        raise Conflict(N_("that username is taken"), code="username_taken")
    user = User(
        username=username,
        username_key=names.username_key(username),
        display_name=display_name,
        display_name_key=names.username_key(display_name),
        password_hash=passwords.hash_password(password),
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
        raise InvalidInput(N_("the current password is not right"), code="wrong_password")
    user.password_hash = passwords.hash_password(
        passwords.check_policy(new_password, user.username)
    )
    db.session.commit()


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
