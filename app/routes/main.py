"""Pages, the health check, and voice files under /uploads."""

import re

from flask import (
    Blueprint,
    Response,
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

from app import jobs
from app.extensions import db
from app.models import ChatMessage
from app.routes import local_path
from app.services import conversations, health, metrics, voice

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
    return render_template("login.html", next_path=next_path)


@bp.get("/chat")
@login_required
def chat():
    return render_template("chat.html")


@bp.get("/healthz")
def healthz():
    report = health.check(current_app.config["SETTINGS"])
    return jsonify(report), 200 if report["status"] == "ok" else 503


@bp.get("/metrics")
def metrics_text():
    """Prometheus exposition: loopback and METRICS_ALLOWED_NETWORKS only, 404 for others."""
    settings = current_app.config["SETTINGS"]
    if not metrics.may_read(request.remote_addr, settings.metrics_allowed_networks):
        abort(404)
    body = metrics.exposition(health.check(settings), jobs.queue_depth(settings))
    return Response(body, mimetype=None, content_type=metrics.CONTENT_TYPE)


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
