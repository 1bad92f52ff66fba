"""Pages, the health check, and voice files under /uploads."""

import re

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
from app.models import ChatMessage
from app.routes import local_path
from app.services import conversations, redis_link, voice

# Server-made names only: <32 hex>[-raw].<ext>. Anything else, traversal included, is 404.
VOICE_FILE = re.compile(r"^chat/([0-9a-f]{32})(?:-raw)?\.(m4a|mp3|webm|ogg|wav)$")
AUDIO_TYPES = {
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "webm": "audio/webm",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
}

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return redirect(url_for("main.chat" if current_user.is_authenticated else "main.login"))


@bp.get("/login")
def login():
    next_path = local_path(request.args.get("next"), url_for("main.chat"))
    # An invite link's token, carried into the register call; the API judges it.
    invite = request.args.get("invite", "")[:128]
    return render_template("login.html", next_path=next_path, invite=invite)


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
    if report["uploads"] != "ok":
        report["status"] = "error"
    return jsonify(report), 200 if report["status"] == "ok" else 503


@bp.get("/uploads/<path:filename>")
def uploaded_file(filename: str):
    """Participants only; everyone else, logged in or not, gets the same 404."""
    match = VOICE_FILE.match(filename)
    if match is None or not current_user.is_authenticated:
        abort(404)
    message = db.session.execute(
        db.select(ChatMessage).filter_by(media_key=match.group(1))
    ).scalar_one_or_none()
    if message is None or not conversations.is_participant(
        message.conversation_id, current_user.id
    ):
        abort(404)
    settings = current_app.config["SETTINGS"]
    path = voice.chat_dir(settings) / filename.removeprefix("chat/")
    if not path.is_file():
        abort(404)
    mimetype = AUDIO_TYPES[match.group(2)]
    if settings.uploads_accel_prefix:
        # Nginx sends the bytes (Range, caching) from its internal location.
        response = current_app.response_class(mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = settings.uploads_accel_prefix + filename
    else:
        response = send_file(path, mimetype=mimetype, conditional=True, max_age=3600)
        response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = "private, max-age=3600"
    # A voice file is never a page: nothing in it may run, even if opened directly.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
