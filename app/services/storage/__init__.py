"""Where voice files live: local disk (default) or an S3-compatible bucket.

`backend(settings)` gives the one Storage object for these settings (a boto3 client is
made once per process and shared: it is thread-safe), `backend_of(message, settings)` the
one holding a message's files. Callers use only the interface of base.py and the names
of naming.py.
"""

import logging
from dataclasses import replace
from functools import lru_cache

from app.services.storage.base import Delivery, MissingFile, Storage, StorageUnavailable

__all__ = [
    "Delivery",
    "MissingFile",
    "Storage",
    "StorageUnavailable",
    "backend",
    "backend_of",
    "forget",
]

log = logging.getLogger(__name__)


def backend(settings, name: str | None = None) -> Storage:
    """The configured backend, or the one called `name` ("local", "s3") with these settings."""
    if name and name != settings.storage_backend:
        settings = replace(settings, storage_backend=name)
    return _backend(settings)


def backend_of(message, settings) -> Storage:
    """The backend holding this message's files (NULL: local, from before the choice).

    `message` is a ChatMessage or a row holding its `storage` column.
    """
    return backend(settings, message.storage or "local")


def forget(store: Storage, name: str) -> None:
    """Remove a file nothing points at; if storage is down too, the log names it."""
    try:
        store.delete(name)
    except StorageUnavailable:
        log.error("voice file %s is orphaned: storage unreachable while removing it", name)


@lru_cache(maxsize=8)
def _backend(settings) -> Storage:
    if settings.storage_backend == "s3":
        from app.services.storage.s3 import S3Storage  # boto3 only where S3 is used

        return S3Storage(settings)
    from app.services.storage.local import LocalStorage

    return LocalStorage(settings)
