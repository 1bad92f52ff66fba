"""Accounts API: CSRF token, register, log in, log out, who am I."""

from flask import Blueprint, current_app, jsonify
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from app.extensions import limiter
from app.routes import json_body
from app.routes.errors import json_error
from app.services import accounts

bp = Blueprint("auth", __name__)


@bp.get("/auth/csrf")
def csrf_token():
    return jsonify(csrf_token=generate_csrf())


@bp.post("/auth/register")
@limiter.limit(lambda: current_app.config["SETTINGS"].ratelimit_register)
def register():
    body = json_body()
    user = accounts.register(body.get("username"), body.get("password"), body.get("display_name"))
    login_user(user)
    return jsonify(accounts.serialize(user)), 201


@bp.post("/auth/login")
@limiter.limit(lambda: current_app.config["SETTINGS"].ratelimit_login)
def login():
    body = json_body()
    user = accounts.authenticate(body.get("username"), body.get("password"))
    if user is None:
        return json_error(gettext("wrong username or password"), "wrong_credentials", 401)
    login_user(user)
    return jsonify(accounts.serialize(user))


@bp.post("/auth/logout")
def logout():
    logout_user()
    return jsonify(ok=True)


@bp.get("/me")
@login_required
def me():
    return jsonify(accounts.serialize(current_user))
