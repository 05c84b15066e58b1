"""Process settings, read from ``HERALD_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore")

    database_url: str = "sqlite:///.herald/herald.db"
    temporal_address: str = "127.0.0.1:7233"
    start_temporal: bool = True  # `herald run` starts a dev server at temporal_address
    temporal_ui_port: int = 8233
    temporal_db_file: str = ".herald/temporal.db"
    temporal_namespace: str = "default"
    task_queue: str = "herald-push"
    secret_key: str = ""
    secret_key_file: str = ".herald/secret.key"  # noqa: S105 (a path)

    apns_url: str = "https://api.push.apple.com:443"
    apns_sandbox_url: str = "https://api.sandbox.push.apple.com:443"
    apns_ca_file: str | None = None
    apns_timeout_seconds: float = 10.0
    fcm_url: str = "https://fcm.googleapis.com"
    fcm_ca_file: str | None = None
    fcm_timeout_seconds: float = 10.0
    google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)

    retention_days: int = 7
    rate_limit_per_second: float = 100.0
    max_body_bytes: int = 8 * 1024 * 1024
    log_level: str = "INFO"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    metrics_port: int = 9464


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
