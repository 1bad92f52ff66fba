"""Backup archives: a consistent database snapshot, every voice file and the host's settings.

One archive is a gzip-compressed tar stream, written to and read from a pipe (the host's
`natter-backup` runs it as root: the app's user never opens root's files):

    database/natter.sqlite3   the snapshot (SQLite's online backup API, taken while the app runs),
    database/natter.pgdump    or on PostgreSQL pg_dump's custom format (one consistent transaction)
    files/chat/<name>         every voice file, read through the storage interface (local or S3)
    config/<name>             the host's settings folder (/etc/natter: secret key, environment)
    manifest.json             last: format, version, schema revision, sha256 and size of each member

Reading one back (`verify`, `restore`) checks every member against the manifest and
refuses anything else: a truncated stream, another kind of archive, a missing, extra,
unsafe or altered member. `restore` stages everything first and changes nothing until
the whole archive has verified.

The database engine is chosen in one place, `ENGINES`: each engine names its member and
how to snapshot, read the schema revision from, and put back its snapshot.
"""

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from app.services import storage
from app.services.storage import MissingFile, naming

FORMAT = "natter-backup"
VERSION = 1
MANIFEST = "manifest.json"
FILES_PREFIX = f"files/{naming.FOLDER}/"
CONFIG_PREFIX = "config/"
CONFIG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CHUNK = 1 << 20


class BackupRefused(Exception):
    """The archive (or the request) is not one this release can take; nothing was changed."""


@dataclass(frozen=True)
class Engine:
    """How one database engine is snapshotted, read and put back."""

    member: str
    snapshot: Callable[[str, Path], None]  # (database URL, destination file)
    revision: Callable[[Path], str]  # the schema revision (Alembic) inside a snapshot
    restore: Callable[[str, Path], None]  # (database URL, staged snapshot)


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database)


def _sqlite_snapshot(url: str, dest: Path) -> None:
    # The online backup API copies a consistent state while others keep reading and writing.
    source = sqlite3.connect(_sqlite_path(url), timeout=30)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _sqlite_revision(snapshot: Path) -> str:
    connection = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else ""
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"the database snapshot cannot be read: {error}") from None
    finally:
        connection.close()


def _sqlite_restore(url: str, staged: Path) -> None:
    # The app is stopped: a journal of the replaced database must not meet the new file.
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    for journal in ("-wal", "-shm", "-journal"):
        path.with_name(path.name + journal).unlink(missing_ok=True)
    os.chmod(staged, 0o600)
    beside = path.with_name(path.name + ".restoring")
    shutil.move(staged, beside)  # a copy when the staging folder is on another filesystem
    os.replace(beside, path)


def _libpq_environment(url: str) -> dict:
    """The database of a SQLAlchemy URL as libpq's variables: no password on a command line."""
    parsed = make_url(url)
    values = {
        "PGHOST": parsed.host or parsed.query.get("host"),
        "PGPORT": parsed.port or parsed.query.get("port"),
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        # TLS to a database on another host (site.yml: sslmode=verify-full, the private CA).
        "PGSSLMODE": parsed.query.get("sslmode"),
        "PGSSLROOTCERT": parsed.query.get("sslrootcert"),
    }
    return {**os.environ, **{name: str(value) for name, value in values.items() if value}}


def _pg_run(command: list[str], url: str | None = None) -> subprocess.CompletedProcess:
    environment = _libpq_environment(url) if url else None
    try:
        return subprocess.run(command, env=environment, capture_output=True, check=False)
    except FileNotFoundError:
        raise BackupRefused(f"{command[0]} is not installed (Debian: postgresql-client)") from None


def _pg_snapshot(url: str, dest: Path) -> None:
    # One transaction's consistent view while the app keeps running; owners and grants
    # are the target database's business.
    done = _pg_run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                    f"--file={dest}"], url)  # fmt: skip
    if done.returncode != 0:
        raise BackupRefused(f"pg_dump failed: {done.stderr.decode(errors='replace').strip()}")


def _pg_revision(snapshot: Path) -> str:
    done = _pg_run(["pg_restore", "--data-only", "--table=alembic_version", "--file=-",
                    str(snapshot)])  # fmt: skip
    if done.returncode != 0:
        raise BackupRefused("the database snapshot is not a PostgreSQL dump this release reads")
    lines = done.stdout.decode(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("COPY ")]
    row = lines[starts[0] + 1] if starts and starts[0] + 1 < len(lines) else "\\."
    return "" if row == "\\." else row.strip()


def _pg_restore(url: str, staged: Path) -> None:
    # The app is stopped. One transaction: a failing restore leaves the database as it was.
    done = _pg_run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                    "--single-transaction", "--exit-on-error", "--dbname",
                    _libpq_environment(url)["PGDATABASE"], str(staged)], url)  # fmt: skip
    if done.returncode != 0:
        raise BackupRefused(f"pg_restore failed: {done.stderr.decode(errors='replace').strip()}")


ENGINES = {
    "sqlite": Engine(
        "database/natter.sqlite3", _sqlite_snapshot, _sqlite_revision, _sqlite_restore
    ),
    "postgresql": Engine("database/natter.pgdump", _pg_snapshot, _pg_revision, _pg_restore),
}


def engine_for(url: str) -> tuple[str, Engine]:
    name = make_url(url).get_backend_name()
    if name not in ENGINES:
        raise BackupRefused(f"no backup method for {name} databases")
    return name, ENGINES[name]


class _Hashing(io.RawIOBase):
    """Reads through to `raw` and keeps the sha256 and size of what passed."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class _Writer:
    def __init__(self, out: IO[bytes]):
        self.gzip = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0)
        self.tar = tarfile.open(  # noqa: SIM115 - closed by close(), after the manifest
            fileobj=self.gzip, mode="w|", format=tarfile.PAX_FORMAT
        )
        self.members: dict[str, dict] = {}

    def add(self, name: str, source: IO[bytes], size: int) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(datetime.now(UTC).timestamp())
        reader = _Hashing(source)
        self.tar.addfile(info, reader)
        self.members[name] = {"sha256": reader.digest.hexdigest(), "size": reader.size}

    def add_path(self, name: str, path: Path) -> None:
        with open(path, "rb") as file:
            self.add(name, file, os.fstat(file.fileno()).st_size)

    def close(self, manifest: dict) -> None:
        data = json.dumps({**manifest, "members": self.members}, indent=1, sort_keys=True)
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(data.encode()), 0o600
        info.mtime = int(datetime.now(UTC).timestamp())
        self.tar.addfile(info, io.BytesIO(data.encode()))
        self.tar.close()
        self.gzip.close()


def _config_members(config_tar: IO[bytes]):
    """The regular files of a tar stream (the settings folder), flattened to their names."""
    with tarfile.open(fileobj=config_tar, mode="r|") as tar:
        for member in tar:
            name = member.name.rsplit("/", 1)[-1]
            if member.isfile() and CONFIG_NAME.match(name):
                yield name, tar.extractfile(member), member.size


def create(settings, out: IO[bytes], config_tar: IO[bytes] | None = None) -> dict:
    """Writes one archive to `out`; returns its manifest (without the member list)."""
    engine_name, engine = engine_for(settings.database_url)
    writer = _Writer(out)
    with tempfile.TemporaryDirectory(prefix="natter-backup-") as scratch:
        snapshot = Path(scratch) / "snapshot"
        engine.snapshot(settings.database_url, snapshot)
        revision = engine.revision(snapshot)
        writer.add_path(engine.member, snapshot)
    # Files after the snapshot: every file the snapshot's messages name already exists
    # (files are never changed in place); a newer one is an orphan `storage sweep` removes.
    backend = storage.backend(settings)
    for name, _ in list(backend.listing()):
        try:
            with backend.open_local(name) as path:
                writer.add_path(FILES_PREFIX + name, path)
        except MissingFile:
            continue  # swept since the listing
    if config_tar is not None:
        for name, file, size in _config_members(config_tar):
            writer.add(CONFIG_PREFIX + name, file, size)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"engine": engine_name, "member": engine.member, "schema_revision": revision},
        "storage": backend.name,
    }
    writer.close(manifest)
    return manifest


@dataclass
class Contents:
    """What a verified archive holds; staged files when read with a staging folder."""

    manifest: dict
    staging: Path | None = None
    files: list[str] = field(default_factory=list)
    config: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "created": self.manifest["created"],
            "engine": self.manifest["database"]["engine"],
            "schema_revision": self.manifest["database"]["schema_revision"],
            "files": len(self.files),
            "config": self.config,
            "bytes": sum(m["size"] for m in self.manifest["members"].values()),
        }


def _allowed(name: str) -> bool:
    if name == MANIFEST or any(name == e.member for e in ENGINES.values()):
        return True
    if name.startswith(FILES_PREFIX):
        return naming.key_of(name.removeprefix(FILES_PREFIX)) is not None
    return name.startswith(CONFIG_PREFIX) and bool(
        CONFIG_NAME.match(name.removeprefix(CONFIG_PREFIX))
    )


def _check_manifest(raw: bytes | None, seen: dict[str, dict]) -> dict:
    if raw is None:
        raise BackupRefused("no manifest.json: not a Natter backup")
    try:
        manifest = json.loads(raw)
        if manifest.get("format") != FORMAT:
            raise BackupRefused("manifest.json is not a Natter backup's")
        if manifest.get("version") != VERSION:
            raise BackupRefused(f"backup format version {manifest.get('version')} is unknown")
        members, database = manifest["members"], manifest["database"]
        engine = ENGINES.get(database["engine"])
        if engine is None or engine.member != database["member"] or engine.member not in members:
            raise BackupRefused("the manifest names no database snapshot this release reads")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BackupRefused("manifest.json is damaged") from None
    missing = sorted(set(members) - set(seen))
    extra = sorted(set(seen) - set(members))
    if missing or extra:
        raise BackupRefused(f"members differ from the manifest: missing {missing}, extra {extra}")
    for name, expected in members.items():
        if seen[name] != {"sha256": expected.get("sha256"), "size": expected.get("size")}:
            raise BackupRefused(f"{name}: checksum or size differs from the manifest")
    return manifest


def read(archive: IO[bytes], staging: Path | None = None) -> Contents:
    """Reads and checks a whole archive; with `staging`, keeps every member there."""
    seen: dict[str, dict] = {}
    manifest_raw = None
    try:
        with tarfile.open(fileobj=archive, mode="r|gz") as tar:
            for member in tar:
                name = member.name
                if (
                    not member.isfile()
                    or not _allowed(name)
                    or name in seen
                    or (name == MANIFEST and manifest_raw is not None)
                ):
                    raise BackupRefused(f"unexpected member {name!r}: not a Natter backup")
                source = _Hashing(tar.extractfile(member))
                if name == MANIFEST:
                    manifest_raw = source.read(1 << 24)
                    continue
                if staging is not None:
                    (staging / name).parent.mkdir(parents=True, exist_ok=True)
                sink = open(staging / name, "wb") if staging else None  # noqa: SIM115
                try:
                    for block in iter(lambda s=source: s.read(CHUNK), b""):
                        if sink is not None:
                            sink.write(block)
                finally:
                    if sink is not None:
                        sink.close()
                if source.size != member.size:
                    raise BackupRefused(f"{name} is cut short: the archive is truncated")
                seen[name] = {"sha256": source.digest.hexdigest(), "size": source.size}
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise BackupRefused(f"not a complete gzip tar archive ({error})") from None
    manifest = _check_manifest(manifest_raw, seen)
    return Contents(
        manifest=manifest,
        staging=staging,
        files=sorted(n.removeprefix(FILES_PREFIX) for n in seen if n.startswith(FILES_PREFIX)),
        config=sorted(n.removeprefix(CONFIG_PREFIX) for n in seen if n.startswith(CONFIG_PREFIX)),
    )


def restore(settings, archive: IO[bytes]) -> Contents:
    """Puts the database and voice files of a verified archive in place (app stopped).

    Everything is staged beside the database and checked first: a refused archive leaves
    the database and the voice files as they were. The settings (config/) are the host's
    root's business: the restore playbook takes them from the same, verified archive.
    """
    _, engine = engine_for(settings.database_url)
    # Staged on the voice files' filesystem: putting them in place is then a rename.
    Path(settings.upload_dir).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".natter-restore-", dir=settings.upload_dir))
    try:
        (staging / FILES_PREFIX).mkdir(parents=True)
        contents = read(archive, staging)
        member = contents.manifest["database"]["member"]
        if member != engine.member:
            raise BackupRefused(f"the archive holds {member}; this database takes {engine.member}")
        engine.revision(staging / member)  # readable, or refused before the swap
        engine.restore(settings.database_url, staging / member)
        backend = storage.backend(settings)
        for name in contents.files:
            staged = staging / FILES_PREFIX / name
            os.chmod(staged, 0o644)  # Nginx sends local voice files itself
            backend.save(name, staged)
        return contents
    finally:
        shutil.rmtree(staging, ignore_errors=True)
