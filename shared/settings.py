"""Settings for every service, read from HEARTH_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.lanes import Workload


class HearthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEARTH_", extra="ignore")

    service_name: str = "hearth"
    kafka: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    kafka_username: str = Field(
        "", description="this process's SCRAM-SHA-512 principal; empty: no authentication"
    )
    kafka_password: SecretStr = SecretStr("")
    kafka_sasl_mechanism: str = Field(
        "SCRAM-SHA-512", description="PLAIN only for a broker's bootstrap admin (docker-compose)"
    )
    partner_organisations: list[str] = Field(
        [],
        description="organisations with direct broker access: each writes only its own "
        "ingress topics (<topic>.<organisation>), and that is what names its organisation",
    )
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_db: str = Field("", description="database name; defaults to hearth_<service>")
    topic_prefix: str = Field("hearth.", description="namespaces topics per environment")
    topic_partitions: int = 6
    consumer_batch_size: int = 500
    workload: Workload = Field(
        Workload.ALL,
        description="what this process runs: all (one process per service), interactive "
        "(the API, timers, interactive lanes and unlaned consumers) or bulk (bulk lanes and "
        "the landlords' feed, at a lower CPU priority); a split service runs one of each "
        "(docs/LANES.md, 'Lanes in processes')",
    )
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
    environment: Literal["production", "staging", "training", "test", "development"] = Field(
        "production",
        description="what this deployment is; only one that is not production may move time "
        "(HEARTH_SCENARIO_CLOCK, HEARTH_CLOCK_OFFSET_FILE, `?as_of=`): shared/scenario_clock.py",
    )
    scenario_clock: bool = Field(
        False,
        description="not in production: every service follows the clock the platform.clock "
        "topic sets (`python -m shared.scenario_clock set 2026-06-01`)",
    )
    # Identity: any OpenID Connect provider (Keycloak locally, Entra ID, ...), by settings only.
    oidc_issuer: str = Field("", description="the provider's issuer URL; tokens must name it")
    oidc_audience: str = Field("hearth-api", description="tokens must be meant for this")
    oidc_jwks_url: str = Field("", description="signing keys; found by discovery if empty")
    oidc_algorithms: list[str] = Field(["RS256"], description="pinned; never 'none'")
    oidc_leeway_seconds: int = Field(30, description="clock skew allowed on exp/nbf/iat")
    oidc_organisation_claim: str = "organisation"
    oidc_roles_claim: str = "roles"
    oidc_teams_claim: str = "teams"
    oidc_caseworker_claim: str = "caseworker_id"
    failed_sign_in_limit: int = Field(20, description="failures per client before 429")
    failed_sign_in_window_seconds: float = 60.0
    audit_chain_key: str = Field(
        "", description="audit service: HMAC key of the audit hash chain (kept outside the DB)"
    )
    person_match_keys: list[str] = Field(
        [],
        description="referral: keys of the person-matching HMAC, '<key-id>:<secret>', newest "
        "first (older ones stay to match people indexed under them)",
    )
    tenancy_id_key: SecretStr = Field(
        SecretStr(""),
        description="referral: the HMAC key tenancy ids are made with (one secret of at least "
        "32 characters); NEVER rotated: a tenancy's id must stay the same for life, so a new "
        "key would split every tenancy from its cases and alerts",
    )
    hclic_case_ref_key: SecretStr = Field(
        SecretStr(""),
        description="outcomes: the HMAC key of the H-CLIC return's case identifiers (one "
        "secret of at least 32 characters); NEVER rotated: a new key gives every case a new "
        "identifier and the department would count each open case twice",
    )
    quarantine_keys: list[str] = Field(
        [],
        description="every consuming service: keys sealing its quarantined dead letters "
        "(AES-256-GCM), '<key-id>:<secret>', newest first (older ones stay to open entries "
        "sealed under them)",
    )
    quarantine_retention_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="quarantined dead letters older than this are deleted (an operator replays "
        "or discards them well before; erasure removes a person's at once)",
    )
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(0, description="/metrics on its own port; 0: not served")

    @property
    def database_name(self) -> str:
        return self.mongo_db or f"hearth_{self.service_name}"


@lru_cache
def get_settings() -> HearthSettings:
    return HearthSettings()
