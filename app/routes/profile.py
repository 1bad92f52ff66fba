"""The person's own settings: PATCH /api/me (display name, language), PUT /api/locale."""

from flask import Blueprint, current_app, jsonify
from flask_login import current_user, login_required

from app.extensions import db
from app.i18n import LOCALE_COOKIE, LOCALE_COOKIE_MAX_AGE
from app.routes import json_body
from app.services.accounts import accounts, profile

bp = Blueprint("profile", __name__)


@bp.patch("/me")
@login_required
def update_me():
    user = profile.update(current_user, json_body())
    return jsonify(accounts.serialize(user))


@bp.put("/locale")
def set_locale():
    """The language switcher: remembered on the account when logged in, and in a cookie."""
    body = json_body()
    tag = profile.clean_locale(body.get("locale", ""))
    if current_user.is_authenticated:
        current_user.locale = tag
        db.session.commit()
    response = jsonify(locale=tag)
    if tag is None:
        response.delete_cookie(LOCALE_COOKIE)
    else:
        response.set_cookie(
            LOCALE_COOKIE,
            tag,
            max_age=LOCALE_COOKIE_MAX_AGE,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
