"""Pages, the health check, and voice files under /uploads."""

import redis
from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import text

from app.extensions import db
from app.routes import local_path
from app.services import redis_link, storage, voice
from app.services.storage import naming

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return redirect(url_for("main.chat" if current_user.is_authenticated else "main.login"))


@bp.get("/login")
def login():
    next_path = local_path(request.args.get("next"), url_for("main.chat"))
    return render_template("login.html", next_path=next_path)


@bp.get("/chat")
@login_required
def chat():
    return render_template("chat.html")


@bp.get("/healthz")
def healthz():
    report = {"status": "ok", "database": "ok", "redis": "disabled"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure makes the host unhealthy
        report.update(status="error", database=f"error: {error.__class__.__name__}")
    settings = current_app.config["SETTINGS"]
    if settings.redis_url:
        try:
            redis_link.client(settings.redis_url, settings).ping()
            report["redis"] = "ok"
        except redis.RedisError as error:
            report.update(status="error", redis=f"error: {error.__class__.__name__}")
    report["uploads"] = voice.room_report(settings)
    report["storage"] = f"{settings.storage_backend}: " + storage.backend(settings).health()
    if report["uploads"] != "ok" or not report["storage"].endswith(": ok"):
        report["status"] = "error"
    return jsonify(report), 200 if report["status"] == "ok" else 503


@bp.get("/uploads/<path:filename>")
def uploaded_file(filename: str):
    """Participants only; everyone else, logged in or not, gets the same 404."""
    folder, _, name = filename.partition("/")
    key = naming.key_of(name) if folder == naming.FOLDER else None
    if key is None or not current_user.is_authenticated:
        abort(404)
    store = voice.storage_for_listener(key, current_user.id, current_app.config["SETTINGS"])
    if store is None:
        abort(404)
    try:
        delivery = store.serve(name)
    except storage.MissingFile:
        abort(404)
    return voice_response(delivery, naming.media_type(name))


def voice_response(delivery: storage.Delivery, mimetype: str):
    """Nginx's internal redirect, or the file itself (development); never a page."""
    if delivery.accel_redirect:
        response = current_app.response_class(mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = delivery.accel_redirect
    else:
        response = send_file(
            delivery.file,
            mimetype=mimetype,
            conditional=True,
            etag=delivery.etag or True,
            last_modified=delivery.last_modified,
            max_age=3600,
        )
        response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = "private, max-age=3600"
    # A voice file is never a page: nothing in it may run, even if opened directly.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
