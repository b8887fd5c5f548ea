"""Who may read and write which topic: the broker's access table, once. Pure: no I/O.

Every service has its own principal (`hearth-<service>`) and may write only the topics whose
events it emits (plus the audit trail and its own dead-letter topics), read only the topics it
consumes, and join only its own consumer groups. `case.events` is the casework stream that
allocation, support and reconnection share, so that one case's events stay in one ordered
stream; nobody else may write it.

A partner with direct broker access (a housing association's arrears feed, a partner agency's
referral system) has the principal `partner-<organisation>` and may write only its own ingress
topics, `arrears.alerts.<organisation>` and `referral.intake.<organisation>`; it can read
nothing. The organisation of what arrives there is the topic's owner, never a header the
writer set (`shared.consumer.EventConsumer` overwrites it). Nothing on the broker is
addressed to partners: they receive notices by signed webhook, email or letter.

`devstack/broker_acls.py` turns this table into the standard authorizer's ACLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from shared.topics import SCENARIO_CLOCK, Topic, topic_name

ADMIN_PRINCIPAL = "admin"
# Organisation ids become topic names and principals: lowercase letters, digits and hyphens.
ORGANISATION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Topics partners write to, one per partner; the platform's own producers use the base topic.
INGRESS_TOPICS = (Topic.ARREARS_ALERTS, Topic.REFERRAL_INTAKE)


class Operation(StrEnum):
    READ = "read"
    WRITE = "write"
    CREATE = "create"
    DESCRIBE = "describe"
    DELETE = "delete"  # DeleteRecords: purging consumed personal data from a topic


@dataclass(frozen=True)
class Grant:
    principal: str
    resource: str  # "topic" | "group"
    name: str
    prefixed: bool  # True: every name starting with `name`
    operation: Operation


@dataclass(frozen=True)
class ServiceAccess:
    reads: frozenset[Topic]
    writes: frozenset[Topic]
    groups: tuple[str, ...] = ()  # consumer group names besides the service's own
    reads_partner_ingress: bool = False
    # Topics carrying personal data whose consumed records this service deletes on erasure.
    purges: frozenset[Topic] = frozenset()


T = Topic
# Every service that holds personal data hears subject-access and erasure requests and answers.
_ANSWERS_PRIVACY = ServiceAccess(
    reads=frozenset({T.PRIVACY_REQUESTS}), writes=frozenset({T.PRIVACY_RESPONSES})
)
SERVICE_ACCESS: dict[str, ServiceAccess] = {
    "referral": ServiceAccess(
        reads=frozenset(
            {T.REFERRAL_INTAKE, T.ARREARS_ALERTS, T.REFERRAL_EVENTS, T.CASE_EVENTS, T.AGREEMENTS}
            | _ANSWERS_PRIVACY.reads
        ),
        # ReferralSubmitted of its own prevention referrals goes through the intake topic.
        writes=frozenset({T.REFERRAL_EVENTS, T.TENANCY_RISK, T.CONTACTS, T.REFERRAL_INTAKE})
        | _ANSWERS_PRIVACY.writes,
        reads_partner_ingress=True,
        purges=frozenset({T.REFERRAL_INTAKE, T.ARREARS_ALERTS}),
    ),
    "allocation": ServiceAccess(
        reads=frozenset({T.REFERRAL_EVENTS, T.TENANCY_RISK, T.CASE_EVENTS, T.AGREEMENTS})
        | _ANSWERS_PRIVACY.reads,
        writes=frozenset({T.CASE_EVENTS}) | _ANSWERS_PRIVACY.writes,
    ),
    "support": ServiceAccess(
        # referral.events: the case's consent (ConsentChanged, issue 16), shown on the case.
        reads=frozenset({T.CASE_EVENTS, T.TENANCY_RISK, T.AGREEMENTS, T.REFERRAL_EVENTS})
        | _ANSWERS_PRIVACY.reads,
        writes=frozenset({T.CASE_EVENTS}) | _ANSWERS_PRIVACY.writes,
    ),
    "reconnection": ServiceAccess(
        # notification.events: the presentation pack's delivery, kept on the case (issue 20).
        reads=frozenset({T.REFERRAL_EVENTS, T.CASE_EVENTS, T.AGREEMENTS, T.NOTIFICATION_EVENTS})
        | _ANSWERS_PRIVACY.reads,
        # The restricted topic: the presentation pack for notifications to deliver (issue 20).
        writes=frozenset({T.CASE_EVENTS, T.RECONNECTION_EVENTS, T.CONTACTS})
        | _ANSWERS_PRIVACY.writes,
    ),
    "notifications": ServiceAccess(
        reads=frozenset(
            {
                T.REFERRAL_EVENTS,
                T.CASE_EVENTS,
                T.TENANCY_RISK,
                T.RECONNECTION_EVENTS,
                T.CONTACTS,
                T.AGREEMENTS,
            }
        )
        | _ANSWERS_PRIVACY.reads,
        writes=frozenset({T.NOTIFICATION_EVENTS}) | _ANSWERS_PRIVACY.writes,
        purges=frozenset({T.CONTACTS}),
    ),
    "audit": ServiceAccess(
        reads=frozenset({T.AUDIT, T.REFERRAL_EVENTS, T.CASE_EVENTS, T.AGREEMENTS})
        | _ANSWERS_PRIVACY.reads,
        writes=_ANSWERS_PRIVACY.writes,
    ),
    # Reporting: every spine topic, from the beginning (it can rebuild its store from them);
    # never the restricted topic, the privacy topics or the audit trail.
    "outcomes": ServiceAccess(
        reads=frozenset(
            {
                T.REFERRAL_EVENTS,
                T.TENANCY_RISK,
                T.CASE_EVENTS,
                T.RECONNECTION_EVENTS,
                T.NOTIFICATION_EVENTS,
                # Imported history (`import-history`), which no other service reads.
                T.OUTCOMES_HISTORY,
            }
        )
        | _ANSWERS_PRIVACY.reads,
        # Only its own import command writes the history topic.
        writes=frozenset({T.OUTCOMES_HISTORY}) | _ANSWERS_PRIVACY.writes,
    ),
    "agreements": ServiceAccess(
        reads=_ANSWERS_PRIVACY.reads, writes=frozenset({T.AGREEMENTS}) | _ANSWERS_PRIVACY.writes
    ),
    # Asks every service for a person's data (subject access, erasure, retention), gathers the
    # answers and deletes them from the answers topic once stored.
    "privacy": ServiceAccess(
        reads=frozenset({T.PRIVACY_RESPONSES, T.CASE_EVENTS}),
        writes=frozenset({T.PRIVACY_REQUESTS}),
        purges=frozenset({T.PRIVACY_RESPONSES}),
    ),
}


def service_principal(service: str) -> str:
    return f"hearth-{service}"


def partner_principal(organisation: str) -> str:
    return f"partner-{check_organisation_id(organisation)}"


def check_organisation_id(organisation: str) -> str:
    if not ORGANISATION_ID.match(organisation):
        raise ValueError(
            f"organisation: {organisation!r} is not an id of lowercase letters, digits and "
            "hyphens (it names a principal and topics)"
        )
    return organisation


def ingress_topic(topic: Topic, organisation: str, prefix: str) -> str:
    """The topic one partner writes `topic`'s events to: `<prefix><topic>.<organisation>`."""
    return f"{topic_name(topic, prefix)}.{check_organisation_id(organisation)}"


def ingress_owner(topic: str, prefix: str) -> str | None:
    """The partner organisation that owns this ingress topic, or None if it is no one's."""
    for base in INGRESS_TOPICS:
        head = f"{topic_name(base, prefix)}."
        if topic.startswith(head) and ORGANISATION_ID.match(topic[len(head) :]):
            return topic[len(head) :]
    return None


@dataclass(frozen=True)
class AccessTable:
    prefix: str
    services: dict[str, ServiceAccess] = field(default_factory=lambda: dict(SERVICE_ACCESS))
    partners: tuple[str, ...] = ()

    def grants(self) -> list[Grant]:
        grants: list[Grant] = []
        for service, access in self.services.items():
            grants += self._service_grants(service, access)
        for organisation in self.partners:
            principal = partner_principal(organisation)
            for base in INGRESS_TOPICS:
                name = ingress_topic(base, organisation, self.prefix)
                for operation in (Operation.WRITE, Operation.DESCRIBE):
                    grants.append(Grant(principal, "topic", name, False, operation))
        return grants

    def _service_grants(self, service: str, access: ServiceAccess) -> list[Grant]:
        principal = service_principal(service)
        out: list[Grant] = []

        def topic(name: str, *operations: Operation, prefixed: bool = False) -> None:
            out.extend(Grant(principal, "topic", name, prefixed, op) for op in operations)

        for read in sorted(access.reads):
            topic(topic_name(read, self.prefix), Operation.READ, Operation.DESCRIBE)
        if access.reads_partner_ingress:
            for base in INGRESS_TOPICS:
                topic(f"{topic_name(base, self.prefix)}.", Operation.READ, prefixed=True)
                topic(f"{topic_name(base, self.prefix)}.", Operation.DESCRIBE, prefixed=True)
        # The scenario clock (not in production: shared/scenario_clock.py), which every
        # service reads from its start and the first to start makes; only the admin writes.
        clock = topic_name(SCENARIO_CLOCK, self.prefix)
        topic(clock, Operation.READ, Operation.DESCRIBE, Operation.CREATE)
        for write in sorted({*access.writes, Topic.AUDIT}):
            topic(topic_name(write, self.prefix), Operation.WRITE, Operation.DESCRIBE)
            topic(topic_name(write, self.prefix), Operation.CREATE)
        for purged in sorted(access.purges):
            topic(topic_name(purged, self.prefix), Operation.DELETE)
            if purged in INGRESS_TOPICS and access.reads_partner_ingress:
                topic(f"{topic_name(purged, self.prefix)}.", Operation.DELETE, prefixed=True)
        # Its own dead-letter topics (`dlq.<group>`, every group starts with the service name).
        dlq = f"{self.prefix}dlq.{service}"
        topic(dlq, Operation.WRITE, Operation.READ, Operation.DESCRIBE, prefixed=True)
        topic(dlq, Operation.CREATE, prefixed=True)
        out.append(Grant(principal, "group", f"{self.prefix}{service}", True, Operation.READ))
        return out
