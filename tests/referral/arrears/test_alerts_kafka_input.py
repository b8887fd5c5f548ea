"""Issue 16: an alert on the arrears.alerts topic is read with the same plausible-input types as
the webhook's, so `arrears_balance: true` is never £1.00 and a date no one meant is never acted
on: dead-lettered with the field named, beside good alerts that are recorded."""

from __future__ import annotations

import pytest

from shared.events.envelope import make_event
from shared.events.referral_events import ArrearsAlertSubmitted
from shared.kafka import ensure_topics
from shared.topics import Topic, dlq_topic_name, topic_name
from tests.helpers import publish
from tests.referral.arrears.harness import data_of, headers_of, of_type, running

pytestmark = pytest.mark.integration


def alert(ref: str, **data: object):
    """An envelope as a partner's system would publish it, with `data` written as is (not
    through the model, which would refuse it before it reaches the broker)."""
    valid = ArrearsAlertSubmitted(tenancy_reference=ref, arrears_balance=600.0, weeks_in_arrears=9)
    envelope = make_event(valid, source="ha-system", organisation="derby-homes")
    return envelope.model_copy(update={"data": {**envelope.data, **data}})


def test_the_event_model_refuses_a_boolean_balance_and_an_implausible_date() -> None:
    with pytest.raises(ValueError, match="arrears_balance"):
        ArrearsAlertSubmitted.model_validate({"tenancy_reference": "K", "arrears_balance": True})
    with pytest.raises(ValueError, match="eviction_date"):
        ArrearsAlertSubmitted.model_validate(
            {"tenancy_reference": "K", "arrears_balance": 600, "eviction_date": "0001-01-01"}
        )


async def test_a_boolean_balance_on_kafka_is_dead_lettered_naming_the_field(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    dlq_name = dlq_topic_name("referral-arrears", settings.topic_prefix)
    await ensure_topics(settings, [dlq_name])
    await publish(
        settings,
        alert("B-1", arrears_balance=True),
        alert("B-2", eviction_date="0001-01-01"),
        alert("B-3"),  # good: recorded and signalled
    )
    async with running(settings) as svc:
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        dlq = await topic_reader(dlq_name)
        dead = await dlq.read_until(lambda r: len(r) >= 2, timeout=60)
        reasons = sorted(headers_of(r)["hearth_dlq_reason"] for r in dead)
        assert reasons[0].startswith("data.arrears_balance:"), reasons
        assert "not true or false" in reasons[0]
        assert reasons[1].startswith("data.eviction_date:"), reasons
        await risk.read_until(lambda r: len(of_type(r, "TenancyAtRisk")) >= 1)
        await risk.settle(1.0)
        (signal,) = of_type(risk.records, "TenancyAtRisk")  # the good alert's only
        # Never acted on: the one tenancy with a risk state is the good alert's.
        (state,) = await svc.runtime.db["tenancy_risk"].find({}).to_list(None)
        assert state["_id"] == data_of(signal)["tenancy_id"]
        assert state["last_alert"]["arrears_balance"] == 600.0
