"""Invites: single- or N-use registration tokens that expire, shown once and stored hashed.

The token exists only in the link given at creation; the table keeps its SHA-256. Using an
invite is one conditional UPDATE (`uses_left > 0`, not revoked, not expired) inside the
registration's own transaction, so two registrations cannot both take the last use, and a
registration that fails afterwards gives its use back by rolling back.
"""

import hashlib
import re
import secrets
from datetime import timedelta
from urllib.parse import quote

from app.extensions import db
from app.models import Invite, User, utcnow
from app.services.errors import N_, Forbidden, InvalidInput, NotFound

# Most registrations one invite may allow (a class, a team, a family).
MAX_USES = 1000
# Expiry is at least a minute and at most a year away.
MIN_LIFETIME = timedelta(minutes=1)
MAX_LIFETIME = timedelta(days=365)
DEFAULT_LIFETIME = timedelta(days=7)
DURATION = re.compile(r"([0-9]{1,6})([mhdw])")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# One message for every unusable token (wrong, expired, used up, revoked): nothing is learnt
# about which invites exist.
INVALID = N_("this invite link is not valid: it may be wrong, expired, used up or revoked")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_lifetime(value: object) -> timedelta:
    """`30m`, `12h`, `7d`, `2w` (or a whole number of days) -> a timedelta within limits."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value}d"
    match = DURATION.fullmatch(value.strip().lower()) if isinstance(value, str) else None
    lifetime = match and timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    if not lifetime or not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        raise InvalidInput(
            N_("expires must be a duration such as 30m, 12h, 7d or 2w, from 1 minute to 365 days"),
            code="invite_expiry_invalid",
        )
    return lifetime


def parse_uses(value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_USES:
        raise InvalidInput(
            N_("uses must be a whole number from 1 to %(max)d"),
            code="invite_uses_invalid",
            max=MAX_USES,
        )
    return value


def create(uses: object = None, expires: object = None, by: User | None = None):
    """A new invite and its token (returned here only, never again)."""
    uses = parse_uses(uses)
    lifetime = DEFAULT_LIFETIME if expires is None else parse_lifetime(expires)
    token = secrets.token_urlsafe(24)
    invite = Invite(
        token_hash=token_hash(token),
        max_uses=uses,
        uses_left=uses,
        expires_at=utcnow() + lifetime,
        created_by_id=by.id if by else None,
    )
    db.session.add(invite)
    db.session.commit()
    return invite, token


def link(token: str, public_url: str = "") -> str:
    """The invite link: the site's address (if known) and /login?invite=TOKEN."""
    return f"{public_url.rstrip('/')}/login?invite={quote(token, safe='')}"


def take_use(token: object) -> Invite:
    """Takes one use of the invite, uncommitted: the caller's commit makes it final."""
    if not isinstance(token, str) or not 16 <= len(token) <= 128:
        raise Forbidden(INVALID, code="invite_invalid")
    hashed = token_hash(token)
    result = db.session.execute(
        db.update(Invite)
        .where(
            Invite.token_hash == hashed,
            Invite.uses_left > 0,
            Invite.revoked_at.is_(None),
            Invite.expires_at > utcnow(),
        )
        .values(uses_left=Invite.uses_left - 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Forbidden(INVALID, code="invite_invalid")
    return db.session.execute(db.select(Invite).filter_by(token_hash=hashed)).scalar_one()


def revoke(invite_id: int) -> Invite:
    invite = db.session.get(Invite, invite_id)
    if invite is None:
        raise NotFound(N_("no such invite"), code="invite_not_found")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        db.session.commit()
    return invite


def all_invites(limit: int = 200) -> list[Invite]:
    """The newest invites first."""
    return list(
        db.session.execute(db.select(Invite).order_by(Invite.id.desc()).limit(limit)).scalars()
    )


def state(invite: Invite) -> str:
    if invite.revoked_at is not None:
        return "revoked"
    if invite.uses_left <= 0:
        return "used_up"
    if invite.expires_at <= utcnow():
        return "expired"
    return "active"


def serialize(invite: Invite) -> dict:
    return {
        "id": invite.id,
        "state": state(invite),
        "max_uses": invite.max_uses,
        "uses_left": invite.uses_left,
        "expires_at": invite.expires_at.isoformat() + "Z",
        "revoked_at": invite.revoked_at and invite.revoked_at.isoformat() + "Z",
        "created_at": invite.created_at.isoformat() + "Z",
    }
