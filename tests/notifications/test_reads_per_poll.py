"""Planning a poll's deliveries reads the agreements, contacts and consents it needs once for
the poll, however many events it holds (an arrears batch raises thousands of referrals, each
acknowledged to a referrer of another organisation)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from shared.events.base import event_type_name
from shared.events.catalogue import ReferralReceived
from shared.events.envelope import Envelope
from shared.kafka import ensure_topics
from tests.database_commands import database_commands
from tests.notifications.conftest import Harness
from tests.notifications.events import referral

pytestmark = pytest.mark.integration

PER_POLL = ("agreements", "contacts", "consents", "tenancy_references", "cases")


async def cost(service: str, step: Callable[[], Awaitable[None]]) -> dict[str, int]:
    before = database_commands(service)
    await step()
    after = database_commands(service)
    return {name: after[name] - before[name] for name in PER_POLL}


async def test_a_poll_of_referrals_reads_as_much_as_a_poll_of_two(
    notification_settings, smtp, provider
) -> None:
    # Settings and templates cached (as deployed), so only what a poll reads is counted.
    h = Harness(notification_settings(smtp.port, cache_seconds=60.0), smtp, provider)
    await ensure_topics(h.settings)
    await h.broker.connect()
    await h.runtime.start(background_loops=False)  # no delivery worker among the counts
    try:
        await h.grant("leeds-council")
        consumer = next(c for c in h.runtime.consumers if c.batch_handlers)
        handle = consumer.batch_handlers[event_type_name(ReferralReceived)][1]
        service = h.settings.service_name

        def poll(events: list[Envelope]) -> Callable[[], Awaitable[None]]:
            return lambda: handle([(e, e.payload()) for e in events])

        await poll([referral("c-0")])()  # settings and templates into the cache
        two = await cost(service, poll([referral("c-1"), referral("c-2")]))
        eight_events = [referral(f"c-{i}") for i in range(3, 11)]
        eight = await cost(service, poll(eight_events))
        assert eight == two
        assert two["agreements"] == 1 and two["contacts"] == 1 and two["consents"] == 1

        acknowledged = await h.deliveries(trigger_event_type="ReferralReceived")
        assert {d["case_id"] for d in acknowledged} == {f"c-{i}" for i in range(11)}
        # The same poll again (a redelivery) reads as little and records nothing new.
        again = await cost(service, poll(eight_events))
        assert (again["agreements"], again["contacts"], again["consents"]) == (1, 1, 1)
        assert len(await h.deliveries(trigger_event_type="ReferralReceived")) == len(acknowledged)
    finally:
        await h.stop()
