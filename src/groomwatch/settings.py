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
