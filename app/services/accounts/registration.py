"""The registration mode (open, invite, closed): the environment's default, an admin's override.

An admin's choice is a `site_settings` row, so it holds for every app process at once and
survives restarts; without a row the REGISTRATION_MODE setting applies.
"""

from app.config import REGISTRATION_MODES
from app.extensions import db
from app.models import SiteSetting, utcnow
from app.services.errors import N_, InvalidInput

KEY = "registration_mode"


def mode(default: str) -> str:
    """The mode in force: the stored override if there is one, else `default`."""
    row = db.session.get(SiteSetting, KEY)
    return row.value if row is not None and row.value in REGISTRATION_MODES else default


def set_mode(value: object) -> str:
    if not isinstance(value, str) or value not in REGISTRATION_MODES:
        raise InvalidInput(
            N_("mode must be one of: %(choices)s"),
            code="registration_mode_invalid",
            choices=", ".join(REGISTRATION_MODES),
        )
    row = db.session.get(SiteSetting, KEY)
    if row is None:
        db.session.add(SiteSetting(key=KEY, value=value))
    else:
        row.value, row.updated_at = value, utcnow()
    db.session.commit()
    return value


def overridden() -> bool:
    return db.session.get(SiteSetting, KEY) is not None
