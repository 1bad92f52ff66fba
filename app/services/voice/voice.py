"""Voice messages: keep the raw upload, then transcode it to m4a, else mp3, else keep raw."""

import errno
import json
import logging
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.extensions import db
from app.models import ChatMessage, Conversation, ConversationParticipant, User, utcnow
from app.services import metrics, storage
from app.services.chat import client_keys, messages
from app.services.errors import N_, InvalidInput, ServiceError, UnsupportedMedia
from app.services.storage import naming
from app.services.voice import media

URL_PREFIX = naming.URL_PREFIX
MAX_CLIENT_DURATION = 24 * 3600

log = logging.getLogger(__name__)


NO_ROOM = N_("the server has no room for this recording; try again later")


class StorageFull(ServiceError):
    status = 507
    code = "storage_full"


def chat_dir(settings) -> Path:
    """The local folder uploads are written to first (and, on local storage, kept in)."""
    return storage.backend(settings).scratch_dir


def receive(
    upload, conversation: Conversation, sender: User, settings, client_id: object = None
) -> tuple[ChatMessage, bool]:
    """Save and check an uploaded recording; the message starts out playing the raw file.

    (the message, True if stored now; False: a repeat of an upload already stored, found by
    its client key before anything is written).
    """
    key = client_keys.parse(client_id)
    sent_digest = client_keys.digest(conversation.id, "audio", upload_chunks(upload))
    sender_id = sender.id  # read now: a refused commit leaves `sender` unreadable
    found = client_keys.stored(sender_id, key, sent_digest)
    if found is not None:
        return found, False
    media_key = naming.new_key()
    store = storage.backend(settings)
    raw, info = store_upload(upload, store, media_key, settings)
    content = voice_content(raw, None, None, info.duration)
    try:
        message = messages.create(
            conversation, sender, "audio", json.dumps(content), media_key,
            transcode_state="pending", storage=settings.storage_backend,
            client_id=key, client_digest=sent_digest,
        )  # fmt: skip
    except SQLAlchemyError as error:
        db.session.rollback()
        storage.forget(store, raw)  # the commit failed: no message points at the file
        if key is None or not isinstance(error, IntegrityError):
            raise
        return client_keys.race_winner(error, sender_id, key, sent_digest), False
    return message, True


def store_upload(upload, store, media_key: str, settings) -> tuple[str, media.Probe]:
    """Writes the upload, probes it and stores it as the raw file: (its name, its probe)."""
    folder = store.scratch_dir
    ensure_room(folder, upload_size(upload), settings)
    incoming = folder / naming.incoming_name(media_key)
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
    raw = naming.raw_name(media_key, info.raw_extension)
    metrics.UPLOADS.inc()
    metrics.UPLOAD_BYTES.inc(incoming.stat().st_size)
    try:
        store.save(raw, incoming)  # consumes `incoming`, stored or not
    finally:
        incoming.unlink(missing_ok=True)
    return raw, info


# A voice file's first request asks this (later ones Nginx answers from its kept decision):
# the message's backend if the listener takes part in its conversation, in one query.
LISTENERS_STORAGE = (
    db.select(ChatMessage.storage)
    .join(
        ConversationParticipant,
        ConversationParticipant.conversation_id == ChatMessage.conversation_id,
    )
    .where(
        ChatMessage.media_key == bindparam("media_key"),
        ConversationParticipant.user_id == bindparam("user_id"),
    )
)


def storage_for_listener(media_key: str, user_id: int, settings):
    """The backend of the voice message with this key if the user may hear it, else None."""
    found = db.session.execute(
        LISTENERS_STORAGE, {"media_key": media_key, "user_id": user_id}
    ).one_or_none()
    return None if found is None else storage.backend_of(found, settings)


def sweep_orphans(settings, older_than: timedelta) -> list[str]:
    """Remove stored files of no message, older than `older_than`; the names removed.

    An upload stores its raw file before its message exists, and a store that timed
    out may still complete on the server: such files belong to nobody. The grace
    period keeps uploads in flight.
    """
    store = storage.backend(settings)
    cutoff = datetime.now(UTC) - older_than
    candidates = [name for name, modified in store.listing() if modified <= cutoff]
    keys = {naming.key_of(name) for name in candidates}
    known = set(
        db.session.execute(
            db.select(ChatMessage.media_key).where(ChatMessage.media_key.in_(keys))
        ).scalars()
    )
    removed = [name for name in candidates if naming.key_of(name) not in known]
    for name in removed:
        store.delete(name)
        log.warning("removed orphaned voice file %s", name)
    return removed


def upload_chunks(upload, chunk_bytes: int = 1 << 20):
    """The uploaded file's bytes in chunks, leaving its stream where it was."""
    stream = upload.stream
    position = stream.tell()
    stream.seek(0)
    while chunk := stream.read(chunk_bytes):
        yield chunk
    stream.seek(position)


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
    """For /healthz: "ok", or why uploads are being refused (scratch space is local)."""
    free = shutil.disk_usage(chat_dir(settings)).free
    if free < settings.upload_min_free_bytes:
        return f"error: {free} bytes free, below the {settings.upload_min_free_bytes} reserve"
    return "ok"


def transcode(message_id: int, settings) -> dict:
    """m4a first; mp3 if that fails; raw alone if both fail. Idempotent.

    ffmpeg works on local files: the raw file is fetched into a private copy, the
    outputs are made and verified locally, then stored. Storage being unreachable is
    raised (StorageUnavailable), never mistaken for a bad recording: the job retries.
    """
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.type != "audio":
        raise InvalidInput(N_("no voice message %(id)s"), id=message_id)
    if message.recalled_at is not None:
        return {}  # recalled while queued: its files are gone, nothing to make
    content = json.loads(message.content)
    if message.transcode_state != "pending":
        return content
    store = storage.backend_of(message, settings)
    raw_name = naming.name_of(content["url_raw"])
    limits = media.MediaLimits.from_settings(settings)
    with store.open_local(raw_name) as raw:
        produced, duration, peaks = make_outputs(message, raw, content["duration"], limits)
        for name, path in produced.items():
            store.save(name, path)
        if not produced:
            log.warning("voice message %s: keeping only the raw file %s", message_id, raw_name)
        names = {name.rsplit(".", 1)[1]: name for name in produced}
        content = voice_content(raw_name, names.get("m4a"), names.get("mp3"), duration)
        content.update({"waveform": peaks} if peaks else waveform_field(raw, limits, message_id))
    settle(message, content, "done" if produced else "failed")
    return content


def make_outputs(message, raw: Path, expected: float, limits) -> tuple[dict, float, list]:
    """({stored name: local verified file}, duration, waveform peaks): m4a, else mp3, else
    nothing (and no peaks)."""
    for extension, convert in (("m4a", media.to_m4a), ("mp3", media.to_mp3)):
        name = naming.output_name(message.media_key, extension)
        # Beside the raw copy: on local storage that is the stored file's own folder.
        target = raw.parent / name
        started = time.perf_counter()
        try:
            peaks = convert(raw, target, limits)
            duration = media.verify_output(target, expected, limits)
        except (media.MediaError, OSError) as error:
            target.unlink(missing_ok=True)  # never publish a half-written file
            metrics.observe_transcode(extension, "error", started)
            log.warning("voice message %s: %s transcode failed: %s", message.id, extension, error)
            continue
        metrics.observe_transcode(extension, "ok", started)
        return {name: target}, duration, peaks
    return {}, expected, []


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
    messages.commit_change(message)


def pending_message_ids(older_than: timedelta = timedelta(0)) -> list[int]:
    """Voice messages not transcoded yet, created at least `older_than` ago."""
    query = db.select(ChatMessage.id).where(
        ChatMessage.transcode_state == "pending", ChatMessage.created_at <= utcnow() - older_than
    )
    return list(db.session.execute(query).scalars())


def voice_content(raw: str, m4a: str | None, mp3: str | None, duration: float) -> dict:
    """The seed's content shape; `url` is the best of m4a > mp3 > raw."""
    urls = {
        name: naming.url(value) if value else None
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
