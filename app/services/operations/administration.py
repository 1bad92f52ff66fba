"""What admins do to accounts: list, disable, enable, reset a password, make an admin.

Disabling keeps the account's messages and voice files for the others; it ends every
session of the account at once (and its open event streams), and sessions.user_for
refuses a disabled account's cookies from then on.
"""

from app.extensions import db
from app.models import User, utcnow
from app.services.accounts import accounts, passwords, sessions
from app.services.errors import N_, Conflict, InvalidInput, NotFound

# The most accounts one page of the admin list shows.
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


def find(username: object) -> User:
    user = accounts.find_by_username(username) if isinstance(username, str) else None
    if user is None:
        raise NotFound(N_("no such user"), code="user_not_found")
    return user


def get(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(N_("no such user"), code="user_not_found")
    return user


def page_of_users(page: int = 1, per_page: int = DEFAULT_PAGE_SIZE) -> tuple[list[User], int]:
    """One page of accounts in the order they were made, and how many there are in all."""
    if not 1 <= page <= 10**6 or not 1 <= per_page <= MAX_PAGE_SIZE:
        raise InvalidInput(
            N_("page must be at least 1 and per_page from 1 to %(max)d"),
            code="page_invalid",
            max=MAX_PAGE_SIZE,
        )
    total = db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one()
    users = db.session.execute(
        db.select(User).order_by(User.id).offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return list(users), total


def disable(user: User, by: User | None = None) -> User:
    """Disables the account and ends its sessions; an admin cannot disable themselves."""
    if by is not None and by.id == user.id:
        raise Conflict(N_("you cannot disable your own account"), code="cannot_disable_self")
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        db.session.commit()
    sessions.end_all(user)
    return user


def enable(user: User) -> User:
    if user.disabled_at is not None:
        user.disabled_at = None
        db.session.commit()
    return user


def reset_password(user: User, password: object) -> int:
    """Sets a new password (the policy applies) and ends every session; how many ended."""
    user.password_hash = passwords.hash_password(passwords.check_policy(password, user.username))
    db.session.commit()
    return sessions.end_all(user)


def make_admin(user: User) -> bool:
    """Makes the account an admin; whether anything changed."""
    if user.is_admin:
        return False
    user.is_admin = True
    db.session.commit()
    return True


def serialize(user: User) -> dict:
    return {
        **accounts.serialize(user),
        "disabled": user.disabled_at is not None,
        "disabled_at": user.disabled_at and user.disabled_at.isoformat() + "Z",
        "created_at": user.created_at.isoformat() + "Z",
    }
