"""A landlord's notice shows its own tenancy reference while no platform topic carries it
(issue 16): tenancy ids are keyed pseudonyms of the reference, and the reference reaches
notifications only on the restricted topic, which it purges on erasure. The referral and
notifications services run in-process over the real broker and database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.topics import Topic, topic_name
from tests.identity import bearer
from tests.notifications.conftest import ORG, Harness, eventually
from tests.notifications.events import allocated
from tests.referral.factories import referral_json
from tests.referral.service import data, of_type, running_referral
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration

LANDLORD = "derby-homes"
REFERENCE = " dh-55501"  # as the council typed it; the landlord's own is DH-55501
SHOWN = "DH-55501"
SECRET_PART = b"55501"  # found in no record of a platform topic, in any case or field
OFFICER = "officer@derbyhomes.example"
CASEWORKER = "casey.worker@derby.example"  # tests/notifications/events.py allocated()


async def test_the_landlord_sees_its_reference_and_no_platform_topic_carries_it(
    harness: Harness, make_settings: Any, topic_reader: Any
) -> None:
    h = harness
    settings = make_settings("referral")
    prefix = settings.topic_prefix
    tenancy = tenancy_of(LANDLORD, REFERENCE)
    assert tenancy.startswith(f"{LANDLORD}:t-")
    settings_put = await h.api(
        "PUT", "/v1/settings", "key-homes", json={"housing_officer_email": OFFICER}
    )
    assert settings_put.status_code == 200, settings_put.text
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    async with running_referral(settings, clock) as (runtime, client):
        # The council's and the landlord's agreements (granted by the harness), in referral's
        # own book too, before the landlord's alert is decided.
        book = runtime.db["agreements"]
        await eventually(lambda: _at_least(book.count_documents({"version": 2}), 3))
        body = referral_json(
            tenancy={"landlord_organisation": LANDLORD, "tenancy_reference": REFERENCE}
        )
        made = await client.post("/v1/referrals", headers=bearer(ORG), json=body)
        assert made.status_code == 201, made.text
        case_id = made.json()["id"]
        # Notifications learns the reference from the restricted topic only.
        references = h.runtime.db["tenancy_references"]
        stored = await eventually(lambda: references.find_one({"_id": tenancy}))
        assert stored["reference"] == SHOWN and stored["landlord"] == LANDLORD
        await h.publish(allocated(case_id, tenancy_id=tenancy))  # as allocation would
        tenancies = runtime.db["tenancy_risk"]

        async def claimed() -> bool:
            doc = await tenancies.find_one({"_id": tenancy})
            return any(c["status"] == "open" for c in ((doc or {}).get("cases") or {}).values())

        await eventually(claimed)
        alert = {"tenancy_reference": SHOWN, "arrears_balance": 900, "weeks_in_arrears": 9}
        answer = await client.post("/v1/arrears-alerts", headers=bearer(LANDLORD), json=alert)
        assert answer.status_code == 200, answer.text
        assert answer.json()["signalled"] and answer.json()["tenancy_id"] == tenancy

        async def officer_told() -> list[Any]:
            return h.smtp.to(OFFICER)

        (notice,) = await eventually(officer_told)
        assert notice["Subject"] == f"Tenancy {SHOWN}: support service alerted"
        assert f"support service for tenancy {SHOWN}" in notice.get_content()
        urgent = await eventually(lambda: _urgent(h, CASEWORKER))
        assert f"Tenancy {SHOWN} is at high risk" in urgent[0].get_content()

        # Read as the broker's admin: every record of the platform topics, key, headers, data.
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, prefix))
        await risk.read_until(lambda r: len(of_type(r, "TenancyAtRisk")) >= 1)
        (signal,) = of_type(await risk.settle(1.0), "TenancyAtRisk")
        assert data(signal)["tenancy_id"] == tenancy
        for topic in (Topic.TENANCY_RISK, Topic.REFERRAL_EVENTS, Topic.CASE_EVENTS):
            reader = await topic_reader(topic_name(topic, prefix))
            records = await reader.read_until(lambda r: len(r) >= 1)
            for record in await reader.settle(1.0) or records:
                assert SECRET_PART not in _raw(record).upper(), (topic, record.headers)
        # Where the reference went: the restricted topic, as TenancyReferenceShared.
        contacts = await topic_reader(topic_name(Topic.CONTACTS, prefix))
        await contacts.read_until(lambda r: bool(of_type(r, "TenancyReferenceShared")))
        shared = of_type(contacts.records, "TenancyReferenceShared", tenancy)
        assert shared and data(shared[0])["reference"] == SHOWN


async def _at_least(count: Any, n: int) -> bool:
    return await count >= n


async def _urgent(h: Harness, address: str) -> list[Any]:
    return [m for m in h.smtp.to(address) if m["Subject"].startswith("URGENT")]


def _raw(record: Any) -> bytes:
    headers = b"".join(name.encode() + (value or b"") for name, value in record.headers)
    return (record.key or b"") + headers + (record.value or b"")
