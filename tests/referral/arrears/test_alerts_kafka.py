"""Arrears alerts from the arrears.alerts topic: the same pipeline, in batches, idempotent."""

from __future__ import annotations

import pytest

from shared.events.envelope import make_event
from shared.events.referral_events import ArrearsAlertSubmitted
from shared.kafka import ensure_topics
from shared.topics import Topic, dlq_topic_name, topic_name
from tests.helpers import publish
from tests.referral.arrears.harness import data_of, headers_of, of_type, running
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration


def alert(ref: str, organisation: str = "derby-homes", **fields):
    data = ArrearsAlertSubmitted(tenancy_reference=ref, **{"arrears_balance": 600.0, **fields})
    return make_event(data, source="ha-system", organisation=organisation)


async def test_alerts_on_kafka_signal_once_and_redelivery_changes_nothing(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    await ensure_topics(settings, [dlq_topic_name("referral-arrears", settings.topic_prefix)])
    medium = [alert(f"K-{i}", weeks_in_arrears=5) for i in range(300)]
    lower = [alert(f"K-{i}", weeks_in_arrears=4.5) for i in range(300)]  # same level again
    rises = [alert(f"K-{i}", legal_stage="notice_served") for i in range(0, 300, 3)]
    foreign = alert("K-1", landlord="leeds-council")
    bad = alert("K-2", trend="sideways")
    await publish(settings, *medium, *medium[:50], *lower, *rises)
    async with running(settings) as svc:
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        intake = await topic_reader(topic_name(Topic.REFERRAL_INTAKE, settings.topic_prefix))
        dlq = await topic_reader(dlq_topic_name("referral-arrears", settings.topic_prefix))
        await risk.read_until(lambda r: len(r) >= 400, timeout=60)
        await intake.read_until(lambda r: len(r) >= 300, timeout=60)
        # Poison alerts in a batch: the good ones are recorded, the bad ones dead-lettered.
        await publish(settings, alert("K-900", weeks_in_arrears=9), foreign, bad)
        dead = await dlq.read_until(lambda r: len(r) >= 2, timeout=60)
        await risk.read_until(lambda r: len(r) >= 401, timeout=30)
        await risk.settle(1.0)
        assert len(of_type(risk.records, "TenancyAtRisk")) == 401
        await intake.read_until(lambda r: len(r) >= 301, timeout=30)
        assert len(of_type(intake.records, "ReferralSubmitted")) == 301
        reasons = sorted(headers_of(r)["hearth_dlq_reason"] for r in dead)
        assert reasons[0].startswith("data.landlord:")
        assert reasons[1].startswith("data.trend:")
        notices = [data_of(r) for r in risk.records if data_of(r)["legal_stage"] == "notice_served"]
        assert len(notices) == 100 and all(d["prevention_case_id"] is None for d in notices)
        assert all(d["alert_id"] for d in notices)
        # The same events delivered again (a partner's retry) add nothing.
        await publish(settings, *medium[:100], *rises[:10])
        await risk.settle(2.0)
        assert len(risk.records) == 401
        tenancies = svc.runtime.db["tenancy_risk"]
        doc = await tenancies.find_one({"_id": tenancy_of("derby-homes", "K-0")})
        # Nothing left queued (a new tenancy's events never sit in it: an outbox batch).
        assert doc["signalled_level"] == "high" and not doc.get("_outbox")
