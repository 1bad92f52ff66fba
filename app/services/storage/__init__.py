"""Where voice files live: local disk (default) or an S3-compatible bucket.

`backend(settings)` gives the one Storage object for these settings (a boto3 client is
made once per process and shared: it is thread-safe). Callers use only the interface
of base.py and the names of naming.py.
"""

from dataclasses import replace
from functools import lru_cache

from app.services.storage.base import Delivery, MissingFile, Storage, StorageUnavailable

__all__ = ["Delivery", "MissingFile", "Storage", "StorageUnavailable", "backend"]


def backend(settings, name: str | None = None) -> Storage:
    """The configured backend, or the one called `name` ("local", "s3") with these settings."""
    if name and name != settings.storage_backend:
        settings = replace(settings, storage_backend=name)
    return _backend(settings)


@lru_cache(maxsize=8)
def _backend(settings) -> Storage:
    if settings.storage_backend == "s3":
        from app.services.storage.s3 import S3Storage  # boto3 only where S3 is used

        return S3Storage(settings)
    from app.services.storage.local import LocalStorage

    return LocalStorage(settings)
