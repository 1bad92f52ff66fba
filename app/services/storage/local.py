"""Voice files on the app host's disk: UPLOAD_DIR/chat/<name> (the one-host default)."""

import os
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from app.services.storage import naming
from app.services.storage.base import Delivery, MissingFile, Storage


class LocalStorage(Storage):
    name = "local"

    def __init__(self, settings):
        self.root = Path(settings.upload_dir) / naming.FOLDER
        self.accel_prefix = settings.uploads_accel_prefix

    @property
    def scratch_dir(self) -> Path:
        # The same filesystem as the stored files: saving is a rename, never a copy.
        return self.root

    def path(self, name: str) -> Path:
        if naming.key_of(name) is None:
            raise MissingFile(f"no voice file {name!r}")
        return self.root / name

    def save(self, name: str, source: Path) -> None:
        target = self.path(name)
        if Path(source) == target:
            return
        try:
            os.replace(source, target)
        except OSError:
            staged = target.with_name(f".{name}.part")  # another filesystem: copy, then rename
            try:
                shutil.move(source, staged)
                os.replace(staged, target)
            except OSError:
                staged.unlink(missing_ok=True)
                raise

    @contextmanager
    def open_local(self, name: str):
        # Already local and never modified in place: readers use the stored file itself.
        path = self.path(name)
        if not path.is_file():
            raise MissingFile(f"no voice file {name!r}")
        yield path

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return naming.key_of(name) is not None and self.path(name).is_file()

    def serve(self, name: str) -> Delivery:
        path = self.path(name)
        if not path.is_file():
            raise MissingFile(f"no voice file {name!r}")
        if self.accel_prefix:
            # Nginx sends the bytes (Range, caching) from its internal location.
            return Delivery(accel_redirect=f"{self.accel_prefix}{naming.FOLDER}/{name}")
        return Delivery(file=path)

    def health(self) -> str:
        if not os.access(self.root, os.W_OK | os.X_OK):
            return f"error: {self.root} is not writable"
        return "ok"

    def listing(self):
        for path in sorted(self.root.iterdir()):
            if naming.key_of(path.name):
                yield path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC)
