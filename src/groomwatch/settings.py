"""One :class:`Settings` object for the service, read from ``GROOMWATCH_*`` environment variables
(and a ``.env`` file if present). A default secret refuses to start outside development mode."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GROOMWATCH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- general -------------------------------------------------------------------------
    env: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    data_dir: Path = Field(default=Path("var"), description="Files: SQLite, evidence, hash banks.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; a SQLite file in data_dir when unset."
    )
    log_level: str = "INFO"

    # --- detection -----------------------------------------------------------------------
    model_path: Path | None = Field(default=None, description="A trained model directory.")
    cues_path: Path | None = Field(default=None, description="A YAML file overriding tactic cues.")

    # --- API (real-time detection for platforms) -------------------------------------------
    api_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest JSON body of the /v1 detection API."
    )
    max_request_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest body of any other request."
    )
    api_max_messages_per_append: int = Field(default=500, ge=1)
    api_max_message_chars: int = Field(default=20_000, ge=1)
    api_rate_limit: float = Field(
        default=100.0, gt=0, description="Requests a second per API key, per server process."
    )
    api_rate_burst: int = Field(default=200, ge=1, description="Token-bucket size per API key.")
    api_retention_days: int | None = Field(
        default=None, ge=1, description="Erase conversations idle this long (None: keep)."
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=15, ge=1, description="Then the event is failed.")
    webhook_backoff_seconds: float = Field(default=2.0, gt=0, description="First retry delay.")
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, description="Outbox polling period.")
    webhook_lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a claimed event is left to its process."
    )
    api_key_cache_seconds: float = Field(
        default=10.0, ge=0, description="How long a process reuses a key's tenant (0: never)."
    )
    api_monitor_cache_size: int = Field(
        default=1024,
        ge=0,
        description="Streaming detectors kept in memory per process, by conversation (0: none).",
    )

    # --- hotline ---------------------------------------------------------------------------
    country: str = Field(
        default="INT",
        description="ISO 3166-1 alpha-2 code whose emergency numbers public pages show.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Base of links given to reporters."
    )
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="Per file.")
    upload_max_files: int = Field(default=10, ge=1, description="Files per submission.")
    upload_max_total_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    retention_days: dict[str, int] = Field(
        default_factory=lambda: {
            "commercial_sexual_exploitation": 730,
            "csam_online": 730,
            "child_sexual_abuse": 730,
            "online_grooming": 730,
            "sexual_extortion": 730,
        },
        description="Days after a report's outcome before its evidence and personal data go.",
    )
    login_max_failures: int = Field(default=5, ge=1, description="Failed logins before lockout.")
    login_lockout_minutes: int = Field(default=15, ge=1)
    session_hours: int = Field(default=8, ge=1, description="Analyst session lifetime.")
    report_rate_limit: int = Field(default=5, ge=1, description="Reports per client per window.")
    check_rate_limit: int = Field(default=30, ge=1, description="Checks per client per window.")
    rate_limit_window_seconds: int = Field(default=600, ge=1)

    # --- media -----------------------------------------------------------------------------
    media_dir: Path | None = Field(
        default=None, description='Hash bank store; data_dir / "banks" when unset.'
    )
    media_max_upload_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest image or video hashed or matched."
    )
    media_max_image_pixels: int = Field(
        default=64_000_000, ge=1, description="Larger images are refused (decompression bombs)."
    )
    media_min_quality: int = Field(
        default=50, ge=0, le=100, description="PDQ quality below this is not matched."
    )

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "banks"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env != "development" and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
            raise ValueError(
                "GROOMWATCH_SECRET_KEY must be set to a long random value outside development "
                "(GROOMWATCH_ENV=development)"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'groomwatch.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own :class:`Settings` instead)."""
    return Settings()
