"""What reconnection tells the outcomes service (issue 18): the three-month follow-up of Tool 4
("Client still in accommodation and engaged after 3 months") as ReconnectionFollowedUp, and
the learning log's entries as LearningPointsRecorded (their themes and how many, never their
words); once each however often a request is retried."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.codes import LearningTheme
from shared.events.catalogue import LearningPointsRecorded, ReconnectionFollowedUp
from shared.topics import Topic, topic_name
from tests.helpers import publish
from tests.reconnection.harness import (
    DERBY,
    Harness,
    case_allocated,
    events_of,
    opened,
    ready_for_a_date,
    referral_assessed,
)

pytestmark = pytest.mark.integration


async def reconnected_and_stepped_down(h: Harness, case: str) -> str:
    """A case reconnected to Hull on 10 March 2026 and stepped down, in Tool 4 (Phase 8)."""
    cases = await ready_for_a_date(h, case)
    authority = {"area": "Hull", "contacted_on": "2026-03-02", "already_known": False}
    await h.call("POST", f"{cases}/authority-contacts", authority)
    await h.call("PUT", f"{cases}/reconnection-date", {"reconnection_date": "2026-03-10"})
    await h.call(
        "POST", f"{cases}/checklist/reconnection_planning/client_prepared_for_outcomes/complete", {}
    )
    await h.call("POST", f"{cases}/advance")
    risk = {"level": "medium", "risks": ["flight_risk"], "mitigations": "worker travels too"}
    await h.call("PUT", f"{cases}/risk-assessment", risk)
    await h.call("PUT", f"{cases}/travel-plan", {"mode": "train", "travel_date": "2026-03-10"})
    await h.call("PUT", f"{cases}/budget", {"allocated_pence": 15000})
    for item in ("client_briefed", "worker_attends", "settling_information"):
        await h.call("POST", f"{cases}/checklist/reconnection/{item}/complete", {})
    h.clock.set(datetime(2026, 3, 9, 9, 0, 1, tzinfo=UTC))
    assert await h.fire_due() == 1  # the pack, the day before
    h.clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    await h.call("PUT", f"{cases}/part-vii", {"status": "submitted", "on": "2026-03-10"})
    await h.call("PUT", f"{cases}/confidence-check", {"level": 4})
    await h.call("POST", f"{cases}/advance")
    await h.call("POST", f"{cases}/checklist/intensive_support/healthcare_access/complete", {})
    handover = {"agency": "Hull floating support", "service": "floating support"}
    await h.call("POST", f"{cases}/handovers", handover)
    h.clock.set(datetime(2026, 3, 13, 11, 0, tzinfo=UTC))
    await h.call("POST", f"{cases}/advance")
    h.clock.set(datetime(2026, 3, 31, 9, 0, tzinfo=UTC))
    for item in ("support_scaled_back", "local_help_encouraged"):
        await h.call("POST", f"{cases}/checklist/step_down/{item}/complete", {})
    view = await h.call("POST", f"{cases}/advance")
    assert view["case"]["phase"] == "case_closure_and_review"
    return cases


def of_case(records: list[Any], type_name: str, case_id: str) -> list[dict[str, Any]]:
    return [e for e in events_of(records, type_name) if e["data"].get("case_id") == case_id]


async def test_the_three_month_follow_up_is_emitted_once_and_again_when_corrected(
    harness: Harness, topic_reader
) -> None:
    """Tool 4, Phase 8: "(Client still in accommodation and engaged after 3 months)" and
    "Step 1 - Is client at 3 months post reconnection point?"."""
    h, case = harness, "ref-follow-1"
    cases = await reconnected_and_stepped_down(h, case)

    # Before the 3 months post reconnection point there is no follow-up to record.
    early = await h.http.put(
        f"/v1{cases}/closure/answers", json={"still_in_accommodation": True}, headers=DERBY
    )
    assert early.status_code == 409, early.text
    assert early.json()["errors"][0]["field"] == "still_in_accommodation"
    assert "2026-06-10" in early.json()["detail"]

    h.clock.set(datetime(2026, 6, 10, 9, 0, tzinfo=UTC))
    answers = {
        "sufficient_local_support": True,
        "low_risk_of_return": True,
        "still_in_accommodation": True,
        "engaged": True,
    }
    view = await h.call("PUT", f"{cases}/closure/answers", answers)
    assert view["case"]["closure"]["answers"]["still_in_accommodation"] is True
    assert view["closure_checklist"]["current_step"] == 3  # the walk itself is unchanged
    await h.call("PUT", f"{cases}/closure/answers", answers)  # sent again: nothing new
    h.clock.set(datetime(2026, 6, 12, 15, 0, tzinfo=UTC))
    await h.call("PUT", f"{cases}/closure/answers", {"engaged": False})  # a correction

    reader = await topic_reader(topic_name(Topic.CASE_EVENTS, h.settings.topic_prefix))
    await reader.read_until(lambda r: len(of_case(r, "ReconnectionFollowedUp", case)) >= 2)
    await reader.settle(1.0)
    followed = of_case(reader.records, "ReconnectionFollowedUp", case)
    first = ReconnectionFollowedUp(
        case_id=case,
        destination_area="Hull",
        reconnected_on=date(2026, 3, 10),
        followed_up_on=date(2026, 6, 10),
        still_in_accommodation=True,
        engaged=True,
    )
    corrected = first.model_copy(update={"followed_up_on": date(2026, 6, 12), "engaged": False})
    assert [e["data"] for e in followed] == [
        first.model_dump(mode="json"),
        corrected.model_dump(mode="json"),
    ]
    assert len({e["headers"]["ce_id"] for e in followed}) == 2
    # The phase changes name the destination once it is chosen.
    phases = of_case(reader.records, "ReconnectionPhaseChanged", case)
    areas = {e["data"]["phase"]: e["data"]["destination_area"] for e in phases}
    assert areas["reconnection"] == areas["case_closure_and_review"] == "Hull"


async def test_a_return_to_rough_sleeping_is_recorded_with_the_follow_up_and_emitted(
    harness: Harness, topic_reader
) -> None:
    """The three-month follow-up says whether the client returned to rough sleeping: refused
    before the 3 months post reconnection point and beside "still in accommodation", then
    emitted with the follow-up, and again when it is learnt later."""
    h, case = harness, "ref-follow-3"
    cases = await reconnected_and_stepped_down(h, case)
    returned = {"returned_to_rough_sleeping": True}
    early = await h.http.put(f"/v1{cases}/closure/answers", json=returned, headers=DERBY)
    assert early.status_code == 409, early.text
    assert early.json()["errors"][0]["field"] == "returned_to_rough_sleeping"

    h.clock.set(datetime(2026, 6, 10, 9, 0, tzinfo=UTC))
    both = {"still_in_accommodation": True, "returned_to_rough_sleeping": True}
    refused = await h.http.put(f"/v1{cases}/closure/answers", json=both, headers=DERBY)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "returned_to_rough_sleeping"
    assert "not still in accommodation" in refused.json()["detail"]
    view = await h.call("GET", cases)
    assert view["case"]["closure"]["answers"]["returned_to_rough_sleeping"] is None

    answers = {"still_in_accommodation": False, "engaged": False}
    await h.call("PUT", f"{cases}/closure/answers", answers)
    h.clock.set(datetime(2026, 6, 12, 15, 0, tzinfo=UTC))
    view = await h.call("PUT", f"{cases}/closure/answers", returned)  # learnt two days on
    assert view["case"]["closure"]["answers"]["returned_to_rough_sleeping"] is True
    await h.call("PUT", f"{cases}/closure/answers", returned)  # sent again: nothing new
    # Still in accommodation again, without withdrawing the return: refused.
    again = await h.http.put(
        f"/v1{cases}/closure/answers", json={"still_in_accommodation": True}, headers=DERBY
    )
    assert again.status_code == 409, again.text

    reader = await topic_reader(topic_name(Topic.CASE_EVENTS, h.settings.topic_prefix))
    await reader.read_until(lambda r: len(of_case(r, "ReconnectionFollowedUp", case)) >= 2)
    await reader.settle(1.0)
    first = ReconnectionFollowedUp(
        case_id=case,
        destination_area="Hull",
        reconnected_on=date(2026, 3, 10),
        followed_up_on=date(2026, 6, 10),
        still_in_accommodation=False,
        engaged=False,
        returned_to_rough_sleeping=False,
    )
    learnt = first.model_copy(
        update={"followed_up_on": date(2026, 6, 12), "returned_to_rough_sleeping": True}
    )
    assert [e["data"] for e in of_case(reader.records, "ReconnectionFollowedUp", case)] == [
        first.model_dump(mode="json"),
        learnt.model_dump(mode="json"),
    ]


async def test_learning_points_are_counted_by_theme_never_by_their_words(
    harness: Harness, topic_reader
) -> None:
    """Safe Connections Step 11: "Enter learning points into central log for discussion at
    next team meeting"; outcomes counts them by theme."""
    h, case = harness, "ref-learn-2"
    words = "Book the train on the day: advance tickets were lost twice"
    general = {
        "points": [words, "Ring Housing Options before the pack goes"],
        "themes": ["travel_and_budget", "destination_authority"],
        "recorded_by": "leader-1",
    }
    keyed = DERBY | {"Idempotency-Key": "meeting-2026-03-02"}
    first = await h.http.post("/v1/learning-log", json=general, headers=keyed)
    assert first.status_code == 201, first.text
    assert first.json()["themes"] == ["travel_and_budget", "destination_authority"]
    again = await h.http.post("/v1/learning-log", json=general, headers=keyed)
    assert again.headers["Idempotent-Replayed"] == "true"
    bad = await h.http.post(
        "/v1/learning-log", json={**general, "themes": ["gossip"]}, headers=DERBY
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("themes")

    # A case's own Step 11, after it closed and was reviewed.
    start = h.clock.now()
    await publish(h.settings, referral_assessed(case, start), case_allocated(case, start))
    await h.wait_case(case, opened)
    cases = f"/reconnection-cases/{case}"
    await h.call("POST", f"{cases}/close-early", {"reason": "disengaged", "note": "moved on"})
    await h.call("POST", f"{cases}/closure/review", {"lows": ["lost contact"]})
    step_11 = {"points": ["Keep a second contact number"], "themes": ["engagement"]}
    keyed = DERBY | {"Idempotency-Key": f"{case}-step-11"}
    logged = await h.http.post(f"/v1{cases}/closure/learning-points", json=step_11, headers=keyed)
    assert logged.status_code == 200, logged.text
    assert logged.json()["case"]["closure"]["answers"]["learning_points_logged"]
    again = await h.http.post(f"/v1{cases}/closure/learning-points", json=step_11, headers=keyed)
    assert again.headers["Idempotent-Replayed"] == "true"
    entry_id = logged.json()["case"]["closure"]["learning_entry_id"]

    reader = await topic_reader(topic_name(Topic.RECONNECTION_EVENTS, h.settings.topic_prefix))
    await reader.read_until(lambda r: len(events_of(r, "LearningPointsRecorded")) >= 2)
    await reader.settle(1.0)
    recorded = events_of(reader.records, "LearningPointsRecorded")
    # Keyed by case, or by entry when it names none: two partitions, so in either order.
    assert sorted((e["data"] for e in recorded), key=lambda d: -d["points"]) == [
        LearningPointsRecorded(
            entry_id=first.json()["id"],
            recorded_on=date(2026, 3, 2),
            points=2,
            themes=[LearningTheme.TRAVEL_AND_BUDGET, LearningTheme.DESTINATION_AUTHORITY],
        ).model_dump(mode="json"),
        LearningPointsRecorded(
            entry_id=entry_id,
            case_id=case,
            recorded_on=date(2026, 3, 2),
            points=1,
            themes=[LearningTheme.ENGAGEMENT],
        ).model_dump(mode="json"),
    ]
    assert len({e["headers"]["ce_id"] for e in recorded}) == 2
    assert all(b"advance tickets" not in r.value for r in reader.records)
    log = await h.call("GET", f"/learning-log?case_id={case}")
    assert [(e["id"], e["themes"]) for e in log] == [(entry_id, ["engagement"])]
