"""Flow 5 end to end, every service its own process: a reconnection referral is screened to
reconnection, allocated to a Safe Connections caseworker, opened by the reconnection service and
walked through all eight phases to CaseClosed — with the presentation pack sent the day before
the reconnection and the step-down and 3-month reviews coming due on their own as the clock
moves."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from devstack.platform import Platform
from shared.settings import HearthSettings
from shared.topics import Topic
from tests.e2e.conftest import Api, move_clock
from tests.e2e.streams import EventLog, eventually
from tests.referral.factories import reconnection_json

pytestmark = pytest.mark.integration

WORKER_EMAIL = "kim.reconnection@derby-council.test"
LEADER_EMAIL = "lee.leader@derby-council.test"

# Every service lives from 08:00 UTC tomorrow (real time), so no step of the walk depends on
# when the test runs; the clock is then only ever moved forward, to chosen moments.
DAY_ONE = datetime.now(UTC).date() + timedelta(days=1)
RECONNECTION_DAY = DAY_ONE + timedelta(days=7)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    """Calendar months, the 31st falling back to the month's last day."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


THREE_MONTHS_ON = add_months(RECONNECTION_DAY, 3)
STEP_DOWN_ON = RECONNECTION_DAY + timedelta(weeks=3)


@pytest.fixture
def day_one(platform: Platform) -> datetime:
    """Written before the services start, so each reads it on its very first clock read."""
    start = at(DAY_ONE, 8)
    move_clock(platform, start - datetime.now(UTC))
    return start


@pytest.fixture
def services(day_one: datetime, all_services: Platform) -> Platform:
    return all_services


def set_up_team(api: Api) -> None:
    team = {
        "id": "safe-connections",
        "name": "Safe Connections",
        "team_leader": {"id": "lee", "name": "Lee Leader", "email": LEADER_EMAIL},
    }
    r = api.post("allocation", "/teams", team)
    assert r.status_code == 201, r.text
    worker = {
        "id": "kim",
        "team_id": "safe-connections",
        "name": "Kim Reconnection",
        "email": WORKER_EMAIL,
        "specialisms": ["reconnection"],
        "contracted_hours": 30,
        "max_caseload": 10,
    }
    r = api.post("allocation", "/caseworkers", worker)
    assert r.status_code == 201, r.text


class Walk:
    """One reconnection case over the reconnection service's HTTP API, as derby-council."""

    def __init__(self, platform: Platform, api: Api, case_id: str) -> None:
        self.platform = platform
        self.api = api
        self.path = f"/reconnection-cases/{case_id}"

    def call(self, method: str, path: str = "", body: Any = None, expect: int = 200) -> Any:
        url = self.path + path
        if method == "GET":
            response = self.api.get("reconnection", url)
        elif method == "PUT":
            response = self.api.put("reconnection", url, body)
        else:
            response = self.api.post("reconnection", url, body)
        assert response.status_code == expect, (method, url, response.status_code, response.text)
        return response.json()

    def view(self) -> Any:
        return self.call("GET")

    def tick(self, phase: str, *items: str) -> None:
        for item in items:
            self.call("POST", f"/checklist/{phase}/{item}/complete", {"note": "done"})

    def advance(self, to: str) -> Any:
        view = self.call("POST", "/advance")
        assert view["case"]["phase"] == to
        return view

    async def move_to(self, moment: datetime) -> None:
        """Every service's clock to `moment`; returns once the reconnection service lives there
        (its view of the days without progress is the one reading of its clock over HTTP)."""
        before = self.view()
        last = datetime.fromisoformat(before["case"]["last_progress_at"])
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        expected = (moment - last).days
        assert expected != before["days_without_progress"], "the move would not be observable"
        move_clock(self.platform, moment - datetime.now(UTC))
        await eventually(
            lambda: self.view()["days_without_progress"] == expected,
            timeout=15,
            what=f"the reconnection service's clock at {moment}",
        )


def phases(log: EventLog, case_id: str) -> list[tuple[str | None, str]]:
    return [
        (d["previous_phase"], d["phase"])
        for _, d in log.of_type("ReconnectionPhaseChanged")
        if d["case_id"] == case_id
    ]


def reviews(log: EventLog, case_id: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
    return [(h, d) for h, d in log.of_type("ReviewDue") if d["case_id"] == case_id]


def event_time(headers: dict[str, str]) -> datetime:
    return datetime.fromisoformat(headers["ce_time"].replace("Z", "+00:00"))


async def test_reconnection_referral_walked_through_eight_phases_to_closure(
    services: Platform, e2e_settings: HearthSettings, derby: Api, leeds: Api
) -> None:
    set_up_team(derby)
    topics = (Topic.REFERRAL_EVENTS, Topic.CASE_EVENTS, Topic.RECONNECTION_EVENTS)
    async with EventLog(e2e_settings, *topics) as log:
        # Flow 1 -> 3: screened to reconnection, allocated to the reconnection worker.
        response = derby.post("referral", "/referrals", reconnection_json())
        assert response.status_code == 201, response.text
        accepted = response.json()
        case_id = accepted["id"]
        assert accepted["route"] == "reconnection", accepted

        await log.wait_for(
            lambda log_: case_id in log_.distinct("CaseAllocated", "case_id"),
            timeout=30,
            what="CaseAllocated",
        )
        [(assessed_headers, assessed)] = [
            (h, d) for h, d in log.of_type("ReferralAssessed") if d["case_id"] == case_id
        ]
        assert assessed["route"] == "reconnection" and assessed["referring_area"] == "Hackney"
        assert assessed_headers["ce_organisation"] == "derby-council"
        [(headers, allocated)] = [
            (h, d) for h, d in log.of_type("CaseAllocated") if d["case_id"] == case_id
        ]
        assert allocated["route"] == "reconnection"
        assert allocated["lead_worker_id"] == "kim" and allocated["team_id"] == "safe-connections"
        assert headers["ce_organisation"] == "derby-council"

        # Phases 1-2 by the events: the reconnection service opened the case in engage.
        walk = Walk(services, derby, case_id)

        def opened() -> bool:
            r = derby.get("reconnection", walk.path)
            return r.status_code == 200 and (
                r.json()["case"]["phase"] == "engage"
                and r.json()["case"]["referring_area"] == "Hackney"
            )

        await eventually(opened, timeout=30, what="the reconnection case opened in engage")
        view = walk.view()
        assert view["case"]["lead_worker_id"] == "kim"
        assert view["case"]["organisation"] == "derby-council"
        # Another council never sees it; the support service never opened it.
        assert leeds.get("reconnection", walk.path).status_code == 404
        assert leeds.get("reconnection", "/reconnection-cases").json() == []
        assert leeds.get("referral", f"/referrals/{case_id}").status_code == 404
        assert derby.get("support", f"/cases/{case_id}").status_code == 404

        # Phase 3, engage: not completed with required items open.
        refused = walk.call("POST", "/advance", expect=409)
        assert "consent_recorded" in refused["detail"]
        walk.tick(
            "engage", "consent_recorded", "service_explained", "referral_information_confirmed"
        )
        today = DAY_ONE
        view = walk.call(
            "PUT",
            "/local-connection",
            {
                "residence": [
                    {
                        "area": "Leeds",
                        "start": (today - timedelta(days=1370)).isoformat(),
                        "end": (today - timedelta(days=61)).isoformat(),
                    },
                    {"area": "Hackney", "start": (today - timedelta(days=60)).isoformat()},
                ],
                "family": [{"area": "Leeds", "relationship": "mother", "years_in_area": 30}],
                "employment": [{"area": "Hackney", "employer": "market stall"}],
            },
        )
        result = view["case"]["local_connection"]["result"]
        assert [c["area"] for c in result["candidates"]] == ["Leeds"]
        assert result["excluded"][0]["area"] == "Hackney"
        contacts = [
            {"on": (today - timedelta(days=d)).isoformat(), "bedded_down": d < 10}
            for d in (1, 5, 9, 14, 20, 26)
        ]
        view = walk.call(
            "PUT",
            "/eligibility",
            {
                "street_contacts": contacts,
                "recourse_to_public_funds": True,
                "recourse_basis": "uk_national",
                "has_id": True,
                "id_documents": ["birth certificate"],
            },
        )
        assert view["case"]["eligibility"]["result"]["verdict"] == "eligible"
        walk.advance("reconnection_planning")

        # Phase 4, reconnection planning.
        walk.call("PUT", "/destination", {"area": "hackney"}, expect=409)  # the referring area
        walk.call("PUT", "/destination", {"area": "leeds"})
        walk.call(
            "POST",
            "/authority-contacts",
            {
                "area": "Leeds",
                "contacted_on": today.isoformat(),
                "organisation": "leeds-council",
                "already_known": False,
                "notes": "rough sleeping highlighted; Part VII intended",
            },
        )
        day = {"reconnection_date": RECONNECTION_DAY.isoformat()}
        walk.call("PUT", "/reconnection-date", day, expect=409)  # the pack is not complete
        for item in (
            "id",
            "proof_of_benefits",
            "address_history",
            "priority_need_evidence",
            "covering_letter",
        ):
            walk.call("PUT", f"/presentation-pack/{item}", {"status": "done"})
        walk.call(
            "PUT", "/presentation-pack/id", {"status": "not_applicable", "reason": "x"}, expect=409
        )
        walk.call(
            "PUT",
            "/presentation-pack/medical_information",
            {"status": "not_applicable", "reason": "no medical needs disclosed"},
        )
        view = walk.call("PUT", "/reconnection-date", day)
        sends_at = at(RECONNECTION_DAY - timedelta(days=1), 9)
        assert datetime.fromisoformat(view["presentation_pack_sends_at"]) == sends_at
        walk.tick("reconnection_planning", "client_prepared_for_outcomes")
        walk.advance("reconnection")

        # Phase 5, reconnection: risk, travel, budget and spend.
        walk.call(
            "PUT",
            "/risk-assessment",
            {"level": "medium", "risks": ["flight_risk"], "mitigations": "worker travels too"},
        )
        walk.call(
            "PUT", "/travel-plan", {"mode": "train", "travel_date": RECONNECTION_DAY.isoformat()}
        )
        walk.call("PUT", "/budget", {"allocated_pence": 15000})
        walk.call("POST", "/budget/spend", {"amount_pence": 9000, "category": "travel"})
        walk.call(
            "POST", "/budget/spend", {"amount_pence": 7000, "category": "food"}, expect=409
        )  # overspend refused unless approved, then flagged
        view = walk.call(
            "POST",
            "/budget/spend",
            {"amount_pence": 7000, "category": "food", "approved_overspend_reason": "late train"},
        )
        assert view["budget"]["overspent"] and view["case"]["budget"]["spends"][-1]["overspend"]
        walk.tick("reconnection", "client_briefed", "worker_attends", "settling_information")

        # Nothing is sent before its time.
        await log.settle(1.0)
        assert log.of_type("PresentationPackDue") == [] and reviews(log, case_id) == []

        # The day before, at 09:00: the pack goes to the destination authority by itself.
        await walk.move_to(sends_at + timedelta(seconds=30))
        await log.wait_for(
            lambda log_: case_id in log_.distinct("PresentationPackDue", "case_id"),
            timeout=20,
            what="PresentationPackDue",
        )
        [(pack_headers, pack)] = log.of_type("PresentationPackDue")
        assert {k: pack[k] for k in ("case_id", "destination_area", "reconnection_date")} == {
            "case_id": case_id,
            "destination_area": "Leeds",
            "reconnection_date": RECONNECTION_DAY.isoformat(),
        }
        # On the spine: the kept document's id and the deadline, never the letter or the PDF.
        stated = {"case_id", "destination_area", "reconnection_date", "document_id", "deliver_by"}
        assert set(pack) <= stated, sorted(pack)
        assert pack_headers["ce_organisation"] == "derby-council"
        assert event_time(pack_headers) >= sends_at
        await eventually(
            lambda: walk.view()["case"]["pack_sent_at"] is not None, what="the pack marked sent"
        )
        walk.call("PUT", "/confidence-check", {"level": 4}, expect=409)  # not the day yet

        # The day itself.
        await walk.move_to(at(RECONNECTION_DAY, 12))
        walk.call("PUT", "/part-vii", {"status": "submitted", "on": RECONNECTION_DAY.isoformat()})
        walk.call("PUT", "/confidence-check", {"level": 4, "concerns": "nervous"})
        view = walk.advance("intensive_support")
        assert view["intensive_support_until"] == THREE_MONTHS_ON.isoformat()

        # Phase 6, intensive support: at least 72 hours, handed over to local services.
        walk.tick("intensive_support", "healthcare_access")
        walk.call(
            "POST",
            "/handovers",
            {
                "agency": "Leeds floating support",
                "service": "floating support",
                "organisation": "leeds-floating",
            },
        )
        walk.call("POST", "/advance", expect=409)  # under 72 hours
        await walk.move_to(at(RECONNECTION_DAY + timedelta(days=3), 14))
        walk.advance("step_down")
        decided_on = RECONNECTION_DAY + timedelta(days=10)
        await walk.move_to(at(decided_on, 12))
        walk.call("PUT", "/part-vii", {"status": "positive", "on": decided_on.isoformat()})
        await log.settle(1.0)
        assert reviews(log, case_id) == []  # the step-down prompt is not due yet

        # Phase 7, three weeks after reconnection: the step-down prompt comes due.
        await walk.move_to(at(STEP_DOWN_ON, 9, 0, 30))
        await log.wait_for(
            lambda log_: "step_down" in {d["review_point"] for _, d in reviews(log_, case_id)},
            timeout=20,
            what="the step-down ReviewDue",
        )
        [(review_headers, step_down)] = reviews(log, case_id)
        assert step_down["route"] == "reconnection" and step_down["notice"] == "due"
        assert step_down["due_on"] == STEP_DOWN_ON.isoformat()
        assert step_down["lead_worker_id"] == "kim"
        assert review_headers["ce_organisation"] == "derby-council"
        assert event_time(review_headers) >= at(STEP_DOWN_ON, 9)
        walk.tick("step_down", "support_scaled_back", "local_help_encouraged")
        walk.advance("case_closure_and_review")

        # Phase 8, Tool 4: not before the 3-month point, which comes due by itself.
        closure = walk.view()["closure_checklist"]
        assert closure["current_step"] == 1 and closure["restart"]
        await walk.move_to(at(THREE_MONTHS_ON, 9, 0, 30))
        await log.wait_for(
            lambda log_: len(reviews(log_, case_id)) >= 2,
            timeout=20,
            what="the 3-month closure ReviewDue",
        )
        assert [(d["review_point"], d["due_on"], d["route"]) for _, d in reviews(log, case_id)] == [
            ("step_down", STEP_DOWN_ON.isoformat(), "reconnection"),
            ("closure_3_months", THREE_MONTHS_ON.isoformat(), "reconnection"),
        ]
        view = walk.call(
            "PUT",
            "/closure/answers",
            {
                "sufficient_local_support": True,
                "low_risk_of_return": True,
                "in_temporary_accommodation": True,
            },
        )
        assert view["closure_checklist"]["current_step"] == 7  # positive decision: 4 -> 6
        walk.call("POST", "/closure/close", {}, expect=409)  # Step 7 first
        walk.call(
            "POST",
            "/closure/letter",
            {"local_support": "Leeds floating support, GP", "crisis_plan": "call Leeds housing"},
        )
        walk.call(
            "POST",
            "/closure/agencies-notified",
            {
                "agencies": [
                    {"name": "St Mungo's outreach", "organisation": "st-mungos-outreach"},
                    {"name": "Leeds floating support", "organisation": "leeds-floating"},
                ]
            },
        )
        view = walk.call("POST", "/closure/close", {"note": "settled"})
        assert view["case"]["closed"]["reason"] == "reconnected"
        await log.wait_for(
            lambda log_: case_id in log_.distinct("CaseClosed", "case_id"),
            timeout=20,
            what="CaseClosed",
        )
        walk.call(
            "POST", "/closure/review", {"highs": ["positive decision"], "lows": ["late train"]}
        )
        view = walk.call("POST", "/closure/learning-points", {"points": ["book travel on the day"]})
        assert view["closure_checklist"]["complete"]
        learning = derby.get("reconnection", f"/learning-log?case_id={case_id}").json()
        assert learning[0]["points"] == ["book travel on the day"]
        assert leeds.get("reconnection", "/learning-log").json() == []
        assert leeds.get("reconnection", walk.path).status_code == 404

        # What every other service saw: the eight phases, in order, and one CaseClosed. The
        # assessment and the allocation travel on two topics, so the case may be opened by
        # either; opened by the allocation, it starts in allocate (identify is behind it).
        walked = phases(log, case_id)
        assert walked[:3] == [
            (None, "identify"),
            ("identify", "allocate"),
            ("allocate", "engage"),
        ] or walked[:2] == [(None, "allocate"), ("allocate", "engage")], walked
        assert walked[-5:] == [
            ("engage", "reconnection_planning"),
            ("reconnection_planning", "reconnection"),
            ("reconnection", "intensive_support"),
            ("intensive_support", "step_down"),
            ("step_down", "case_closure_and_review"),
        ]
        [(closed_headers, closed)] = [
            (h, d) for h, d in log.of_type("CaseClosed") if d["case_id"] == case_id
        ]
        assert closed["route"] == "reconnection" and closed["reason"] == "reconnected"
        assert closed["lead_worker_id"] == "kim"
        assert closed_headers["ce_organisation"] == "derby-council"
        assert {"st-mungos-outreach", "leeds-floating", "leeds-council"} <= set(
            closed["involved_organisations"]
        )

    # The referrer reads closed; allocation has freed the worker's capacity.
    await eventually(
        lambda: derby.get("referral", f"/referrals/{case_id}").json()["status"] == "closed",
        what="the referral to read closed",
    )
    await eventually(
        lambda: derby.get("allocation", f"/cases/{case_id}").json()["status"] == "closed",
        what="the allocation to read closed",
    )
