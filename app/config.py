"""One settings object, read from the environment once at start-up."""

import os
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path

from app.trusted_proxies import parse_networks

DEVELOPMENT_SECRET_KEY = "development-only-secret-key"  # noqa: S105 - refused outside development
MIB = 1024 * 1024
# Who may register: anyone, holders of an invite, nobody (admins create accounts).
REGISTRATION_MODES = ("open", "invite", "closed")


class SettingsError(RuntimeError):
    """The environment does not describe a runnable app."""


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    # --- The site ---
    # "production", or "development" (`make dev`: runs without SECRET_KEY, with a fixed
    # development key the app refuses anywhere else).
    app_env: str = "production"
    # The key that signs session cookies and CSRF tokens; required outside development.
    # The chat_app role makes one on the host the first time and keeps it.
    secret_key: str = field(default="", repr=False)
    # The site's address as people reach it (https://chat.example.org), for the invite
    # links that `natter-admin invites create` prints; empty prints the path alone.
    public_url: str = ""
    # Who may create an account: "open" (anyone), "invite" (with an invite link's token),
    # "closed" (nobody; admins create accounts). An admin's choice on /admin, stored in the
    # database, overrides this default at runtime.
    registration_mode: str = "open"
    # How long a logged-in session may stay unused before it ends (sliding).
    session_idle_days: int = 30
    # How long after sending its sender may edit a text message or recall any message
    # (a recalled voice message's files are removed from storage). 0 turns both off.
    message_change_window_seconds: int = 24 * 3600
    # The app's own Content-Security-Policy (the Nginx role sends the same one).
    content_security_policy: str = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'"
    )

    # --- Behind Nginx ---
    # true when Nginx (or another proxy) is in front: the client's address and scheme come
    # from its X-Forwarded-For and X-Forwarded-Proto, and cookies are sent over HTTPS only.
    behind_proxy: bool = False
    # Besides the unix socket and loopback, the addresses or networks (CIDR, comma-separated)
    # of the Nginx hosts in front (hosts apart). Only their X-Forwarded-* headers count (when
    # BEHIND_PROXY); from anyone else the connection's own address is the client's.
    trusted_proxies: str = ""
    # The internal Nginx location a voice-file answer names in X-Accel-Redirect, so Nginx
    # sends the file once the app allowed it (deployed: /_protected_uploads/ for local
    # storage, /internal/s3/ for S3); empty = the app sends the file itself (development).
    # Starts and ends with /.
    uploads_accel_prefix: str = ""

    # --- Database ---
    # SQLAlchemy URL of the database: postgresql+psycopg://user:password@host/natter
    # (deployed) or sqlite:///path; empty = SQLite in the instance folder (natter.sqlite3).
    database_url: str = ""
    # SQLite waits this long for another process's write lock ("database is locked")
    # before a statement fails. A voice settle or a text post holds it for milliseconds.
    database_busy_timeout_seconds: float = 5.0
    # PostgreSQL: how long opening a connection may take before it fails (libpq's
    # connect_timeout, whole seconds, at least 2) rather than hanging on an unreachable host.
    database_connect_timeout_seconds: int = 5

    # --- Redis ---
    # Redis for transcode jobs (RQ) and live-event fan-out between processes, e.g.
    # redis://:password@127.0.0.1:6379/0; empty = jobs run in the request and live events
    # reach only this process's streams.
    redis_url: str = ""
    # Connect and read timeout of every Redis call (limits, live events, jobs). A stalled
    # Redis then costs a request about this long once; afterwards the app skips Redis for
    # REDIS_RETRY_SECONDS and works without it (per-process limits, polling, in-request
    # transcodes). Redis answers in well under a millisecond on loopback.
    redis_socket_timeout_seconds: float = 1.0
    # After a Redis failure, how long live events and job dispatch leave Redis alone.
    redis_retry_seconds: float = 10.0

    # --- Limits ---
    # Where Flask-Limiter counts requests: memory:// (each process on its own) or a Redis
    # URL (deployed: database 1 of the same Redis, so all processes and hosts share counts).
    ratelimit_storage_uri: str = "memory://"
    # Login attempts per client address.
    ratelimit_login: str = "10 per minute"
    # Account registrations per client address.
    ratelimit_register: str = "5 per minute"
    # Text messages, edits and recalls per client address.
    ratelimit_post: str = "60 per minute"
    # Voice uploads per client address.
    ratelimit_upload: str = "20 per minute"
    # New conversations per account: each conversation can name 50 people, so this also
    # bounds how fast anyone can test which usernames exist.
    ratelimit_conversation: str = "10 per minute; 100 per day"
    # People search, per account: enough to type a name with autocomplete (one request
    # per pause), too few to walk the whole user list.
    ratelimit_search: str = "60 per minute"
    # Event streams one account may hold open at once (all devices and tabs together);
    # opening one more closes the oldest. Each costs ~26 KiB of app memory.
    event_streams_per_user: int = 8

    # --- Uploads and voice messages ---
    # The folder of voice files (in its chat/ folder) and of the uploads being transcoded;
    # with S3 storage only the latter. Empty = uploads/ in the instance folder.
    upload_dir: str = ""
    # Largest request body in bytes: 25 MiB, the same limit as Nginx's
    # client_max_body_size 25m.
    max_content_length: int = 25 * MIB
    # Uploads are refused (507) when the upload folder's filesystem would keep less free
    # space than this after the upload: room for the transcodes of messages in flight
    # (a 10-minute message is ~4 MB of m4a) and, where the database shares the disk, for
    # years of text messages and SQLite's journal. 0 turns the check off.
    upload_min_free_bytes: int = 256 * MIB
    # The longest voice message the browser records: at this length it stops and asks
    # whether to send or discard. Two minutes is long enough for a spoken note and short
    # enough to upload on a phone network; at most FFMPEG_MAX_DURATION_SECONDS.
    voice_max_seconds: int = 120
    # How long an upload waits for its transcode before it answers transcoded=false (the
    # page then shows the message once the worker is done).
    transcode_wait_seconds: float = 3.0

    # --- Voice file storage ---
    # Where voice files live: "local" (UPLOAD_DIR/chat on this host, the one-host default)
    # or "s3" (an S3-compatible bucket: a Ceph cluster's RGW, Garage, MinIO, a cloud S3),
    # which web, app and worker hosts can share. UPLOAD_DIR stays the scratch folder.
    storage_backend: str = "local"
    # The S3 endpoint (scheme, host, port), e.g. https://s3.internal:7480; empty = AWS.
    s3_endpoint_url: str = ""
    # The private bucket voice files go in (objects under chat/).
    s3_bucket: str = ""
    # The region the requests are signed for (any name works for RGW, Garage, MinIO).
    s3_region: str = "us-east-1"
    # "path" (https://host/bucket/key: RGW, MinIO, Garage) or "virtual" (bucket.host).
    s3_addressing_style: str = "path"
    # The access key of the bucket's key pair (from Vault in the inventories).
    s3_access_key_id: str = field(default="", repr=False)
    # The secret key of that pair (from Vault in the inventories; never in the repository).
    s3_secret_access_key: str = field(default="", repr=False)
    # How long a presigned URL handed to Nginx stays valid: Nginx uses it at once.
    s3_presign_seconds: int = 60
    # Connect and read timeout of every S3 call: an unreachable S3 fails an upload
    # (503, the page keeps the recording) within about twice this, not minutes.
    s3_timeout_seconds: float = 5.0
    # CA bundle (a PEM file) the S3 endpoint's certificate is verified against, e.g. the
    # deployment's internal CA for the storage host's gateway; empty = the system's CAs.
    s3_ca_bundle: str = ""

    # --- Transcoding ---
    # The ffmpeg program that transcodes each recording (a name on PATH or a path).
    ffmpeg_bin: str = "ffmpeg"
    # The ffprobe program that checks what an upload is before ffmpeg reads it.
    ffprobe_bin: str = "ffprobe"
    # Wall-clock cap for one ffmpeg run; a 5-minute message transcodes in ~3 s here.
    ffmpeg_timeout_seconds: float = 60.0
    # The longest voice message kept; longer input is cut, never rejected.
    ffmpeg_max_duration_seconds: int = 600
    # Address space of one ffmpeg run: 512 MiB, as ffmpeg cannot even load its libraries
    # under 256 MiB.
    ffmpeg_memory_limit_bytes: int = 512 * MIB
    # CPU seconds one ffmpeg run may use before the kernel stops it (RLIMIT_CPU).
    ffmpeg_cpu_seconds: int = 120
    # VBR quality of the m4a (ffmpeg's native AAC-LC, fast coder, 16 kHz mono): 0.8 gives
    # PESQ-WB 3.8 (English) / 4.0 (Mandarin) at ~390 KB a minute; 0.7 is ~350 KB and
    # PESQ 3.7, 0.9 ~435 KB and 3.9 (docs/developers/voice.md). Opus would need half the
    # bytes, but iOS cannot play it.
    voice_aac_quality: str = "0.8"
    # ffmpeg's AAC encoder for the m4a every browser plays.
    ffmpeg_aac_encoder: str = "aac"
    # ffmpeg's mp3 encoder, for the mp3 made when the m4a cannot be.
    ffmpeg_mp3_encoder: str = "libmp3lame"
    # The transcode worker exits (systemd restarts it) after this many jobs in a row fail
    # for reasons other than the recording itself (database, disk, Redis).
    worker_max_consecutive_failures: int = 5
    # How often the worker redoes voice messages that no job will finish (failed after
    # its retries, lost), and how old such a message must be before it counts as lost.
    worker_recover_interval_seconds: int = 60

    # --- Monitoring ---
    # Who may read /metrics besides loopback: comma-separated addresses or networks (CIDR)
    # of the Prometheus servers. Everyone else gets 404. Nginx applies the same list.
    metrics_allowed_networks: str = ""
    # Where the site's web server answers HTTPS (host:port, e.g. 127.0.0.1:443 or a web
    # host's private address): the app shakes hands with it as a browser would and reports
    # the served certificate's expiry on /metrics and /admin. Empty = not checked.
    served_certificate_address: str = ""
    # /admin warns when the served certificate has less than this many hours left: an
    # address's certificate lives about six days and renews at half its life, so two
    # days left means its renewals have failed for a day.
    certificate_warning_hours: int = 48

    @property
    def is_development(self) -> bool:
        return self.app_env == "development"

    @classmethod
    def from_env(cls, environ=None, instance_path: str | Path = "instance") -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for setting in fields(cls):
            raw = environ.get(setting.name.upper())
            if raw is None or raw == "":
                continue
            try:
                values[setting.name] = _flag(raw) if setting.type is bool else setting.type(raw)
            except ValueError:
                raise SettingsError(
                    f"{setting.name.upper()}={raw!r} is not a {setting.type.__name__}"
                ) from None
        instance = Path(instance_path)
        values.setdefault("database_url", f"sqlite:///{instance / 'natter.sqlite3'}")
        values.setdefault("upload_dir", str(instance / "uploads"))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.app_env not in {"development", "production"}:
            raise SettingsError(f"APP_ENV must be development or production, not {self.app_env!r}")
        if not self.secret_key and not self.is_development:
            raise SettingsError("SECRET_KEY is required outside development; refusing to start")
        for name in ("metrics_allowed_networks", "trusted_proxies"):
            try:
                parse_networks(getattr(self, name))
            except ValueError as error:
                raise SettingsError(f"{name.upper()}: {error}") from None
        if self.uploads_accel_prefix and not (
            self.uploads_accel_prefix.startswith("/") and self.uploads_accel_prefix.endswith("/")
        ):
            raise SettingsError("UPLOADS_ACCEL_PREFIX must start and end with '/'")
        self.validate_storage()
        if self.registration_mode not in REGISTRATION_MODES:
            raise SettingsError(
                f"REGISTRATION_MODE must be one of {', '.join(REGISTRATION_MODES)}, "
                f"not {self.registration_mode!r}"
            )
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise SettingsError("PUBLIC_URL must start with https:// or http://")
        if self.served_certificate_address and ":" not in self.served_certificate_address:
            raise SettingsError("SERVED_CERTIFICATE_ADDRESS must be host:port")
        if self.event_streams_per_user < 1:
            raise SettingsError("EVENT_STREAMS_PER_USER must be at least 1")
        if not 1 <= self.voice_max_seconds <= self.ffmpeg_max_duration_seconds:
            raise SettingsError(
                "VOICE_MAX_SECONDS must be between 1 and FFMPEG_MAX_DURATION_SECONDS"
            )

    def validate_storage(self) -> None:
        if self.storage_backend not in {"local", "s3"}:
            raise SettingsError(
                f"STORAGE_BACKEND must be local or s3, not {self.storage_backend!r}"
            )
        if self.s3_addressing_style not in {"path", "virtual"}:
            raise SettingsError("S3_ADDRESSING_STYLE must be path or virtual")
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise SettingsError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        if not 1 <= self.s3_presign_seconds <= 3600:
            raise SettingsError("S3_PRESIGN_SECONDS must be between 1 and 3600")

    def engine_options(self) -> dict:
        if self.database_url.startswith("sqlite"):
            return {"connect_args": {"timeout": self.database_busy_timeout_seconds}}
        if self.database_url.startswith("postgresql"):
            # A connection the server closed (restart, idle timeout) is replaced when the
            # pool hands it out, instead of failing the request that drew it.
            return {
                "pool_pre_ping": True,
                "connect_args": {"connect_timeout": self.database_connect_timeout_seconds},
            }
        return {}

    def redis_timeouts(self) -> dict:
        """Keyword arguments for every Redis client: give up on a stalled server quickly."""
        return {
            "socket_timeout": self.redis_socket_timeout_seconds,
            "socket_connect_timeout": self.redis_socket_timeout_seconds,
        }

    def ratelimit_storage_options(self) -> dict:
        if not self.ratelimit_storage_uri.startswith(("redis://", "rediss://", "redis+")):
            return {}
        return self.redis_timeouts()

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key or DEVELOPMENT_SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": self.engine_options(),
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            "RATELIMIT_STORAGE_OPTIONS": self.ratelimit_storage_options(),
            "RATELIMIT_HEADERS_ENABLED": True,
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "SESSION_COOKIE_SECURE": self.behind_proxy,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.behind_proxy,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "WTF_CSRF_TIME_LIMIT": None,
            "PERMANENT_SESSION_LIFETIME": timedelta(days=self.session_idle_days),
            # The cookie is rewritten only when the session changes or its last_seen_at
            # moves on (hourly): a stable cookie is what Nginx keys its cached voice-file
            # access decisions on, and most answers carry no Set-Cookie.
            "SESSION_REFRESH_EACH_REQUEST": False,
            "SETTINGS": self,
        }
