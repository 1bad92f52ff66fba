"""Chat API: conversations, messages, live events, voice uploads."""

import queue
import select
import socket
import time

from flask import Blueprint, Response, current_app, jsonify, request, session
from flask_login import current_user, login_required

from app import jobs
from app.extensions import db, limiter
from app.routes import int_value, json_body
from app.services import events
from app.services.accounts import sessions
from app.services.chat import (
    changes,
    conversations,
    heard,
    history,
    message_changes,
    messages,
    read_state,
)
from app.services.errors import N_, InvalidInput, Unavailable
from app.services.voice import voice

bp = Blueprint("chat", __name__)

# Comment lines keep idle proxies and browsers from closing a quiet stream.
HEARTBEAT_SECONDS = 15
# How often an idle stream checks that its client is still there: a closed tab frees its
# stream within this long, not at the next heartbeat.
DEAD_CHECK_SECONDS = 2
# Streams end after this long and the browser reconnects with Last-Event-ID, so no
# connection (or the worker's memory for it) lives forever.
STREAM_SECONDS = 300


def post_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_post


@bp.before_request
@login_required
def require_login():
    """Every chat endpoint needs a logged-in user."""


def conversation_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_conversation


def per_account() -> str:
    return f"user:{current_user.id}"


@bp.post("/conversations")
@limiter.limit(conversation_limit, key_func=per_account)
def create_conversation():
    body = json_body()
    conversation, created = conversations.create(
        current_user, body.get("participants"), body.get("title")
    )
    return jsonify(conversations.serialize(conversation)), 201 if created else 200


@bp.get("/conversations")
def list_conversations():
    unheard = heard.unheard_counts(current_user)
    items = [
        {**summary, "unheard": unheard.get(summary["id"], 0)}
        for summary in read_state.summaries(current_user)
    ]
    return jsonify(conversations=items)


@bp.post("/read")
def mark_read():
    body = json_body()
    conversation_id = int_value(body.get("conversation_id"), "conversation_id")
    message_id = int_value(body.get("message_id"), "message_id")
    return jsonify(read_state.mark_read(current_user, conversation_id, message_id))


@bp.get("/messages")
def list_messages():
    conversation_id = int_value(request.args.get("conversation_id"), "conversation_id")
    after_id = int_value(request.args.get("after_id"), "after_id", required=False)
    before_id = int_value(request.args.get("before_id"), "before_id", required=False)
    limit = int_value(request.args.get("limit"), "limit", required=False)
    changes_after = int_value(request.args.get("changes_after"), "changes_after", required=False)
    conversation = conversations.get_for_participant(conversation_id, current_user)
    # Read before the page: a change saved in between is then in both, never in neither.
    following_from = changes.latest_id() if changes_after is None else changes_after
    body = {"messages": history.page(conversation, after_id, before_id, limit)}
    if changes_after is not None:
        body["changes"] = changes.in_conversation(conversation.id, changes_after)
        following_from = changes.cursor(body["changes"], changes_after)
    return jsonify({**body, "last_change_id": following_from})


@bp.post("/messages")
@limiter.limit(post_limit)
def post_message():
    body = json_body()
    conversation_id = int_value(body.get("conversation_id"), "conversation_id")
    conversation = conversations.get_for_participant(conversation_id, current_user)
    message, created = messages.post_text(
        conversation, current_user, body.get("content"), body.get("client_id")
    )
    return jsonify(messages.serialize(message)), 201 if created else 200


@bp.put("/messages/<message_id>/heard")
def mark_heard(message_id):
    """The player reports that this person heard a voice message (idempotent)."""
    record, created = heard.mark(int_value(message_id, "message_id"), current_user)
    return jsonify(record), 201 if created else 200


@bp.patch("/messages/<row_id:message_id>")
@limiter.limit(post_limit)
def edit_message(message_id: int):
    body = json_body()
    settings = current_app.config["SETTINGS"]
    message = message_changes.edit(message_id, current_user, body.get("content"), settings)
    return jsonify(messages.serialize(message))


@bp.post("/messages/<row_id:message_id>/recall")
@limiter.limit(post_limit)
def recall_message(message_id: int):
    settings = current_app.config["SETTINGS"]
    message = message_changes.recall(message_id, current_user, settings)
    return jsonify(messages.serialize(message))


def upload_limit() -> str:
    return current_app.config["SETTINGS"].ratelimit_upload


@bp.post("/messages/upload_audio")
@limiter.limit(upload_limit)
def upload_audio():
    conversation_id = int_value(request.form.get("conversation_id"), "conversation_id")
    conversation = conversations.get_for_participant(conversation_id, current_user)
    upload = request.files.get("file")
    if upload is None or not upload.filename and not upload.content_length:
        raise InvalidInput(N_("attach the recording as the multipart field 'file'"))
    voice.parse_client_duration(request.form.get("duration"))
    settings = current_app.config["SETTINGS"]
    message, created = voice.receive(
        upload, conversation, current_user, settings, request.form.get("client_id")
    )
    if created:  # a repeat's transcode was dispatched by the send that stored it
        jobs.dispatch(message.id)
        db.session.refresh(message)
    return jsonify(voice.upload_response(message)), 201 if created else 200


@bp.get("/events")
def event_stream():
    user_id = current_user.id
    last_id = int_value(
        request.headers.get("Last-Event-ID") or request.args.get("after_id"),
        "Last-Event-ID",
        required=False,
    )
    changes_after = int_value(request.args.get("changes_after"), "changes_after", required=False)
    hub = events.hub()
    if not hub.live():
        raise Unavailable(events.PAUSED)
    subscription = hub.subscribe(user_id, sessions.token_hash(session[sessions.COOKIE_KEY]))
    replay_from, changes_from = hub.resume_from(last_id, changes_after)
    backlog = []
    if last_id is not None:
        missed = history.missed_by(user_id, last_id, replay_from)
        backlog += [("message", m) for m in missed]
    if changes_from is not None:
        backlog += [("message_updated", m) for m in changes.for_participant(user_id, changes_from)]
    db.session.remove()  # the stream holds no database connection while it idles
    client_socket = request.environ.get("gunicorn.socket")

    def stream():
        try:
            yield "retry: 3000\n: connected\n\n"
            for event, item in backlog:
                yield events.format_sse(event, item)
            deadline = time.monotonic() + STREAM_SECONDS
            next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
            while time.monotonic() < deadline:
                try:
                    event = subscription.inbox.get(timeout=DEAD_CHECK_SECONDS)
                except queue.Empty:
                    if client_gone(client_socket):
                        return
                    if time.monotonic() >= next_heartbeat:
                        hub.refresh(subscription)
                        next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
                        yield ": keep-alive\n\n"
                    continue
                if event is None:
                    yield events.format_sse("stream_closed", {"reason": subscription.closed_reason})
                    return
                yield events.format_sse(event["event"], event["data"])
        finally:
            hub.unsubscribe(subscription)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream(), mimetype="text/event-stream", headers=headers)


def client_gone(client_socket) -> bool:
    """True once the client (or Nginx) has closed the connection, without writing to it."""
    if client_socket is None:
        return False
    try:
        readable, _, _ = select.select([client_socket], [], [], 0)
        # A closed peer reads as end-of-file; a live one has nothing to read.
        return bool(readable) and client_socket.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
