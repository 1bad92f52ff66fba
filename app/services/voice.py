"""Voice messages: keep the raw upload, then transcode it to m4a, else mp3, else keep raw."""

import contextlib
import errno
import json
import logging
import os
import secrets
from pathlib import Path

from app.extensions import db
from app.models import ChatMessage, Conversation, User
from app.services import events, media, messages
from app.services.errors import InvalidInput, ServiceError, UnsupportedMedia

URL_PREFIX = "/uploads/chat/"
MAX_CLIENT_DURATION = 24 * 3600

log = logging.getLogger(__name__)


class StorageFull(ServiceError):
    status = 507


def chat_dir(settings) -> Path:
    return Path(settings.upload_dir) / "chat"


def receive(upload, conversation: Conversation, sender: User, settings) -> ChatMessage:
    """Save and check an uploaded recording; the message starts out playing the raw file."""
    key = secrets.token_hex(16)
    folder = chat_dir(settings)
    incoming = folder / f".{key}.incoming"
    try:
        upload.save(incoming)
    except OSError as error:
        incoming.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull("the server has no room for this recording; try later") from None
        raise
    try:
        info = media.probe(incoming, media.MediaLimits.from_settings(settings))
    except media.MediaError as error:
        incoming.unlink(missing_ok=True)
        raise UnsupportedMedia(str(error)) from None
    raw_name = f"{key}-raw.{info.raw_extension}"
    os.replace(incoming, folder / raw_name)
    content = voice_content(raw_name, None, None, info.duration)
    message = messages.create(conversation, sender, "audio", json.dumps(content), media_key=key)
    message.transcode_state = "pending"
    db.session.commit()
    return message


def transcode(message_id: int, settings) -> dict:
    """m4a first; mp3 if that fails; raw alone if both fail. Idempotent."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.type != "audio":
        raise InvalidInput(f"no voice message {message_id}")
    content = json.loads(message.content)
    if message.transcode_state != "pending":
        return content
    limits = media.MediaLimits.from_settings(settings)
    folder = chat_dir(settings)
    raw = folder / content["url_raw"].removeprefix(URL_PREFIX)
    produced = {}
    for extension, convert in (("m4a", media.to_m4a), ("mp3", media.to_mp3)):
        target = folder / f"{message.media_key}.{extension}"
        try:
            convert(raw, target, limits)
        except (media.MediaError, OSError) as error:
            log.warning("voice message %s: %s transcode failed: %s", message_id, extension, error)
            continue
        produced[extension] = target
        break
    duration = content["duration"]
    if produced:
        best = next(iter(produced.values()))
        with contextlib.suppress(media.MediaError):
            duration = media.decoded_duration(best, limits) or duration
    else:
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
    events.publish_message(message, "message_updated")


def pending_message_ids() -> list[int]:
    query = db.select(ChatMessage.id).where(ChatMessage.transcode_state == "pending")
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
        raise InvalidInput("duration must be a number of seconds") from None
    if not 0 <= duration <= MAX_CLIENT_DURATION:
        raise InvalidInput("duration is out of range")
    return duration
