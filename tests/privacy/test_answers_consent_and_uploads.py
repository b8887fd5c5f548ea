"""Issue 16: the referral service's answers cover each case's consent and the landlords' CSV
uploads naming the person's tenancy. Subject access lists them; erasure of some cases deletes
those cases' consents (and no other) and de-identifies the upload rows naming their tenancy
(reference, alert id and free text gone; line, status and counts kept), against the real
broker and database, checked by the raw database scan."""

from __future__ import annotations

import pytest

from shared.clock import ManualClock
from shared.events.privacy_events import ErasureScope
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.identity import bearer
from tests.privacy.answering import access_request, answer, erasure_request, values_found
from tests.referral.arrears.harness import upload_csv
from tests.referral.factories import referral_json
from tests.referral.service import running_referral

pytestmark = pytest.mark.integration

COUNCIL = "derby-council"
HOMES = bearer("derby-homes")
MANAGER = bearer(COUNCIL, ["service-manager"])
REFERENCE = "WREN-7171"  # distinctive, so the scan finds it only where it is held
UPLOADS = {"arrears_batches", "arrears_upload_rows"}
CSV = (
    "tenancy_reference,arrears_balance\n"
    f"{REFERENCE},40\n"  # accepted: the person's tenancy
    f" wren-7171 ,not-money\n"  # rejected (with its reason): the same tenancy, as typed
    "OTHER-1,40\n"  # someone else's: untouched
)


async def test_consents_and_upload_rows_are_listed_and_erased(make_settings, topic_reader) -> None:
    settings = make_settings("referral")
    await ensure_topics(settings)
    async with running_referral(settings, ManualClock()) as (runtime, client):
        job = await upload_csv(client, CSV, HOMES)
        assert job["counts"]["rejected"] == 1, job
        tenancy = {"landlord_organisation": "derby-homes", "tenancy_reference": REFERENCE}
        first = await client.post(
            "/v1/referrals", headers=MANAGER, json=referral_json(tenancy=tenancy)
        )
        assert first.status_code == 201, first.text
        second = await client.post("/v1/referrals", headers=MANAGER, json=referral_json())
        assert second.status_code == 201, second.text
        case_id, other_case = first.json()["id"], second.json()["id"]
        person_id = first.json()["person_id"]
        assert second.json()["person_id"] == person_id  # the same person, twice referred
        consents = runtime.db["consents"]
        await wait_for(lambda: consents.count_documents({"_id": {"$in": [case_id, other_case]}}))
        responses = await topic_reader(topic_name(Topic.PRIVACY_RESPONSES, settings.topic_prefix))

        # Subject access lists both consents, the upload rows and the rejected row.
        sar = access_request(COUNCIL, person_id)
        await publish(settings, sar)
        bundle = await answer(responses, sar, "referral")
        by_kind: dict[str, list[dict]] = {}
        for record in bundle["records"]:
            by_kind.setdefault(record["kind"], []).append(record)
        assert {r["record_id"] for r in by_kind["consent"]} == {case_id, other_case}
        (rows,) = by_kind["arrears upload rows"]
        assert rows["held_in"] == "referral/arrears_upload_rows"
        assert rows["data"]["landlord"] == "derby-homes"
        assert [r["line"] for r in rows["data"]["rows"]] == [2, 3]  # not OTHER-1's line
        (upload,) = by_kind["arrears upload"]
        assert upload["held_in"] == "referral/arrears_batches"
        assert [r["line"] for r in upload["data"]["rejected_rows"]] == [3]
        held = await values_found(runtime.db, [REFERENCE, "OTHER-1"])
        assert set(held[REFERENCE.lower()]) >= UPLOADS

        # Erasure of the first case: its consent goes, the rows naming its tenancy are
        # de-identified; the other case's consent and the other tenancy's row stay.
        erase = erasure_request(COUNCIL, person_id, scope=ErasureScope.CASES, case_ids=[case_id])
        await publish(settings, erase)
        done = await answer(responses, erase, "referral")
        assert done["erased"]["consent"] == 1
        assert done["deidentified"]["arrears upload row"] == 2  # its rejected copy with it
        assert await consents.find_one({"_id": case_id}) is None
        assert await consents.find_one({"_id": other_case}) is not None
        left = await values_found(runtime.db, [REFERENCE, "not-money"])
        assert not UPLOADS & set(left.get(REFERENCE.lower(), [])), left
        assert not UPLOADS & set(left.get("not-money", [])), left
        assert UPLOADS & set((await values_found(runtime.db, ["OTHER-1"]))["other-1"])
        stored = await runtime.db["arrears_upload_rows"].find_one({"job_id": job["job_id"]})
        kept = {r["line"]: r for r in stored["rows"]}
        assert kept[2]["deidentified"] and kept[2]["status"] in ("accepted", "unchanged")
        assert set(kept[2]) <= {"line", "status", "risk_level", "signalled", "deidentified"}
        assert kept[3]["status"] == "rejected" and kept[3]["field"] == "arrears_balance"
        assert "reason" not in kept[3] and kept[4]["tenancy_reference"] == "OTHER-1"
        batch = await runtime.db["arrears_batches"].find_one({"_id": job["job_id"]})
        assert batch["counts"]["rejected"] == 1 and batch["status"] == "completed"

        # Again: nothing more to do.
        again = erasure_request(COUNCIL, person_id, scope=ErasureScope.CASES, case_ids=[case_id])
        await publish(settings, again)
        repeat = await answer(responses, again, "referral")
        assert "consent" not in repeat["erased"]
        assert "arrears upload row" not in repeat["deidentified"]
