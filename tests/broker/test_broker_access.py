"""The broker knows who writes: each principal writes only its own topics, and a partner's
ingress names its organisation, whatever the records' headers claim. Against the real broker
with SCRAM authentication and the standard authorizer's ACLs."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from devstack.broker_acls import apply_acls
from devstack.provision import Infrastructure
from shared.broker_access import SERVICE_ACCESS, ingress_topic, partner_principal, service_principal
from shared.clock import ManualClock
from shared.codes import ClosureReason, Route
from shared.events.case_events import CaseClosed
from shared.events.envelope import make_event, to_kafka
from shared.events.referral_events import ArrearsAlertSubmitted
from shared.events.referral_intake import ReferralSubmission, ReferralSubmitted
from shared.kafka import client_security, ensure_topics
from shared.settings import HearthSettings
from shared.topics import Topic, dlq_topic_name, topic_name
from tests.referral.arrears.harness import data_of, headers_of, of_type, running
from tests.referral.factories import referral_json
from tests.referral.service import running_referral

pytestmark = pytest.mark.integration

PARTNER = "test-landlord"


def passwords(infra: Infrastructure) -> dict[str, str]:
    if not infra.kafka_credentials_file:
        pytest.skip("this broker runs without authentication (HEARTH_KAFKA_CREDENTIALS_FILE)")
    return json.loads(Path(infra.kafka_credentials_file).read_text())


@pytest.fixture
async def prefix(infra: Infrastructure, make_settings) -> AsyncIterator[str]:
    """A namespace with the platform's topics and every principal's ACLs, made by the admin."""
    admin = make_settings("admin", partner_organisations=["test-landlord", "derby-homes"])
    passwords(infra)
    await ensure_topics(admin, [dlq_topic_name("referral-arrears", admin.topic_prefix)])
    await apply_acls(admin)
    yield admin.topic_prefix


async def write(infra: Infrastructure, principal: str, topic: str, envelope) -> None:
    key, value, headers = to_kafka(envelope)
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=10_000,
        **client_security(principal, passwords(infra)[principal]),
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )
    finally:
        await producer.stop()


def closure(organisation: str = "derby-council"):
    data = CaseClosed(
        case_id="case-1",
        person_id="person-1",
        route=Route.SUPPORT,
        reason=ClosureReason.PLAN_ACHIEVED,
        closed_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    return make_event(data, source="forged", organisation=organisation)


def alert(reference: str, organisation: str):
    data = ArrearsAlertSubmitted(tenancy_reference=reference, arrears_balance=900.0)
    return make_event(data, source="ha-system", organisation=organisation)


async def test_a_partner_cannot_publish_a_case_closure(infra, prefix) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await write(
            infra, partner_principal(PARTNER), topic_name(Topic.CASE_EVENTS, prefix), closure()
        )


async def test_a_partner_cannot_write_another_partners_ingress(infra, prefix) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await write(
            infra,
            partner_principal(PARTNER),
            ingress_topic(Topic.ARREARS_ALERTS, "derby-homes", prefix),
            alert("T-1", "derby-homes"),
        )
    with pytest.raises(TopicAuthorizationFailedError):  # nor the platform's own ingress
        await write(
            infra,
            partner_principal(PARTNER),
            topic_name(Topic.ARREARS_ALERTS, prefix),
            alert("T-1", PARTNER),
        )


async def test_a_service_writes_only_the_topics_it_owns(infra, prefix) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await write(
            infra,
            service_principal("notifications"),
            topic_name(Topic.CASE_EVENTS, prefix),
            closure(),
        )
    await write(
        infra, service_principal("support"), topic_name(Topic.CASE_EVENTS, prefix), closure()
    )


async def test_an_unknown_principal_is_not_let_in(infra, prefix) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka,
        request_timeout_ms=5_000,
        **client_security(partner_principal(PARTNER), "not-the-password"),
    )
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


async def test_the_organisation_is_the_ingress_topics_owner_not_the_header(
    infra, prefix, make_settings, topic_reader
) -> None:
    """A partner forges another organisation in its records: what it raises is its own, and a
    closure smuggled onto its ingress topic is dead-lettered, never acted on."""
    settings = make_settings(
        "referral",
        kafka_username=service_principal("referral"),
        kafka_password=passwords(infra)[service_principal("referral")],
        partner_organisations=["test-landlord", "derby-homes"],
    )
    own_ingress = ingress_topic(Topic.ARREARS_ALERTS, PARTNER, prefix)
    await write(infra, partner_principal(PARTNER), own_ingress, alert("T-9", "derby-homes"))
    await write(infra, partner_principal(PARTNER), own_ingress, closure())
    async with running(settings):
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, prefix))
        dlq = await topic_reader(dlq_topic_name("referral-arrears", prefix))
        await risk.read_until(lambda r: len(of_type(r, "TenancyAtRisk")) >= 1, timeout=60)
        dead = await dlq.read_until(lambda r: len(r) >= 1, timeout=60)
    at_risk = of_type(risk.records, "TenancyAtRisk")
    assert [headers_of(r)["ce_organisation"] for r in at_risk] == [PARTNER]
    assert data_of(at_risk[0])["tenancy_id"].startswith(f"{PARTNER}:")
    assert headers_of(dead[0])["ce_type"] == "hearth.CaseClosed.v1"
    assert "does not travel on this topic" in headers_of(dead[0])["hearth_dlq_reason"]


def test_every_service_may_do_what_its_code_does() -> None:
    """The access table against the code: each service may write every topic of the events it
    emits and read every topic it consumes."""
    for service, access in SERVICE_ACCESS.items():
        if importlib.util.find_spec(f"services.{service}") is None:
            continue
        app = importlib.import_module(f"services.{service}.app")
        settings = HearthSettings(service_name=service)
        runtime = app.build_runtime(settings)
        emitted = {model.TOPIC for model in app.EMITS}
        assert emitted <= access.writes, (service, emitted - access.writes)
        read = {
            topic[len(settings.topic_prefix) :]
            for consumer in runtime.consumers
            for topic in consumer.topics
        }
        assert read <= set(access.reads), (service, read - set(access.reads))


async def test_a_partner_raises_referrals_only_in_its_own_caseload(
    infra, prefix, make_settings, topic_reader
) -> None:
    """A partner agency names a council as the owner of its referral: the referral is the
    partner's own, in its own caseload."""

    settings = make_settings(
        "referral",
        kafka_username=service_principal("referral"),
        kafka_password=passwords(infra)[service_principal("referral")],
        partner_organisations=["test-landlord", "derby-homes"],
    )
    submission = ReferralSubmission.model_validate(referral_json())
    forged = make_event(
        ReferralSubmitted(referral_id="partner-ref-1", submission=submission),
        source="partner-system",
        organisation="derby-council",
    )
    await write(
        infra,
        partner_principal(PARTNER),
        ingress_topic(Topic.REFERRAL_INTAKE, PARTNER, prefix),
        forged,
    )
    async with running_referral(settings, ManualClock()):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, prefix))
        await events.read_until(lambda r: len(of_type(r, "ReferralReceived")) >= 1, timeout=60)
    received = of_type(events.records, "ReferralReceived")
    assert [headers_of(r)["ce_organisation"] for r in received] == [PARTNER]
