"""Finding people: prefix search on usernames and display names, case-insensitive, paged."""

from app.extensions import db
from app.models import User
from app.services.accounts import names
from app.services.errors import N_, InvalidInput

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 40
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
# Sorts after every character: key >= q and key < q + HIGHEST is "starts with q",
# a range the unique index on username_key (and the display-name index) can serve.
HIGHEST = "\U0010ffff"


def clean_query(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(N_("q is required"), code="query_invalid")
    query = names.username_key(value.strip())
    if len(query) < MIN_QUERY_LENGTH:
        raise InvalidInput(
            N_("type at least %(min)d characters to search"),
            code="query_too_short",
            min=MIN_QUERY_LENGTH,
        )
    if len(query) > MAX_QUERY_LENGTH or HIGHEST in query:
        raise InvalidInput(
            N_("a search is at most %(max)d characters"),
            code="query_invalid",
            max=MAX_QUERY_LENGTH,
        )
    return query


def search(me: User, query: object, limit: int | None, after: object) -> tuple[list, str | None]:
    """(users, next cursor). Ordered by folded username; the cursor is the last one's."""
    prefix = clean_query(query)
    limit = DEFAULT_PAGE_SIZE if limit is None else limit
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(N_("limit must be between 1 and %(max)d"), max=MAX_PAGE_SIZE)
    if after is not None and (not isinstance(after, str) or len(after) > 200):
        raise InvalidInput(N_("%(name)s is out of range"), name="after")
    statement = (
        db.select(User)
        .where(
            User.id != me.id,
            db.or_(
                db.and_(User.username_key >= prefix, User.username_key < prefix + HIGHEST),
                db.and_(User.display_name_key >= prefix, User.display_name_key < prefix + HIGHEST),
            ),
        )
        .order_by(User.username_key)
        .limit(limit + 1)
    )
    if after:
        statement = statement.where(User.username_key > after)
    found = list(db.session.execute(statement).scalars())
    more = len(found) > limit
    found = found[:limit]
    return found, found[-1].username_key if more else None


def serialize(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.shown_name}
