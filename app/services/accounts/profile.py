"""What a person changes about themselves: display name, language, voice player speed."""

from app.extensions import db
from app.i18n import LOCALES, normalise_tag
from app.models import User
from app.services.accounts import names
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


# The speeds the voice player offers.
VOICE_SPEEDS = (1, 1.5, 2)


def clean_voice_speed(value: object) -> float:
    if isinstance(value, bool) or value not in VOICE_SPEEDS:
        raise InvalidInput(
            N_("voice_speed must be one of: %(choices)s"),
            code="voice_speed_invalid",
            choices=", ".join(str(speed) for speed in VOICE_SPEEDS),
        )
    return float(value)


def update(user: User, changes: dict) -> User:
    """Applies display_name, locale and/or voice_speed; nothing is saved unless all are valid."""
    known = {"display_name", "locale", "voice_speed"}
    if not changes or not set(changes) <= known:
        raise InvalidInput(
            N_("send display_name, locale and/or voice_speed, nothing else"),
            code="profile_invalid",
        )
    values = {}
    if "display_name" in changes:
        values["display_name"] = names.clean_display_name(changes["display_name"])
        values["display_name_key"] = names.username_key(values["display_name"])
    if "locale" in changes:
        values["locale"] = clean_locale(changes["locale"])
    if "voice_speed" in changes:
        values["voice_speed"] = clean_voice_speed(changes["voice_speed"])
    for field, value in values.items():
        setattr(user, field, value)
    db.session.commit()
    return user
