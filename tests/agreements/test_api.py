"""The agreements API with real tokens on the real broker and database: refusals first (wrong
role, the wrong organisation answering, another organisation's agreement), then the life of one
agreement, its events and its audit entries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.topics import Topic, topic_name
from tests.agreements.conftest import (
    ADMIN,
    AUDITOR,
    CASEWORKER,
    COUNCIL,
    LANDLORD,
    MANAGER,
    OTHER,
    AgreementsApp,
    proposal,
)

pytestmark = pytest.mark.integration


def _payloads(records: list[Any], short_type: str) -> list[dict[str, Any]]:
    wanted = f"hearth.{short_type}.v1"
    return [json.loads(r.value) for r in records if dict(r.headers)["ce_type"].decode() == wanted]


# --- refusals -----------------------------------------------------------------------------


async def test_only_organisation_admins_change_agreements(agreements: AgreementsApp) -> None:
    for headers in (MANAGER, AUDITOR, CASEWORKER):
        await agreements.call("POST", "/agreements", headers, 403, proposal())
    created = await agreements.propose()
    for headers in (MANAGER, AUDITOR):
        path = f"/agreements/{created['agreement_id']}/accept"
        await agreements.call("POST", path, headers, 403, {})


async def test_caseworkers_do_not_read_agreements(agreements: AgreementsApp) -> None:
    await agreements.call("GET", "/agreements", CASEWORKER, 403)


async def test_proposing_with_yourself_is_refused_naming_counterparty(
    agreements: AgreementsApp,
) -> None:
    answer = await agreements.call(
        "POST", "/agreements", ADMIN[LANDLORD], 422, proposal(counterparty=LANDLORD)
    )
    assert answer["errors"][0]["field"] == "counterparty"
    assert answer["detail"].startswith("counterparty:")


async def test_bad_proposals_name_the_field(agreements: AgreementsApp) -> None:
    starts = datetime.now(UTC)
    cases = {
        "ends": proposal(starts=starts.isoformat(), ends=(starts - timedelta(days=1)).isoformat()),
        "categories": proposal(categories=[]),
        "purpose": proposal(purpose="selling-data"),
        "counterparty": proposal(counterparty="no spaces allowed"),
        "starts": proposal(starts="2026-03-02T09:00:00"),  # no time zone: ambiguous
    }
    for field, body in cases.items():
        answer = await agreements.call("POST", "/agreements", ADMIN[LANDLORD], 422, body)
        assert answer["detail"].startswith(field), (field, answer)
    assert (await agreements.call("GET", "/agreements", ADMIN[LANDLORD], 200))["count"] == 0


async def test_the_proposer_cannot_accept_their_own_proposal(agreements: AgreementsApp) -> None:
    created = await agreements.propose()
    path = f"/agreements/{created['agreement_id']}/accept"
    answer = await agreements.call("POST", path, ADMIN[LANDLORD], 409, {})
    assert "only the counterparty (derby-council)" in answer["detail"]
    shown = await agreements.call(
        "GET", f"/agreements/{created['agreement_id']}", ADMIN[LANDLORD], 200
    )
    assert shown["status"] == "proposed" and shown["version"] == 1


async def test_another_organisation_neither_sees_nor_answers_an_agreement(
    agreements: AgreementsApp,
) -> None:
    created = await agreements.propose()
    agreement_id = created["agreement_id"]
    missing = await agreements.call("GET", f"/agreements/{agreement_id}", ADMIN[OTHER], 404)
    absent = await agreements.call("GET", "/agreements/agr-does-not-exist", ADMIN[OTHER], 404)
    assert missing["detail"].replace(agreement_id, "X") == absent["detail"].replace(
        "agr-does-not-exist", "X"
    )  # not there and not yours read alike
    for change in ("accept", "decline", "end"):
        path = f"/agreements/{agreement_id}/{change}"
        await agreements.call("POST", path, ADMIN[OTHER], 404, {})
    assert (await agreements.call("GET", "/agreements", ADMIN[OTHER], 200))["count"] == 0
    shown = await agreements.call("GET", f"/agreements/{agreement_id}", ADMIN[COUNCIL], 200)
    assert shown["status"] == "proposed" and shown["version"] == 1


async def test_ending_twice_and_accepting_an_ended_one_are_refused(
    agreements: AgreementsApp,
) -> None:
    created = await agreements.propose()
    base = f"/agreements/{created['agreement_id']}"
    await agreements.call("POST", f"{base}/end", ADMIN[LANDLORD], 200, {"note": "withdrawn"})
    again = await agreements.call("POST", f"{base}/end", ADMIN[COUNCIL], 409, {})
    assert again["errors"][0]["field"] == "status" and "already ended" in again["detail"]
    accepted = await agreements.call("POST", f"{base}/accept", ADMIN[COUNCIL], 409, {})
    assert "ended" in accepted["detail"]


async def test_changes_and_refusals_are_on_the_audit_trail(
    agreements: AgreementsApp, topic_reader: Callable[[str], Any]
) -> None:
    reader = await topic_reader(topic_name(Topic.AUDIT, agreements.settings.topic_prefix))
    created = await agreements.propose()
    agreement_id = created["agreement_id"]
    await agreements.call("POST", f"/agreements/{agreement_id}/accept", ADMIN[LANDLORD], 409, {})
    await agreements.call("POST", f"/agreements/{agreement_id}/accept", ADMIN[COUNCIL], 200, {})
    await agreements.call("GET", f"/agreements/{agreement_id}", ADMIN[OTHER], 404)
    await agreements.call("POST", "/agreements", MANAGER, 403, proposal())

    def entries(records: list[Any]) -> list[dict[str, Any]]:
        return _payloads(records, "AuditRecorded")

    found = entries(await reader.read_until(lambda r: len(entries(r)) >= 5))
    # Keyed by organisation: in order within one organisation's chain, not across them.
    summary = [(e["organisation"], e["outcome"], e["status"], e["action"]) for e in found]
    assert sorted(summary) == sorted(
        [
            (LANDLORD, "allowed", 201, "agreements.manage"),
            (LANDLORD, "refused", 409, "agreements.manage"),
            (COUNCIL, "allowed", 200, "agreements.manage"),
            (OTHER, "refused", 404, "agreements.read"),
            (COUNCIL, "refused", 403, "agreements.manage"),
        ]
    )
    about = [e for e in found if e["record_id"] == agreement_id]
    assert len(about) == 4  # all but the refused proposal, which named no agreement
    refused_accept = next(e for e in found if e["status"] == 409)
    assert "only the counterparty" in refused_accept["reason"]


# --- the life of an agreement -------------------------------------------------------------


async def test_proposed_accepted_ended_each_change_published_whole(
    agreements: AgreementsApp, topic_reader: Callable[[str], Any]
) -> None:
    reader = await topic_reader(topic_name(Topic.AGREEMENTS, agreements.settings.topic_prefix))
    created = await agreements.propose()
    agreement_id = created["agreement_id"]
    assert created["status"] == "proposed" and created["awaiting"] == COUNCIL
    assert created["live"] is False and created["version"] == 1

    for who in (ADMIN[COUNCIL], MANAGER, AUDITOR, ADMIN[LANDLORD]):
        listed = await agreements.call("GET", "/agreements", who, 200)
        assert [a["agreement_id"] for a in listed["agreements"]] == [agreement_id]

    accepted = await agreements.call(
        "POST", f"/agreements/{agreement_id}/accept", ADMIN[COUNCIL], 200, {"note": "agreed"}
    )
    assert accepted["status"] == "active" and accepted["live"] is True
    assert accepted["version"] == 2 and accepted["awaiting"] is None
    active = await agreements.call(
        "GET", "/agreements?status=active&purpose=arrears-prevention", MANAGER, 200
    )
    assert active["count"] == 1

    ended = await agreements.call(
        "POST", f"/agreements/{agreement_id}/end", ADMIN[COUNCIL], 200, {}
    )
    assert ended["status"] == "ended" and ended["live"] is False and ended["version"] == 3
    assert ended["ends"] is not None
    assert [c["change"] for c in ended["history"]] == ["proposed", "accepted", "ended"]
    assert ended["history"][1]["note"] == "agreed"

    def changes(records: list[Any]) -> list[dict[str, Any]]:
        return _payloads(records, "AgreementChanged")

    published = changes(await reader.read_until(lambda r: len(changes(r)) >= 3))
    assert [(p["change"], p["status"], p["version"]) for p in published] == [
        ("proposed", "proposed", 1),
        ("accepted", "active", 2),
        ("ended", "ended", 3),
    ]
    assert {p["agreement_id"] for p in published} == {agreement_id}
    assert published[1]["changed_by_organisation"] == COUNCIL
    assert sorted(published[0]["categories"]) == ["arrears", "tenancy"]


async def test_the_counterparty_declines(agreements: AgreementsApp) -> None:
    created = await agreements.propose()
    declined = await agreements.call(
        "POST",
        f"/agreements/{created['agreement_id']}/decline",
        ADMIN[COUNCIL],
        200,
        {"note": "we route prevention through our own triage"},
    )
    assert declined["status"] == "declined" and declined["version"] == 2
