"""Accounts API: CSRF token, register, log in, log out (here or everywhere), password."""

from flask import Blueprint, current_app, jsonify, request, session
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from app.extensions import limiter
from app.routes import json_body
from app.routes.errors import json_error
from app.services.accounts import accounts, login_throttle, registration, sessions

bp = Blueprint("auth", __name__)

DEVICE_COOKIE = "natter_device"
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600


@bp.get("/auth/csrf")
def csrf_token():
    return jsonify(csrf_token=generate_csrf())


@bp.post("/auth/register")
@limiter.limit(lambda: current_app.config["SETTINGS"].ratelimit_register)
def register():
    body = json_body()
    mode = registration.mode(current_app.config["SETTINGS"].registration_mode)
    user = accounts.register(
        body.get("username"),
        body.get("password"),
        body.get("display_name"),
        invite=body.get("invite"),
        mode=mode,
    )
    return _logged_in(user, 201)


@bp.post("/auth/login")
@limiter.limit(lambda: current_app.config["SETTINGS"].ratelimit_login)
def login():
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return json_error(gettext("wrong username or password"), "wrong_credentials", 401)
    secret = current_app.config["SECRET_KEY"]
    key = login_throttle.key_for(secret, username, request.cookies.get(DEVICE_COOKIE))
    try:
        login_throttle.check(key)
    except login_throttle.Throttled as wait:
        text = ngettext(
            "too many failed logins; try again in %(num)d second",
            "too many failed logins; try again in %(num)d seconds",
            wait.retry_after,
        )
        response = json_error(text, "login_throttled", 429)
        response.headers["Retry-After"] = str(wait.retry_after)
        return response
    user = accounts.authenticate(username, password)
    if user is None:
        login_throttle.record_failure(key)
        return json_error(gettext("wrong username or password"), "wrong_credentials", 401)
    if user.disabled_at is not None:  # told only to whoever knows the password
        text = gettext("this account is disabled; ask an admin")
        return json_error(text, "account_disabled", 403)
    login_throttle.record_success(key)
    response = _logged_in(user, 200)
    response.set_cookie(
        DEVICE_COOKIE,
        login_throttle.device_token(secret, user.username),
        max_age=DEVICE_COOKIE_SECONDS,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.post("/auth/logout")
def logout():
    sessions.end(session.get(sessions.COOKIE_KEY))
    logout_user()
    session.clear()
    return jsonify(ok=True, csrf_token=generate_csrf())


@bp.post("/auth/logout_all")
@login_required
def logout_all():
    ended = sessions.end_all(current_user)
    logout_user()
    session.clear()
    return jsonify(ok=True, sessions_ended=ended, csrf_token=generate_csrf())


@bp.post("/auth/password")
@login_required
def change_password():
    body = json_body()
    accounts.change_password(current_user, body.get("current_password"), body.get("new_password"))
    ended = sessions.end_all(current_user, keep_token=session.get(sessions.COOKIE_KEY))
    return jsonify(ok=True, other_sessions_ended=ended)


@bp.get("/me")
@login_required
def me():
    return jsonify(accounts.serialize(current_user))


def _logged_in(user, status: int):
    """A fresh session (no fixation: nothing of the old one survives) and a new CSRF token."""
    session.clear()
    session[sessions.COOKIE_KEY] = sessions.start(user)
    session.permanent = True
    login_user(user)
    response = jsonify({**accounts.serialize(user), "csrf_token": generate_csrf()})
    response.status_code = status
    return response
