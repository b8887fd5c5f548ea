"""Settings for every service, read from HEARTH_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HearthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEARTH_", extra="ignore")

    service_name: str = "hearth"
    kafka: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_db: str = Field("", description="database name; defaults to hearth_<service>")
    topic_prefix: str = Field("hearth.", description="namespaces topics per environment")
    topic_partitions: int = 6
    consumer_batch_size: int = 500
    handler_retries: int = Field(3, description="attempts at a transient failure before DLQ")
    retry_backoff_seconds: float = 0.2
    outbox_sweep_seconds: float = 1.0
    scheduler_interval_seconds: float = 5.0
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_json: bool = True
    log_level: str = "INFO"
    clock_offset_file: str = Field(
        "", description="demos/tests only: a file holding seconds to move every clock forward"
    )
    api_keys: dict[str, str] = Field(
        default_factory=dict,
        description='API key -> organisation id, JSON: {"key": "org"}',
    )

    @property
    def database_name(self) -> str:
        return self.mongo_db or f"hearth_{self.service_name}"


@lru_cache
def get_settings() -> HearthSettings:
    return HearthSettings()
