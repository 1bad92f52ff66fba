"""The storage interface every backend implements (Zulip's zerver/lib/upload/base.py).

Names are the file names of naming.py. ffmpeg only ever sees local files: a backend
hands out a private local copy to read (`open_local`) and takes finished local files in
(`save`). `serve` says how the bytes reach the browser once the app has authorised the
request: an Nginx internal redirect in production, a file the app sends in development.
"""

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from app.services.errors import N_, NotFound, Unavailable

UNAVAILABLE = N_("voice storage is unreachable right now; try again in a moment")


class StorageUnavailable(Unavailable):
    """The backend did not answer (or answered with a server error): retry later."""

    code = "storage_unavailable"

    def __init__(self, message: str = UNAVAILABLE):
        super().__init__(message)


class MissingFile(NotFound):
    """No stored file has this name."""


@dataclass(frozen=True)
class Delivery:
    """How a voice file is sent: Nginx's internal redirect, or a file the app sends."""

    accel_redirect: str | None = None
    file: Path | IO[bytes] | None = None
    etag: str | None = None
    last_modified: datetime | None = None


class Storage(ABC):
    """One place voice files live. Every method may raise StorageUnavailable."""

    name = "base"

    @property
    @abstractmethod
    def scratch_dir(self) -> Path:
        """A local folder on the upload's filesystem for files not stored yet."""

    @abstractmethod
    def save(self, name: str, source: Path) -> None:
        """Store the local file `source` as `name`; `source` is consumed (moved or removed)."""

    @abstractmethod
    def open_local(self, name: str) -> AbstractContextManager[Path]:
        """A local path holding `name`'s bytes while the block runs; MissingFile if none."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove `name`; removing a missing file is not an error."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def serve(self, name: str) -> Delivery:
        """How to send `name` (already authorised); MissingFile if it is not stored."""

    @abstractmethod
    def health(self) -> str:
        """For /healthz: "ok", or "error: <why>"."""

    @abstractmethod
    def listing(self) -> Iterator[tuple[str, datetime]]:
        """(name, last modified) of every stored voice file."""

    def checksum(self, name: str) -> str:
        """SHA-256 of the stored bytes (hex), read back from the backend."""
        digest = hashlib.sha256()
        with self.open_local(name) as path, open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
