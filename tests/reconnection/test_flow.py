"""A reconnection referral walked through all eight phases over HTTP, on the real broker and
database, with the presentation pack and the step-down review emitted as the clock moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.events.catalogue import CaseAllocated
from shared.events.envelope import make_event
from shared.topics import Topic, topic_name
from tests.helpers import publish
from tests.identity import bearer
from tests.reconnection.harness import (
    LEEDS,
    ORG,
    Harness,
    case_allocated,
    events_of,
    opened,
    phases_of,
    ready_for_a_date,
    referral_assessed,
)

pytestmark = pytest.mark.integration


async def test_reconnection_walked_through_all_eight_phases(harness: Harness, topic_reader) -> None:
    h, case = harness, "ref-walk-1"
    cases = f"/reconnection-cases/{case}"
    start = h.clock.now()
    # Allocation reacts to the assessment, so the allocation follows it here.
    await publish(h.settings, referral_assessed(case, start))
    view = await h.wait_case(case, lambda v: v["case"]["phase"] == "identify")
    assert view["checklists"][0]["open_required"] == []  # the referrer's assessment
    await publish(h.settings, case_allocated(case, start))
    view = await h.wait_case(case, opened)
    assert view["case"]["referring_area"] == "Hackney"
    assert view["case"]["lead_worker_id"] == "worker-1"
    # Another organisation never sees it.
    await h.call("GET", cases, expect=404, headers=LEEDS)

    # Phase 3, engage: the phase cannot be completed with required items open.
    refused = await h.call("POST", f"{cases}/advance", expect=409)
    assert "consent_recorded" in refused["detail"]
    for item in ("consent_recorded", "service_explained", "referral_information_confirmed"):
        await h.call("POST", f"{cases}/checklist/engage/{item}/complete", {"note": "done"})
    view = await h.call(
        "PUT",
        f"{cases}/local-connection",
        {
            "residence": [
                {"area": "Leeds", "start": "2022-06-01", "end": "2025-12-31"},
                {"area": "Hackney", "start": "2026-01-01"},
            ],
            "family": [{"area": "Leeds", "relationship": "mother", "years_in_area": 30}],
            "employment": [{"area": "Hackney", "employer": "market stall"}],
        },
    )
    candidates = view["case"]["local_connection"]["result"]["candidates"]
    assert [c["area"] for c in candidates] == ["Leeds"]
    assert view["case"]["local_connection"]["result"]["excluded"][0]["area"] == "Hackney"
    contacts = [
        {"on": (start - timedelta(days=d)).date().isoformat(), "bedded_down": d < 10}
        for d in (1, 5, 9, 14, 20, 26)
    ]
    view = await h.call(
        "PUT",
        f"{cases}/eligibility",
        {
            "street_contacts": contacts,
            "recourse_to_public_funds": True,
            "recourse_basis": "uk_national",
            "has_id": True,
            "id_documents": ["birth certificate"],
        },
    )
    assert view["case"]["eligibility"]["result"]["verdict"] == "eligible"
    await h.call("POST", f"{cases}/advance")

    # Phase 4, reconnection planning.
    await h.call("PUT", f"{cases}/destination", {"area": "hackney"}, expect=409)
    await h.call("PUT", f"{cases}/destination", {"area": "leeds"})
    await h.call(
        "POST",
        f"{cases}/authority-contacts",
        {
            "area": "Leeds",
            "contacted_on": "2026-03-02",
            "organisation": "leeds-council",
            "already_known": False,
            "notes": "rough sleeping highlighted; Part VII intended",
        },
    )
    await h.call(
        "PUT", f"{cases}/reconnection-date", {"reconnection_date": "2026-03-10"}, expect=409
    )  # the pack is not complete
    for item in (
        "id",
        "proof_of_benefits",
        "address_history",
        "priority_need_evidence",
        "covering_letter",
    ):
        await h.call("PUT", f"{cases}/presentation-pack/{item}", {"status": "done"})
    await h.call(
        "PUT",
        f"{cases}/presentation-pack/id",
        {"status": "not_applicable", "reason": "x"},
        expect=409,
    )
    await h.call(
        "PUT",
        f"{cases}/presentation-pack/medical_information",
        {"status": "not_applicable", "reason": "no medical needs disclosed"},
    )
    view = await h.call("PUT", f"{cases}/reconnection-date", {"reconnection_date": "2026-03-10"})
    assert view["presentation_pack_sends_at"].startswith("2026-03-09T09:00")
    await h.call(
        "POST", f"{cases}/checklist/reconnection_planning/client_prepared_for_outcomes/complete", {}
    )
    await h.call("POST", f"{cases}/advance")

    # Phase 5, reconnection: risk, travel, budget and spend.
    await h.call(
        "PUT",
        f"{cases}/risk-assessment",
        {"level": "medium", "risks": ["flight_risk"], "mitigations": "worker travels with client"},
    )
    await h.call("PUT", f"{cases}/travel-plan", {"mode": "train", "travel_date": "2026-03-10"})
    await h.call("PUT", f"{cases}/budget", {"allocated_pence": 15000})
    await h.call("POST", f"{cases}/budget/spend", {"amount_pence": 9000, "category": "travel"})
    await h.call(
        "POST", f"{cases}/budget/spend", {"amount_pence": 7000, "category": "food"}, expect=409
    )  # overspend refused...
    view = await h.call(
        "POST",
        f"{cases}/budget/spend",
        {  # ...unless approved, then flagged
            "amount_pence": 7000,
            "category": "food",
            "approved_overspend_reason": "delayed train",
        },
    )
    assert view["budget"]["overspent"] and view["case"]["budget"]["spends"][-1]["overspend"]
    for item in ("client_briefed", "worker_attends", "settling_information"):
        await h.call("POST", f"{cases}/checklist/reconnection/{item}/complete", {})

    # The day before: the pack goes out.
    assert await h.fire_due() == 0
    h.clock.set(datetime(2026, 3, 9, 9, 0, 1, tzinfo=UTC))
    assert await h.fire_due() == 1
    view = await h.call("GET", cases)
    assert view["case"]["pack_sent_at"] is not None

    # The day itself.
    await h.call("PUT", f"{cases}/confidence-check", {"level": 4}, expect=409)  # not the day yet
    h.clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    await h.call("PUT", f"{cases}/part-vii", {"status": "submitted", "on": "2026-03-10"})
    await h.call("PUT", f"{cases}/confidence-check", {"level": 4, "concerns": "nervous"})
    view = await h.call("POST", f"{cases}/advance")
    assert view["case"]["phase"] == "intensive_support"
    assert view["intensive_support_until"] == "2026-06-10"

    # Phase 6, intensive support: at least 72 hours, handed over to local services.
    await h.call("POST", f"{cases}/checklist/intensive_support/healthcare_access/complete", {})
    await h.call(
        "POST",
        f"{cases}/handovers",
        {
            "agency": "Leeds floating support",
            "service": "floating support",
            "organisation": "leeds-floating",
        },
    )
    await h.call("POST", f"{cases}/advance", expect=409)  # under 72 hours
    h.clock.set(datetime(2026, 3, 13, 11, 0, tzinfo=UTC))
    await h.call("POST", f"{cases}/advance")
    h.clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    await h.call("PUT", f"{cases}/part-vii", {"status": "positive", "on": "2026-03-20"})

    # Three weeks after reconnection: the step-down prompt.
    h.clock.set(datetime(2026, 3, 31, 9, 0, tzinfo=UTC))
    assert await h.fire_due() == 1
    for item in ("support_scaled_back", "local_help_encouraged"):
        await h.call("POST", f"{cases}/checklist/step_down/{item}/complete", {})
    await h.call("POST", f"{cases}/advance")

    # Phase 8, Tool 4: not before the 3 months point.
    view = await h.call("GET", cases)
    assert view["closure_checklist"]["current_step"] == 1 and view["closure_checklist"]["restart"]
    h.clock.set(datetime(2026, 6, 10, 9, 0, tzinfo=UTC))
    assert await h.fire_due() == 1  # the 3-month closure review
    view = await h.call(
        "PUT",
        f"{cases}/closure/answers",
        {
            "sufficient_local_support": True,
            "low_risk_of_return": True,
            "in_temporary_accommodation": True,
        },
    )
    assert view["closure_checklist"]["current_step"] == 7  # positive decision: Step 4 -> 6
    await h.call("POST", f"{cases}/closure/close", {}, expect=409)  # Step 7 first
    await h.call(
        "POST",
        f"{cases}/closure/letter",
        {
            "local_support": "Leeds floating support, GP",
            "crisis_plan": "call Leeds housing options",
        },
    )
    await h.call(
        "POST",
        f"{cases}/closure/agencies-notified",
        {
            "agencies": [
                {"name": "Hackney outreach", "organisation": "hackney-outreach"},
                {"name": "Leeds floating support", "organisation": "leeds-floating"},
            ]
        },
    )
    view = await h.call("POST", f"{cases}/closure/close", {"note": "settled"})
    assert view["case"]["closed"]["reason"] == "reconnected"
    await h.call(
        "POST", f"{cases}/closure/review", {"highs": ["positive decision"], "lows": ["train delay"]}
    )
    view = await h.call(
        "POST", f"{cases}/closure/learning-points", {"points": ["book travel on the day"]}
    )
    assert view["closure_checklist"]["complete"]
    log = await h.call("GET", f"/learning-log?case_id={case}")
    assert log[0]["points"] == ["book travel on the day"]
    assert await h.call("GET", "/learning-log", headers=LEEDS) == []

    # What the other services saw.
    case_events = await topic_reader(topic_name(Topic.CASE_EVENTS, h.settings.topic_prefix))
    records = await case_events.read_until(lambda r: len(events_of(r, "CaseClosed")) >= 1)
    assert phases_of(records, case) == [
        (None, "identify"),
        ("identify", "allocate"),
        ("allocate", "engage"),
        ("engage", "reconnection_planning"),
        ("reconnection_planning", "reconnection"),
        ("reconnection", "intensive_support"),
        ("intensive_support", "step_down"),
        ("step_down", "case_closure_and_review"),
    ]
    reviews = [e["data"] for e in events_of(records, "ReviewDue")]
    assert [(r["review_point"], r["due_on"], r["route"]) for r in reviews] == [
        ("step_down", "2026-03-31", "reconnection"),
        ("closure_3_months", "2026-06-10", "reconnection"),
    ]
    closed = events_of(records, "CaseClosed")[0]
    assert closed["data"]["route"] == "reconnection" and closed["data"]["reason"] == "reconnected"
    # Tool 4, step 7: the letter names the case's own support (notifications writes it).
    assert closed["data"]["local_support"] == "Leeds floating support, GP"
    assert closed["data"]["crisis_support"] == "call Leeds housing options"
    assert closed["headers"]["ce_organisation"] == ORG
    assert set(closed["data"]["involved_organisations"]) >= {"hackney-outreach", "leeds-floating"}
    packs = await topic_reader(topic_name(Topic.RECONNECTION_EVENTS, h.settings.topic_prefix))
    pack_records = await packs.read_until(lambda r: len(r) >= 1)
    pack = events_of(pack_records, "PresentationPackDue")[0]["data"]
    assert (pack["case_id"], pack["destination_area"], pack["reconnection_date"]) == (
        case,
        "Leeds",
        "2026-03-10",
    )
    assert pack["document_id"] == view["case"]["pack_document"]["document_id"]


async def test_opened_in_either_order_once_and_other_routes_ignored(
    harness: Harness, topic_reader
) -> None:
    h, case = harness, "ref-order-2"
    at = h.clock.now()
    allocated, assessed = case_allocated(case, at), referral_assessed(case, at)
    support = case_allocated("ref-support-3", at)
    support_data = CaseAllocated.model_validate({**support.data, "route": "support"})
    support = make_event(support_data, source="tests", organisation=ORG, time=at)
    await publish(h.settings, allocated, support)
    await h.wait_case(case, lambda v: v["case"]["phase"] == "engage")
    await publish(h.settings, assessed, allocated, assessed)  # late, and redelivered
    view = await h.wait_case(case, lambda v: v["case"]["referring_area"] == "Hackney")
    assert view["case"]["phase"] == "engage" and view["case"]["lead_worker_id"] == "worker-1"
    await h.call("GET", "/reconnection-cases/ref-support-3", expect=404)

    reader = await topic_reader(topic_name(Topic.CASE_EVENTS, h.settings.topic_prefix))
    records = await reader.read_until(lambda r: len(phases_of(r, case)) >= 2)
    await reader.settle(1.0)
    assert phases_of(reader.records, case) == [(None, "allocate"), ("allocate", "engage")]
    listed = await h.call("GET", "/reconnection-cases?phase=engage")
    assert [c["case_id"] for c in listed] == [case]
    assert await h.call("GET", "/reconnection-cases", headers=LEEDS) == []
    assert records


async def test_no_progress_closes_the_case_for_review_and_re_referral(
    harness: Harness, topic_reader
) -> None:
    h, case = harness, "ref-stalled-4"
    at = h.clock.now()
    await publish(h.settings, referral_assessed(case, at), case_allocated(case, at))
    await h.wait_case(case, opened)
    h.clock.advance(timedelta(weeks=10))
    view = await h.call("GET", f"/reconnection-cases/{case}")
    assert view["days_without_progress"] == 70
    stalled = await h.call("GET", "/reconnection-cases?open=true&stalled_days=56")
    assert [c["case_id"] for c in stalled] == [case]
    assert await h.call("GET", "/reconnection-cases?stalled_days=71") == []
    await h.call(
        "POST",
        f"/reconnection-cases/{case}/close-early",
        {"reason": "no_progress", "note": "no contact for ten weeks"},
    )
    await h.call("POST", f"/reconnection-cases/{case}/advance", expect=409)
    await h.call("POST", f"/reconnection-cases/{case}/closure/review", {"lows": ["lost contact"]})
    entry = await h.call(
        "POST",
        "/learning-log",
        {"case_id": case, "points": ["refer with recent contacts only"]},
        expect=201,
    )
    view = await h.call("GET", f"/reconnection-cases/{case}")
    assert view["case"]["closure"]["learning_entry_id"] == entry["id"]
    await h.call(
        "POST", "/learning-log", {"case_id": case, "points": ["x"]}, expect=404, headers=LEEDS
    )

    reader = await topic_reader(topic_name(Topic.CASE_EVENTS, h.settings.topic_prefix))
    records = await reader.read_until(lambda r: len(events_of(r, "CaseClosed")) >= 1)
    closed = events_of(records, "CaseClosed")[0]["data"]
    assert (closed["reason"], closed["route"]) == ("no_progress", "reconnection")
    assert closed["involved_organisations"] == ["hackney-outreach"]

    # Re-referral later is a new referral, so a new case.
    again = "ref-stalled-4-again"
    await publish(h.settings, referral_assessed(again, h.clock.now()))
    view = await h.wait_case(again, lambda v: v["case"]["phase"] == "identify")
    assert view["case"]["closed"] is None


async def test_a_moved_reconnection_date_sends_the_pack_once_for_the_new_date(
    harness: Harness, topic_reader
) -> None:
    h, case = harness, "ref-moved-5"
    cases = await ready_for_a_date(h, case)
    await h.call("PUT", f"{cases}/reconnection-date", {"reconnection_date": "2026-03-10"})
    await h.call("PUT", f"{cases}/reconnection-date", {"reconnection_date": "2026-03-12"})
    h.clock.set(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    await h.fire_due()  # the old date's timer finds nothing to send
    view = await h.call("GET", cases)
    assert view["case"]["pack_sent_at"] is None
    h.clock.set(datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    assert await h.fire_due() == 1
    assert await h.fire_due() == 0
    reader = await topic_reader(topic_name(Topic.RECONNECTION_EVENTS, h.settings.topic_prefix))
    await reader.read_until(lambda r: len(r) >= 1)
    await reader.settle(1.0)
    packs = [e["data"] for e in events_of(reader.records, "PresentationPackDue")]
    assert [(p["case_id"], p["destination_area"], p["reconnection_date"]) for p in packs] == [
        (case, "Hull", "2026-03-12")
    ]


async def test_closing_early_cancels_the_pending_pack(harness: Harness, topic_reader) -> None:
    h, case = harness, "ref-cancel-6"
    cases = await ready_for_a_date(h, case)
    await h.call("PUT", f"{cases}/reconnection-date", {"reconnection_date": "2026-03-10"})
    await h.call("POST", f"{cases}/close-early", {"reason": "disengaged", "note": "moved on"})
    h.clock.set(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    assert await h.fire_due() == 0
    reader = await topic_reader(topic_name(Topic.RECONNECTION_EVENTS, h.settings.topic_prefix))
    await reader.settle(1.0)
    assert reader.records == []


async def test_a_reconnection_case_is_reached_by_its_team_only(harness: Harness) -> None:
    h, case = harness, "ref-reach-1"
    start = h.clock.now()
    await publish(h.settings, referral_assessed(case, start))
    await h.wait_case(case, lambda v: v["case"]["phase"] == "identify")
    await publish(h.settings, case_allocated(case, start))  # team safe-connections, worker-1
    await h.wait_case(case, opened)
    outreach = bearer(ORG, ["caseworker"], ["safe-connections"], "worker-2")
    elsewhere = bearer(ORG, ["caseworker"], ["tenancy-support"], "worker-3")
    leader_elsewhere = bearer(ORG, ["team-leader"], ["tenancy-support"])
    await h.call("GET", f"/reconnection-cases/{case}", headers=outreach)
    await h.call("GET", f"/reconnection-cases/{case}", expect=404, headers=elsewhere)
    await h.call("GET", f"/reconnection-cases/{case}", expect=404, headers=leader_elsewhere)
    await h.call(
        "POST",
        f"/reconnection-cases/{case}/checklist/engage/consent_recorded/complete",
        {"note": "not theirs"},
        expect=404,
        headers=elsewhere,
    )
    listed = await h.call("GET", "/reconnection-cases", headers=elsewhere)
    assert [c["case_id"] for c in listed] == []
    listed = await h.call("GET", "/reconnection-cases", headers=outreach)
    assert [c["case_id"] for c in listed] == [case]
