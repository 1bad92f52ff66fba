"""Voice messages: keep the raw upload, then transcode it to m4a, else mp3, else keep raw."""

import errno
import json
import logging
import os
import secrets
import shutil
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import ChatMessage, Conversation, User, utcnow
from app.services import media, messages, metrics
from app.services.errors import N_, InvalidInput, ServiceError, UnsupportedMedia

URL_PREFIX = "/uploads/chat/"
MAX_CLIENT_DURATION = 24 * 3600

log = logging.getLogger(__name__)


NO_ROOM = N_("the server has no room for this recording; try again later")


class StorageFull(ServiceError):
    status = 507
    code = "storage_full"


def chat_dir(settings) -> Path:
    return Path(settings.upload_dir) / "chat"


def receive(upload, conversation: Conversation, sender: User, settings) -> ChatMessage:
    """Save and check an uploaded recording; the message starts out playing the raw file."""
    key = secrets.token_hex(16)
    folder = chat_dir(settings)
    ensure_room(folder, upload_size(upload), settings)
    incoming = folder / f".{key}.incoming"
    try:
        upload.save(incoming)
    except OSError as error:
        incoming.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(NO_ROOM) from None
        raise
    try:
        info = media.probe(incoming, media.MediaLimits.from_settings(settings))
    except media.MediaError as error:
        incoming.unlink(missing_ok=True)
        raise UnsupportedMedia(str(error)) from None  # media marks its messages with N_
    raw = folder / f"{key}-raw.{info.raw_extension}"
    metrics.UPLOADS.inc()
    metrics.UPLOAD_BYTES.inc(incoming.stat().st_size)
    os.replace(incoming, raw)
    content = voice_content(raw.name, None, None, info.duration)
    try:
        return messages.create(
            conversation, sender, "audio", json.dumps(content), key, transcode_state="pending"
        )
    except SQLAlchemyError:
        db.session.rollback()
        raw.unlink(missing_ok=True)  # the commit failed: no message points at the file
        raise


def upload_size(upload) -> int:
    """Bytes of the uploaded file (Werkzeug has it in memory or a temporary file)."""
    stream = upload.stream
    position = stream.tell()
    size = stream.seek(0, os.SEEK_END)
    stream.seek(position)
    return size


def ensure_room(folder: Path, incoming_bytes: int, settings) -> None:
    """Refuse a recording that would leave less than the reserve free: text must still fit."""
    free = shutil.disk_usage(folder).free
    if free - incoming_bytes < settings.upload_min_free_bytes:
        log.warning("upload refused: %s bytes free in %s, reserve %s",
                    free, folder, settings.upload_min_free_bytes)  # fmt: skip
        raise StorageFull(NO_ROOM)


def room_report(settings) -> str:
    """For /healthz: "ok", or why uploads are being refused."""
    free = shutil.disk_usage(chat_dir(settings)).free
    if free < settings.upload_min_free_bytes:
        return f"error: {free} bytes free, below the {settings.upload_min_free_bytes} reserve"
    return "ok"


def transcode(message_id: int, settings) -> dict:
    """m4a first; mp3 if that fails; raw alone if both fail. Idempotent."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.type != "audio":
        raise InvalidInput(N_("no voice message %(id)s"), id=message_id)
    content = json.loads(message.content)
    if message.transcode_state != "pending":
        return content
    limits = media.MediaLimits.from_settings(settings)
    folder = chat_dir(settings)
    raw = folder / content["url_raw"].removeprefix(URL_PREFIX)
    produced, duration = {}, content["duration"]
    for extension, convert in (("m4a", media.to_m4a), ("mp3", media.to_mp3)):
        target = folder / f"{message.media_key}.{extension}"
        started = time.perf_counter()
        try:
            convert(raw, target, limits)
            duration = media.verify_output(target, content["duration"], limits)
        except (media.MediaError, OSError) as error:
            target.unlink(missing_ok=True)  # never publish a half-written file
            metrics.observe_transcode(extension, "error", started)
            log.warning("voice message %s: %s transcode failed: %s", message_id, extension, error)
            continue
        metrics.observe_transcode(extension, "ok", started)
        produced[extension] = target
        break
    if not produced:
        log.warning("voice message %s: keeping only the raw file %s", message_id, raw.name)
    content = voice_content(
        raw.name,
        produced.get("m4a") and produced["m4a"].name,
        produced.get("mp3") and produced["mp3"].name,
        duration,
    )
    content.update(waveform_field(raw, limits, message_id))
    settle(message, content, "done" if produced else "failed")
    return content


def waveform_field(raw: Path, limits, message_id: int) -> dict:
    """{"waveform": [peaks]} for the player, or nothing: a message plays without one."""
    try:
        return {"waveform": media.waveform(raw, limits)}
    except (media.MediaError, OSError) as error:
        log.warning("voice message %s: no waveform: %s", message_id, error)
        return {}


def settle(message: ChatMessage, content: dict, state: str) -> None:
    message.content = json.dumps(content)
    message.transcode_state = state
    db.session.commit()
    messages.publish(message, "message_updated")


def pending_message_ids(older_than: timedelta = timedelta(0)) -> list[int]:
    """Voice messages not transcoded yet, created at least `older_than` ago."""
    query = db.select(ChatMessage.id).where(
        ChatMessage.transcode_state == "pending", ChatMessage.created_at <= utcnow() - older_than
    )
    return list(db.session.execute(query).scalars())


def voice_content(raw: str, m4a: str | None, mp3: str | None, duration: float) -> dict:
    """The seed's content shape; `url` is the best of m4a > mp3 > raw."""
    urls = {
        name: URL_PREFIX + value if value else None
        for name, value in (("url_raw", raw), ("url_m4a", m4a), ("url_mp3", mp3))
    }
    best = urls["url_m4a"] or urls["url_mp3"] or urls["url_raw"]
    return {"url": best, **urls, "duration": duration}


def upload_response(message: ChatMessage) -> dict:
    content = json.loads(message.content)
    return {
        **messages.serialize(message),
        "url_raw": content["url_raw"],
        "url_m4a": content["url_m4a"],
        "url_mp3": content["url_mp3"],
        "transcoded": bool(content["url_m4a"] or content["url_mp3"]),
    }


def parse_client_duration(value: object) -> float | None:
    """The recorder's own estimate, kept only for logging: decoding is authoritative."""
    if value in (None, ""):
        return None
    try:
        duration = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(N_("duration must be a number of seconds")) from None
    if not 0 <= duration <= MAX_CLIENT_DURATION:
        raise InvalidInput(N_("duration is out of range"))
    return duration
