"""Pages, the health check, and voice files under /uploads."""

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
from app.routes import local_path
from app.services import metrics, storage
from app.services.operations import health, served_certificate
from app.services.storage import naming
from app.services.voice import voice

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
    report = health.check(current_app.config["SETTINGS"])
    return jsonify(report), 200 if report["status"] == "ok" else 503


@bp.get("/metrics")
def metrics_text():
    """Prometheus exposition: loopback and METRICS_ALLOWED_NETWORKS only, 404 for others."""
    settings = current_app.config["SETTINGS"]
    if not metrics.may_read(request.remote_addr, settings.metrics_allowed_networks):
        abort(404)
    body = metrics.exposition(
        health.check(settings), jobs.queue_depth(settings), served_certificate.current(settings)
    )
    return Response(body, mimetype=None, content_type=metrics.CONTENT_TYPE)


# Nginx puts each /uploads/ request to this view first as an access check (auth_request):
# the answer is 200 naming the internal location of the file, or 403; Nginx keeps a 200
# a few seconds per session and file (roles/nginx, nginx_voice_access_cache_valid).
ACCESS_CHECK_HEADER = "X-Natter-Access-Check"
VOICE_TARGET_HEADER = "X-Natter-Voice-Target"


@bp.get("/uploads/<path:filename>")
def uploaded_file(filename: str):
    """Participants only; everyone else, logged in or not, gets the same 404."""
    delivery = _voice_delivery(filename)
    if request.headers.get(ACCESS_CHECK_HEADER) == "1":
        if delivery is None or not delivery.accel_redirect:
            return Response(status=403)
        return Response(status=200, headers={VOICE_TARGET_HEADER: delivery.accel_redirect})
    if delivery is None:
        abort(404)
    return voice_response(delivery, naming.media_type(filename))


def _voice_delivery(filename: str) -> storage.Delivery | None:
    folder, _, name = filename.partition("/")
    key = naming.key_of(name) if folder == naming.FOLDER else None
    if key is None or not current_user.is_authenticated:
        return None
    store = voice.storage_for_listener(key, current_user.id, current_app.config["SETTINGS"])
    if store is None:
        return None
    try:
        return store.serve(name)
    except storage.MissingFile:
        return None


def voice_response(delivery: storage.Delivery, mimetype: str):
    """Nginx's internal redirect, or the file itself (development); never a page."""
    if delivery.accel_redirect:
        # Nginx's internal location adds the caching and CSP headers.
        response = current_app.response_class(mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = delivery.accel_redirect
        return response
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
