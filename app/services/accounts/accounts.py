"""Registration and authentication."""

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import User
from app.services.accounts import invites, names, passwords
from app.services.errors import N_, Conflict, Forbidden, InvalidInput


def register(
    username: object,
    password: object,
    display_name: object = None,
    invite: object = None,
    mode: str = "open",
) -> User:
    """Self-service registration under the registration mode in force."""
    if mode == "closed":
        raise Forbidden(
            N_("registration is closed; ask an admin for an account"), code="registration_closed"
        )
    if mode == "invite" and invite in (None, ""):
        raise Forbidden(
            N_("registration needs an invite link; ask an admin for one"), code="invite_required"
        )
    return create(username, password, display_name, invite=invite if mode == "invite" else None)


def create(
    username: object,
    password: object,
    display_name: object = None,
    is_admin: bool = False,
    invite: object = None,
) -> User:
    """A new account; with `invite`, one use of it is taken in the same transaction."""
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
        is_admin=is_admin,
    )
    if invite is not None:
        invites.take_use(invite)  # the write lock is held from here to the commit
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same name, registered a moment earlier by someone else
        db.session.rollback()  # gives the invite's use back as well
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
        "is_admin": user.is_admin,
        "voice_speed": user.voice_speed or 1,
    }
