"""Configuration from the environment, read once through :func:`get_settings`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime import caches

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "development-only-secret-do-not-use-in-production"
# Secrets that are known to the world; a production start with one of them is refused.
PLACEHOLDER_SECRETS = frozenset(
    {DEV_SECRET, "", "secret", "changeme", "change-me", "dev", "development", "test"}
)


class Settings(BaseSettings):
    """Everything configurable; each field is read from the environment variable of its name."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'triage.sqlite3'}"
    redis_url: str | None = None
    broker_dir: Path = ROOT / "var" / "broker"
    rules_dir: Path = ROOT / "rules"
    seeds_dir: Path = ROOT / "seeds"
    jwt_secret: str = DEV_SECRET
    jwt_audience: str = "behovsstyrt-triage"
    jwt_issuer: str = "behovsstyrt-triage"
    token_hours: int = Field(default=12, ge=1, le=24 * 30)
    max_body_bytes: int = Field(default=2_000_000, ge=1_000)
    port: int = 8000
    host: str = "127.0.0.1"
    outbox_resend_seconds: int = Field(default=30, ge=1)
    # A row handed to the broker this long ago and still not done is sent again (a worker
    # killed with the task; Redis restarted empty). Longer than a task with its retries.
    outbox_stale_seconds: int = Field(default=600, ge=1)
    overdue_check_seconds: int = Field(default=300, ge=5)
    # Form tasks (docs/tasks.md): the periodic job that creates the questionnaires due runs
    # this often; each Task's ``owner`` is the clinic, an Organization of this id and name.
    form_tasks_seconds: int = Field(default=300, ge=5)
    clinic_id: str = "poliklinikk"
    clinic_name: str = "Poliklinikken"
    # Statistics are summed from daily facts (docs/statistics.md, "How fresh"): the
    # scheduler recounts them this often, and a call recounts facts older than the max age.
    stats_refresh_seconds: int = Field(default=300, ge=5)
    stats_max_age_seconds: int = Field(default=600, ge=0)
    # The first retry of a failed triage task waits up to this long, each next one twice as
    # long (with full jitter); tests set it small.
    triage_retry_base_seconds: float = Field(default=2.0, gt=0)
    # Operations: each worker writes a heartbeat row this often; /ready wants one newer than
    # three intervals. LOG_FORMAT json|text (default: text in development, JSON elsewhere).
    # METRICS_TOKEN, when set, is the Bearer /metrics requires; WORKER_METRICS_PORT, when
    # set, makes each worker serve its own /metrics there (workers on other machines).
    worker_heartbeat_seconds: int = Field(default=10, ge=1)
    log_format: Literal["json", "text"] | None = None
    metrics_token: str | None = None
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Writes (POST/PUT/PATCH/DELETE) per token subject per minute, burst the same; 0 = off.
    rate_limit_patient_per_minute: int = Field(default=120, ge=0)
    rate_limit_staff_per_minute: int = Field(default=1200, ge=0)
    # Failed sign-ins on the web form per client address per minute (0 = off).
    rate_limit_login_per_minute: int = Field(default=10, ge=0)
    # Comma-separated exact origins allowed by CORS; empty = no CORS headers at all.
    cors_origins: str = ""
    # Notifications (docs/notifications.md): the webhook each event is POSTed to (none: the
    # event is logged without patient data, the embedded default), the HMAC secret that signs
    # the body, how often the worker delivers, the first retry's wait (each next one about
    # twice as long, at most the max) and how long an event is retried before it is failed.
    notify_url: str | None = None
    notify_secret: str = ""
    notify_deliver_seconds: int = Field(default=15, ge=1)
    notify_retry_base_seconds: float = Field(default=30.0, gt=0)
    notify_retry_max_seconds: float = Field(default=3600.0, gt=0)
    notify_give_up_seconds: int = Field(default=86400, ge=1)
    # Strict-Transport-Security on every response (only behind TLS).
    hsts: bool = False

    @property
    def broker_url(self) -> str:
        """Redis when configured; otherwise kombu's filesystem transport (no server needed)."""
        return self.redis_url or "filesystem://"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_secret(self) -> None:
        """Refuse to run outside development with a placeholder signing secret, or with a
        webhook for notifications whose signing secret is empty or short (the receiver could
        not tell our events from anyone's)."""
        if self.environment == "development":
            return
        if self.jwt_secret in PLACEHOLDER_SECRETS or len(self.jwt_secret) < 32:
            raise RuntimeError(
                "JWT_SECRET is a placeholder or shorter than 32 characters; set a real secret "
                f"before running with ENVIRONMENT={self.environment}"
            )
        if self.notify_url and (
            self.notify_secret in PLACEHOLDER_SECRETS or len(self.notify_secret) < 32
        ):
            raise RuntimeError(
                "NOTIFY_URL is set but NOTIFY_SECRET is empty, a placeholder or shorter than 32 "
                "characters; set the secret the receiver checks the signature with before "
                f"running with ENVIRONMENT={self.environment}"
            )


_settings = caches.lru("settings", maxsize=1)
_lock = threading.Lock()


def get_settings() -> Settings:
    """The settings of this process, read from the environment once (until
    :func:`runtime.caches.reset`). Entry points read them and pass them on; the API's
    routes reach them through one dependency (``api.deps.SettingsDep``)."""
    with _lock:
        settings: Settings | None = _settings.get("settings")
        if settings is None:
            settings = Settings()
            settings.check_secret()
            _settings["settings"] = settings
        return settings
