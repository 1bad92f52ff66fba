"""Voice file names and media types: the one place that knows them.

A voice message owns a random key (32 hex digits). Its files are named by the server,
never by the client: `<key>-raw.<ext>` for the upload as received (the extension says
what ffmpeg found in it, whatever the client called it) and `<key>.<ext>` for each
transcode. Every backend keeps them under the folder (or key prefix) FOLDER, and the
browser fetches them at URL_PREFIX + name, where the app checks who may hear them.
"""

import re
import secrets

FOLDER = "chat"
URL_PREFIX = f"/uploads/{FOLDER}/"
# ffmpeg's demuxer name -> the raw file's extension (WebM/Matroska, Ogg, MP4, MP3, WAV).
RAW_EXTENSIONS = {"matroska": "webm", "ogg": "ogg", "mov": "m4a", "mp3": "mp3", "wav": "wav"}
# What each extension is sent as; browsers choose a player by this type.
AUDIO_TYPES = {
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "webm": "audio/webm",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
}
# Server-made names only. Anything else, traversal and hidden scratch files included,
# names no voice file.
NAME = re.compile(r"^([0-9a-f]{32})(?:-raw)?\.(m4a|mp3|webm|ogg|wav)$")


def new_key() -> str:
    return secrets.token_hex(16)


def raw_name(key: str, extension: str) -> str:
    return f"{key}-raw.{extension}"


def output_name(key: str, extension: str) -> str:
    return f"{key}.{extension}"


def incoming_name(key: str) -> str:
    """The scratch file an upload is written to before it is checked (hidden, never served)."""
    return f".{key}.incoming"


def key_of(name: str) -> str | None:
    """The message key a file name belongs to; None if it is not a voice file's name."""
    match = NAME.match(name)
    return match.group(1) if match else None


def media_type(name: str) -> str:
    return AUDIO_TYPES[name.rsplit(".", 1)[-1]]


def url(name: str) -> str:
    return URL_PREFIX + name


def name_of(url_or_path: str) -> str:
    """The file name in a message's URL (`/uploads/chat/<name>`) or an uploads path."""
    return url_or_path.rsplit("/", 1)[-1]


def names_in(content: dict) -> list[str]:
    """Every stored file a voice message's content points at."""
    return [name_of(content[k]) for k in ("url_raw", "url_m4a", "url_mp3") if content.get(k)]
