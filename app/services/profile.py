"""What a person changes about themselves: display name and language."""

from app.extensions import db
from app.i18n import LOCALES, normalise_tag
from app.models import User
from app.services import names
from app.services.errors import N_, InvalidInput


def clean_locale(value: object) -> str | None:
    """An offered language tag ("en", "zh-CN"), None for "follow the browser"."""
    if value is None:
        return None
    tag = normalise_tag(value)
    if tag is None:
        raise InvalidInput(
            N_("locale must be one of: %(choices)s, or null"),
            code="locale_invalid",
            choices=", ".join(LOCALES),
        )
    return tag


def update(user: User, changes: dict) -> User:
    """Applies display_name and/or locale; nothing is saved unless every field is valid."""
    known = {"display_name", "locale"}
    if not changes or not set(changes) <= known:
        raise InvalidInput(
            N_("send display_name and/or locale, nothing else"), code="profile_invalid"
        )
    values = {}
    if "display_name" in changes:
        values["display_name"] = names.clean_display_name(changes["display_name"])
        values["display_name_key"] = names.username_key(values["display_name"])
    if "locale" in changes:
        values["locale"] = clean_locale(changes["locale"])
    for field, value in values.items():
        setattr(user, field, value)
    db.session.commit()
    return user
