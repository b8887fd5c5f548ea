"""The auditors' API with real tokens: an auditor sees their own organisation's trail only,
filters and trails answer what was asked, verification names tampering, and nobody but an
auditor gets in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from services.audit.chain import entry_id
from shared.settings import HearthSettings
from tests.audit.conftest import (
    CHAIN_KEY,
    START,
    AuditService,
    audit_event,
    case_allocated,
    referral_received,
)
from tests.helpers import publish, wait_for
from tests.identity import bearer

pytestmark = pytest.mark.integration

ORG_A = "org-a"
ORG_B = "org-b"
AUDITOR_A = bearer(ORG_A, roles=["auditor"])
AUDITOR_B = bearer(ORG_B, roles=["auditor"])
MANAGER_A = bearer(ORG_A, roles=["service-manager"])
ROUTES = (
    "/v1/audit/entries",
    "/v1/audit/people/person-p",
    "/v1/audit/records/case-1",
    "/v1/audit/verification",
)


@pytest.fixture
async def service(make_settings: Callable[..., HearthSettings]) -> AsyncIterator[AuditService]:
    started = await AuditService(make_settings("audit", audit_chain_key=CHAIN_KEY)).start()
    try:
        yield started
    finally:
        await started.stop()


async def _get(
    service: AuditService, path: str, headers: Any, status: int = 200, **params: Any
) -> Any:
    response = await service.http.get(path, headers=headers, params=params)
    assert response.status_code == status, (path, response.status_code, response.text)
    return response.json()


async def _two_organisations(service: AuditService) -> None:
    await publish(
        service.settings,
        referral_received(ORG_A, "case-1", "person-p"),
        case_allocated(ORG_A, "case-2", "person-p"),
        referral_received(ORG_B, "case-9", "person-p"),
        audit_event(ORG_A, 1, actor="worker-1", record_id="case-1"),
        audit_event(ORG_A, 2, actor="worker-2", record_id="case-2"),
        audit_event(ORG_A, 3, actor="worker-1", record_id="case-3"),
        audit_event(ORG_A, 4, actor="intruder", record_id="case-1", outcome="refused"),
        audit_event(ORG_B, 1, actor="worker-b", record_id="case-1"),
        audit_event(ORG_B, 2, actor="worker-b", record_id="case-9"),
    )
    await service.wait_for_entries(ORG_A, 4)
    await service.wait_for_entries(ORG_B, 2)
    await wait_for(lambda: _cases_known(service))


async def _cases_known(service: AuditService) -> bool:
    store = service.store
    return (
        len(await store.cases_of("person-p", ORG_A)) == 2
        and len(await store.cases_of("person-p", ORG_B)) == 1
    )


async def test_an_auditor_sees_their_own_organisations_entries_only(
    service: AuditService,
) -> None:
    await _two_organisations(service)
    seen_by_a = await _get(service, "/v1/audit/entries", AUDITOR_A)
    assert [e["sequence"] for e in seen_by_a] == [4, 3, 2, 1]  # newest first
    assert {e["organisation"] for e in seen_by_a} == {ORG_A}
    assert seen_by_a[-1]["id"] == entry_id(ORG_A, 1)
    assert seen_by_a[-1]["actor_subject"] == "worker-1"
    assert seen_by_a[-1]["record_id"] == "case-1"

    seen_by_b = await _get(service, "/v1/audit/entries", AUDITOR_B)
    assert [(e["organisation"], e["actor_subject"]) for e in seen_by_b] == [
        (ORG_B, "worker-b"),
        (ORG_B, "worker-b"),
    ]
    # Another organisation's record is not in this auditor's trail.
    trail = await _get(service, "/v1/audit/records/case-9", AUDITOR_A)
    assert trail == {"record_id": "case-9", "entries": []}


async def test_entries_are_filtered_by_who_what_how_and_when(service: AuditService) -> None:
    await _two_organisations(service)

    async def sequences(**params: Any) -> list[int]:
        return [
            e["sequence"] for e in await _get(service, "/v1/audit/entries", AUDITOR_A, **params)
        ]

    assert await sequences(actor_subject="worker-1") == [3, 1]
    assert await sequences(record_id="case-1") == [4, 1]
    assert await sequences(outcome="refused") == [4]
    # (The auditor's own reads are on the trail too, as they land: filter to stay exact.)
    assert await sequences(record_id="case-1", limit=1) == [4]
    since = (START + timedelta(seconds=2)).isoformat()
    until = (START + timedelta(seconds=4)).isoformat()
    assert await sequences(**{"from": since, "to": until}) == [3, 2]
    assert await sequences(actor_subject="worker-1", **{"from": since}) == [3]

    bad = await _get(service, "/v1/audit/entries", AUDITOR_A, 422, limit=501)
    assert bad["errors"][0]["field"] == "query.limit"
    bad = await _get(service, "/v1/audit/entries", AUDITOR_A, 422, outcome="maybe")
    assert bad["errors"][0]["field"] == "query.outcome"
    bad = await _get(service, "/v1/audit/entries", AUDITOR_A, 422, **{"from": "yesterday"})
    assert bad["errors"][0]["field"] == "query.from"
    bad = await _get(service, "/v1/audit/entries", AUDITOR_A, 422, **{"from": until, "to": since})
    assert bad["detail"].startswith("from:")


async def test_who_has_seen_a_persons_record_and_one_record(service: AuditService) -> None:
    await _two_organisations(service)
    trail = await _get(service, "/v1/audit/people/person-p", AUDITOR_A)
    assert trail["case_ids"] == ["case-1", "case-2"]
    assert [(e["actor_subject"], e["record_id"], e["outcome"]) for e in trail["entries"]] == [
        ("intruder", "case-1", "refused"),
        ("worker-2", "case-2", "allowed"),
        ("worker-1", "case-1", "allowed"),
    ]
    # The same person's case in organisation B is B's auditor's business only.
    trail = await _get(service, "/v1/audit/people/person-p", AUDITOR_B)
    assert trail["case_ids"] == ["case-9"]
    assert [(e["organisation"], e["record_id"]) for e in trail["entries"]] == [(ORG_B, "case-9")]
    trail = await _get(service, "/v1/audit/people/nobody-known", AUDITOR_A)
    assert trail == {"person_id": "nobody-known", "case_ids": [], "entries": []}

    trail = await _get(service, "/v1/audit/records/case-1", AUDITOR_A, limit=1)
    assert [e["actor_subject"] for e in trail["entries"]] == ["intruder"]


async def test_verification_names_the_entry_altered_in_the_database(
    service: AuditService,
) -> None:
    await _two_organisations(service)
    answer = await _get(service, "/v1/audit/verification", AUDITOR_A)
    assert answer["intact"] is True and answer["finding"] is None
    assert (answer["organisation"], answer["entries_checked"], answer["head_sequence"]) == (
        ORG_A,
        4,
        4,
    )

    await service.store.entries.update_one(
        {"_id": entry_id(ORG_A, 2)}, {"$set": {"outcome": "refused"}}
    )
    answer = await _get(service, "/v1/audit/verification", AUDITOR_A)
    assert answer["intact"] is False
    assert answer["finding"]["sequence"] == 2
    assert answer["finding"]["entry_id"] == entry_id(ORG_A, 2)
    assert answer["finding"]["problem"] == "altered"
    # Organisation B's chain is its own, and intact.
    assert (await _get(service, "/v1/audit/verification", AUDITOR_B))["intact"] is True


async def test_only_an_auditor_reads_the_trail_and_refusals_are_recorded(
    service: AuditService,
) -> None:
    for path in ROUTES:
        await _get(service, path, MANAGER_A, 403)
    for path in ROUTES:
        response = await service.http.get(path)
        assert response.status_code == 401, path
    # The audit service's own refusals land in the caller's chain like any other.
    entries = await service.wait_for_entries(ORG_A, len(ROUTES))
    assert {(e["outcome"], e["action"], e["service"]) for e in entries} == {
        ("refused", "audit.read", "audit")
    }
    assert (await service.store.verify(ORG_A)).intact


async def test_an_auditors_own_reading_is_on_the_trail(service: AuditService) -> None:
    await _two_organisations(service)
    await _get(service, "/v1/audit/people/person-p", AUDITOR_A)

    async def own_reads() -> list[Any]:
        entries = await _get(service, "/v1/audit/entries", AUDITOR_A)
        return [e for e in entries if e["path"] == "/audit/people/{person_id}"]

    [read] = await wait_for(own_reads)
    assert read["action"] == "audit.read" and read["actor_roles"] == ["auditor"]
    assert read["outcome"] == "allowed" and read["organisation"] == ORG_A


async def test_a_list_that_showed_the_persons_case_is_in_their_trail(
    service: AuditService,
) -> None:
    await _two_organisations(service)
    caseload = audit_event(ORG_A, 5, actor="worker-3", listed_ids=("case-7", "case-2"))
    await publish(service.settings, caseload)
    await service.wait_for_entries(ORG_A, 5)
    trail = await _get(service, "/v1/audit/people/person-p", AUDITOR_A)
    listed = [e for e in trail["entries"] if e["actor_subject"] == "worker-3"]
    assert [(e["record_id"], e["listed_ids"]) for e in listed] == [(None, ["case-7", "case-2"])]
