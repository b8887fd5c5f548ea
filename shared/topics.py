"""Every Kafka topic name, once. Logical names get the environment prefix from settings."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    # Inbound from partners with direct broker access.
    REFERRAL_INTAKE = "referral.intake"
    ARREARS_ALERTS = "arrears.alerts"
    # Platform events. Keyed by case id (or tenancy id) so each subject's events stay in order.
    REFERRAL_EVENTS = "referral.events"
    TENANCY_RISK = "tenancy.risk"
    CASE_EVENTS = "case.events"
    RECONNECTION_EVENTS = "reconnection.events"
    NOTIFICATION_EVENTS = "notification.events"
    # Contact details for notifications only, shared with consent; keyed by person.
    CONTACTS = "contacts.restricted"
    # Data-sharing agreements, from the agreements service to every service that checks them.
    AGREEMENTS = "agreements.events"
    # Subject access and erasure: requests to every service, answers to the privacy service only
    # (answers carry personal data and are deleted from the topic once consumed).
    PRIVACY_REQUESTS = "privacy.requests"
    PRIVACY_RESPONSES = "privacy.responses"
    # Who saw or changed what, and every refusal; keyed by organisation (one chain each).
    AUDIT = "audit.trail"
    # Imported history (generated for the demo, or migrated) that only the outcomes service
    # reads, so no other service acts on it (notifications would send, allocation allocate).
    OUTCOMES_HISTORY = "outcomes.history"


# The spine: pseudonymous ids, codes, dates and amounts, no personal details, kept for ever
# (retention.ms = -1) so the outcomes service can rebuild its store from the beginning.
KEPT_FOREVER = frozenset(
    {
        Topic.REFERRAL_EVENTS,
        Topic.TENANCY_RISK,
        Topic.CASE_EVENTS,
        Topic.RECONNECTION_EVENTS,
        Topic.NOTIFICATION_EVENTS,
        # Imported history: a rebuild reads it again (its events carry no personal data).
        Topic.OUTCOMES_HISTORY,
    }
)


# Topics whose events a landlord's feed causes in bulk: their consumers run a second consumer
# group for the bulk lane (`shared.lanes`, `shared.consumer`), so a person's events there never
# wait behind a batch. On any other topic one group handles every lane: the audit trail's
# chains, agreements and privacy requests keep one order; alerts are all bulk. Intake and
# contacts are purged once consumed, up to the offsets of every lane's group
# (`EventConsumer.purge_consumed`), so a bulk group behind the interactive one loses nothing.
LANED = frozenset(
    {
        Topic.REFERRAL_INTAKE,
        Topic.CONTACTS,
        Topic.REFERRAL_EVENTS,
        Topic.TENANCY_RISK,
        Topic.CASE_EVENTS,
        Topic.RECONNECTION_EVENTS,
        Topic.NOTIFICATION_EVENTS,
    }
)


def topic_configs(topic: Topic | str) -> dict[str, str]:
    """The configuration a platform topic is created with."""
    return {"retention.ms": "-1"} if topic in KEPT_FOREVER else {}


# Not a platform topic (never made in production): the scenario clock every service of a
# non-production deployment follows, one partition (shared/scenario_clock.py).
SCENARIO_CLOCK = "platform.clock"


def topic_name(topic: Topic | str, prefix: str) -> str:
    return f"{prefix}{topic}"


def dlq_topic_name(group: str, prefix: str) -> str:
    """One dead-letter topic per consumer group, so an operator sees whose stream it was."""
    return f"{prefix}dlq.{group}"


def all_topic_names(prefix: str) -> list[str]:
    return [topic_name(t, prefix) for t in Topic]
