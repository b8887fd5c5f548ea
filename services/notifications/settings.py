"""Settings of the notifications service: the shared ones plus its channels (HEARTH_*)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import HearthSettings


class NotificationSettings(HearthSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "notifications@hearth.local"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    notify_url: str = Field(
        "https://api.notifications.service.gov.uk",
        description="base URL of a GOV.UK Notify-shaped provider for SMS and letters",
    )
    notify_api_key: str = Field("", description="Notify-style key: name-serviceid-secret")
    notify_timeout_seconds: float = 10.0
    # Each webhook endpoint has its own secret (POST /v1/webhook-endpoints); there is no
    # shared one any more.
    webhook_timeout_seconds: float = 10.0
    webhook_allow_loopback: bool = Field(
        False, description="development only: allow http:// and loopback webhook destinations"
    )
    webhook_rotation_grace_hours: float = Field(
        24.0, gt=0, description="how long a rotated webhook secret still signs"
    )
    webhook_max_endpoints: int = Field(10, ge=1, description="enabled endpoints per organisation")
    delivery_max_attempts: int = Field(5, description="attempts before a delivery is parked")
    delivery_backoff_seconds: float = Field(30.0, description="first retry delay; doubles")
    delivery_backoff_max_seconds: float = 3600.0
    delivery_poll_seconds: float = Field(0.5, description="how often the worker looks for work")
    delivery_batch_size: int = 200
    delivery_concurrency: int = 32
    delivery_lease_seconds: float = Field(120.0, description="a crashed send is retried after")
    cache_seconds: float = Field(5.0, description="how long templates and org settings cache")


def notification_settings(settings: HearthSettings) -> NotificationSettings:
    """Accepts the platform's settings (from serve or tests) and adds this service's own."""
    if isinstance(settings, NotificationSettings):
        return settings
    return NotificationSettings(**settings.model_dump())
