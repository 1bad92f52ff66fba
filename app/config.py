"""One settings object, read from the environment once at start-up."""

import os
from dataclasses import dataclass, fields
from pathlib import Path

DEVELOPMENT_SECRET_KEY = "development-only-secret-key"  # noqa: S105 - refused outside development
MIB = 1024 * 1024


class SettingsError(RuntimeError):
    """The environment does not describe a runnable app."""


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    app_env: str = "production"
    secret_key: str = ""
    database_url: str = ""
    redis_url: str = ""
    ratelimit_storage_uri: str = "memory://"
    upload_dir: str = ""
    # 25 MiB: the same limit as Nginx's client_max_body_size 25m.
    max_content_length: int = 25 * MIB
    behind_proxy: bool = False
    uploads_accel_prefix: str = ""
    transcode_wait_seconds: float = 3.0
    ratelimit_login: str = "10 per minute"
    ratelimit_register: str = "5 per minute"
    ratelimit_post: str = "60 per minute"
    ratelimit_upload: str = "20 per minute"
    ffmpeg_bin: str = "ffmpeg"
    ffprobe_bin: str = "ffprobe"
    # Wall-clock cap for one ffmpeg run; a 5-minute message transcodes in ~3 s here.
    ffmpeg_timeout_seconds: float = 60.0
    # The longest voice message kept; longer input is cut, never rejected.
    ffmpeg_max_duration_seconds: int = 600
    # 512 MiB: ffmpeg cannot even load its libraries under 256 MiB of address space.
    ffmpeg_memory_limit_bytes: int = 512 * MIB
    ffmpeg_cpu_seconds: int = 120
    # VBR quality of the m4a (ffmpeg's native AAC-LC, fast coder, 16 kHz mono): 0.8 gives
    # PESQ-WB 3.8 (English) / 4.0 (Mandarin) at ~390 KB a minute; 0.7 is ~350 KB and
    # PESQ 3.7, 0.9 ~435 KB and 3.9 (README, "Voice messages"). Opus would need half the
    # bytes, but iOS cannot play it.
    voice_aac_quality: str = "0.8"
    ffmpeg_aac_encoder: str = "aac"
    ffmpeg_mp3_encoder: str = "libmp3lame"

    @property
    def is_development(self) -> bool:
        return self.app_env == "development"

    @classmethod
    def from_env(cls, environ=None, instance_path: str | Path = "instance") -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            raw = environ.get(field.name.upper())
            if raw is None or raw == "":
                continue
            try:
                values[field.name] = _flag(raw) if field.type is bool else field.type(raw)
            except ValueError:
                raise SettingsError(
                    f"{field.name.upper()}={raw!r} is not a {field.type.__name__}"
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
        if self.uploads_accel_prefix and not (
            self.uploads_accel_prefix.startswith("/") and self.uploads_accel_prefix.endswith("/")
        ):
            raise SettingsError("UPLOADS_ACCEL_PREFIX must start and end with '/'")

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key or DEVELOPMENT_SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
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
            "SETTINGS": self,
        }
