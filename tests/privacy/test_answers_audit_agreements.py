"""The audit and agreements services answer subject access and erasure (issue 16): the audit
trail about the person's records (kept whole on erasure), and the organisation's agreements
(no personal data: erasure answers with zero counts)."""

from __future__ import annotations

import pytest

from shared.topics import Topic, topic_name
from tests.agreements.conftest import ADMIN, COUNCIL, LANDLORD, AgreementsApp
from tests.audit.conftest import (  # noqa: F401  chain_settings: the audit tests' fixture
    AuditService,
    audit_event,
    chain_settings,
    referral_received,
)
from tests.helpers import publish
from tests.privacy.answering import access_request, answer, erasure_request

pytestmark = pytest.mark.integration


async def test_audit_answers_with_the_trail_about_the_person(
    chain_settings,  # noqa: F811  the audit tests' fixture
    topic_reader,
) -> None:
    service = await AuditService(chain_settings()).start()
    settings = service.settings
    try:
        await publish(
            settings,
            referral_received(COUNCIL, "case-1", "p-1"),
            referral_received(COUNCIL, "case-2", "p-2"),
        )
        await publish(
            settings,
            audit_event(COUNCIL, 1, record_id="case-1"),
            audit_event(COUNCIL, 2, actor="worker-2", listed_ids=("case-1", "case-2")),
            audit_event(COUNCIL, 3, record_id="case-2"),
        )
        await service.wait_for_entries(COUNCIL, 3)
        responses = await topic_reader(topic_name(Topic.PRIVACY_RESPONSES, settings.topic_prefix))
        sar = access_request(COUNCIL, "p-1")
        await publish(settings, sar)
        bundle = await answer(responses, sar, "audit")
        records = bundle["records"]
        assert len(records) == 2 and all(r["kind"] == "audit entry" for r in records)
        assert {r["data"]["actor_subject"] for r in records} == {"worker-1", "worker-2"}
        listed = [r for r in records if "listed_records" in r["data"]]
        assert listed[0]["data"]["listed_records"] == ["case-1"]  # never case-2 (p-2's)
        assert all(r["held_in"] == "audit/entries" and r["held_since"] for r in records)

        erase = erasure_request(COUNCIL, "p-1")
        await publish(settings, erase)
        done = await answer(responses, erase, "audit")
        assert done["erased"] == {} and done["deidentified"] == {}
        assert len(await service.chain(COUNCIL)) == 3  # the trail is kept whole
        assert (await service.store.verify(COUNCIL)).intact
    finally:
        await service.stop()


async def test_agreements_answer_with_the_organisations_agreements(
    make_settings, topic_reader
) -> None:
    service = AgreementsApp(make_settings("agreements"))
    await service.runtime.start()
    try:
        proposed = await service.propose()
        path = f"/agreements/{proposed['agreement_id']}/accept"
        await service.call("POST", path, ADMIN[COUNCIL], 200, {})
        settings = service.settings
        responses = await topic_reader(topic_name(Topic.PRIVACY_RESPONSES, settings.topic_prefix))
        sar, erase = access_request(COUNCIL, "p-1"), erasure_request(COUNCIL, "p-1")
        await publish(settings, sar, erase)
        bundle = await answer(responses, sar, "agreements")
        (record,) = bundle["records"]
        assert record["kind"] == "data-sharing agreement"
        assert record["data"]["purpose"] == "arrears-prevention"
        assert record["data"]["status"] == "active"
        assert record["shared_with"] == [f"{LANDLORD}: arrears-prevention (active)"]
        assert "note" not in record["data"]
        done = await answer(responses, erase, "agreements")
        assert done["erased"] == {} and done["deidentified"] == {}
    finally:
        await service.stop()
