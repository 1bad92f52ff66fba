"""Finding people: GET /api/users/search."""

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user, login_required

from app.extensions import limiter
from app.routes import int_value
from app.services.accounts import people

bp = Blueprint("users", __name__)


def search_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_search


def per_account() -> str:
    return f"user:{current_user.get_id()}"


@bp.get("/search")
@login_required
@limiter.limit(search_limit, key_func=per_account)
def search():
    limit = int_value(request.args.get("limit"), "limit", required=False)
    found, cursor = people.search(
        current_user, request.args.get("q"), limit, request.args.get("after")
    )
    return jsonify(users=[people.serialize(user) for user in found], next_after=cursor)
