"""Administration: the /admin page and the JSON API under /api/admin/ (admins only).

Everyone else, logged in or not, gets the same 404 as for a page that does not exist, so
the area is not advertised. The admin check runs before the CSRF check for that reason;
state-changing calls from admins are then CSRF-checked as everywhere else.
"""

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_login import current_user

from app.extensions import csrf
from app.routes import int_value, json_body
from app.services.accounts import invites, registration
from app.services.operations import administration, served_certificate

bp = Blueprint("admin", __name__)
pages = Blueprint("admin_pages", __name__)


def _admins_only() -> None:
    if not (current_user.is_authenticated and current_user.is_admin):
        abort(404)
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        csrf.protect()


bp.before_request(_admins_only)
pages.before_request(_admins_only)
csrf.exempt(bp)


@pages.get("/admin")
def admin_page():
    settings = current_app.config["SETTINGS"]
    return render_template("admin.html", certificate=served_certificate.warning(settings))


@bp.get("/users")
def list_users():
    page = int_value(request.args.get("page"), "page", required=False)
    per_page = int_value(request.args.get("per_page"), "per_page", required=False)
    page = 1 if page is None else page
    per_page = administration.DEFAULT_PAGE_SIZE if per_page is None else per_page
    users, total = administration.page_of_users(page, per_page)
    return jsonify(
        users=[administration.serialize(user) for user in users],
        page=page,
        per_page=per_page,
        total=total,
    )


@bp.post("/users/<row_id:user_id>/disable")
def disable_user(user_id: int):
    user = administration.disable(administration.get(user_id), by=current_user)
    return jsonify(administration.serialize(user))


@bp.post("/users/<row_id:user_id>/enable")
def enable_user(user_id: int):
    user = administration.enable(administration.get(user_id))
    return jsonify(administration.serialize(user))


@bp.get("/invites")
def list_invites():
    return jsonify(invites=[invites.serialize(invite) for invite in invites.all_invites()])


@bp.post("/invites")
def create_invite():
    body = json_body()
    invite, token = invites.create(body.get("uses"), body.get("expires"), by=current_user)
    base = current_app.config["SETTINGS"].public_url or request.host_url
    answer = {**invites.serialize(invite), "token": token, "link": invites.link(token, base)}
    return jsonify(answer), 201


@bp.post("/invites/<row_id:invite_id>/revoke")
def revoke_invite(invite_id: int):
    return jsonify(invites.serialize(invites.revoke(invite_id)))


@bp.get("/registration")
def get_registration():
    default = current_app.config["SETTINGS"].registration_mode
    return jsonify(mode=registration.mode(default), default=default)


@bp.put("/registration")
def set_registration():
    mode = registration.set_mode(json_body().get("mode"))
    return jsonify(mode=mode, default=current_app.config["SETTINGS"].registration_mode)
