"""Moving an existing install's voice files from local disk to S3, verified, resumable.

`migrate_to_s3` copies each voice message's files into the bucket, reads every object
back and compares its SHA-256 with the local file's, and only then switches that
message (`storage = "s3"`), one commit per message: stopped at any point, a second run
goes on where the first stopped (verified objects are not copied again). Local files
stay; `prune_local` removes them in a separate, explicit step, again only after the
objects verify.
"""

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_

from app.extensions import db
from app.models import ChatMessage
from app.services import storage
from app.services.storage import naming

log = logging.getLogger(__name__)


@dataclass
class Report:
    switched: int = 0
    copied: int = 0
    already_there: int = 0
    missing: list[str] = field(default_factory=list)
    pruned: int = 0


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_messages() -> list[ChatMessage]:
    query = db.select(ChatMessage).where(
        ChatMessage.type == "audio",
        or_(ChatMessage.storage.is_(None), ChatMessage.storage == "local"),
    )
    return list(db.session.execute(query.order_by(ChatMessage.id)).scalars())


def copy_verified(name: str, local, s3, report: Report) -> bool:
    """The object equals the local file (copied now if needed); False if the file is gone."""
    if not local.exists(name):
        report.missing.append(name)
        return False
    with local.open_local(name) as path:
        expected = sha256(path)
        if s3.exists(name) and s3.checksum(name) == expected:
            report.already_there += 1
            return True
        staged = path.with_name(f".{name}.migrating")
        staged.write_bytes(path.read_bytes())
    s3.save(name, staged)  # consumes the staged copy; the stored file stays
    if s3.checksum(name) != expected:
        raise RuntimeError(f"{name}: the object read back differs from the local file")
    report.copied += 1
    return True


def migrate_to_s3(settings) -> Report:
    """Copy, verify, switch each local voice message; safe to run again."""
    local, s3 = storage.backend(settings, "local"), storage.backend(settings, "s3")
    report = Report()
    for message in local_messages():
        names = naming.names_in(json.loads(message.content))
        if all([copy_verified(name, local, s3, report) for name in names]):
            message.storage = "s3"
            db.session.commit()
            report.switched += 1
        else:
            log.error("voice message %s stays local: a file is missing", message.id)
    return report


def prune_local(settings) -> Report:
    """Remove local copies of messages on S3 whose objects verify against them."""
    local, s3 = storage.backend(settings, "local"), storage.backend(settings, "s3")
    report = Report()
    query = db.select(ChatMessage).where(ChatMessage.storage == "s3")
    for message in db.session.execute(query).scalars():
        for name in naming.names_in(json.loads(message.content)):
            if not local.exists(name):
                continue
            with local.open_local(name) as path:
                if s3.checksum(name) != sha256(path):
                    raise RuntimeError(f"{name}: the object differs; the local file is kept")
            local.delete(name)
            report.pruned += 1
    return report
