"""Flow 1 and 4 end to end, every service its own process: a referral is screened, allocated,
worked with a plan, reviewed when its review comes due, and closed — with the notifications
each step owes the referrer, the caseworker and the client."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from devstack.platform import Platform
from devstack.sinks import MailSink, ProviderSink
from shared.settings import HearthSettings
from shared.topics import Topic
from tests.e2e.conftest import Api, move_clock
from tests.e2e.streams import EventLog, eventually
from tests.referral.factories import referral_json

pytestmark = pytest.mark.integration

WORKER_EMAIL = "jo.caseworker@derby-council.test"
LEADER_EMAIL = "abi.leader@derby-council.test"
REFERRER_EMAIL = "sam.worker@example.org"


def set_up_team(api: Api) -> None:
    team = {
        "id": "prevention",
        "name": "Tenancy sustainment",
        "team_leader": {"id": "abi", "name": "Abi Leader", "email": LEADER_EMAIL},
    }
    assert api.post("allocation", "/teams", team).status_code == 201
    worker = {
        "id": "jo",
        "team_id": "prevention",
        "name": "Jo Caseworker",
        "email": WORKER_EMAIL,
        "specialisms": ["generalist", "mental_health"],
        "contracted_hours": 30,
        "max_caseload": 12,
    }
    assert api.post("allocation", "/caseworkers", worker).status_code == 201


async def test_referral_allocated_planned_reviewed_and_closed_with_notifications(
    all_services: Platform,
    e2e_settings: HearthSettings,
    derby: Api,
    leeds: Api,
    mail: MailSink,
    provider: ProviderSink,
) -> None:
    set_up_team(derby)
    async with EventLog(e2e_settings, Topic.REFERRAL_EVENTS, Topic.CASE_EVENTS) as log:
        response = derby.post("referral", "/referrals", referral_json())
        assert response.status_code == 201, response.text
        case_id = response.json()["id"]

        await log.wait_for(
            lambda log_: case_id in log_.distinct("CaseAllocated", "case_id"),
            what="CaseAllocated",
        )
        [(headers, allocated)] = log.of_type("CaseAllocated")
        assert allocated["lead_worker_id"] == "jo" and allocated["route"] == "support"
        assert headers["ce_organisation"] == "derby-council"

        # The support service opened the case; another council cannot see it.
        await eventually(
            lambda: derby.get("support", f"/cases/{case_id}").status_code == 200,
            what="the support case",
        )
        assert leeds.get("support", f"/cases/{case_id}").status_code == 404
        assert leeds.get("referral", f"/referrals/{case_id}").status_code == 404

        assessment = {
            "assessed_by": "jo",
            "needs": [
                {"domain": "mental_health", "level": "medium"},
                {"domain": "budgeting_and_arrears", "level": "high"},
            ],
        }
        r = derby.post("support", f"/cases/{case_id}/assessment", assessment)
        assert r.status_code == 200, r.text
        plan = {
            "drafted_by": "jo",
            "goals": [
                {
                    "domain": "budgeting_and_arrears",
                    "goal": "Arrears repayment plan agreed with the landlord",
                    "actions": [
                        {
                            "description": "Call the housing officer",
                            "owner": "worker",
                            "due_on": (date.today() + timedelta(days=7)).isoformat(),
                        },
                    ],
                }
            ],
        }
        r = derby.put("support", f"/cases/{case_id}/plan", plan)
        assert r.status_code == 200, r.text
        agree = {"agreed_by": "jo", "client_agreed": True}
        assert derby.post("support", f"/cases/{case_id}/plan/agree", agree).status_code == 200
        await log.wait_for(
            lambda log_: case_id in log_.distinct("SupportPlanAgreed", "case_id"),
            what="SupportPlanAgreed",
        )

        # Twelve weeks on, the Stage 1 review comes due by itself: a reminder, then the day.
        move_clock(all_services, timedelta(weeks=12, days=1))
        await log.wait_for(
            lambda log_: {"reminder", "due"} <= log_.distinct("ReviewDue", "notice"),
            what="the reminder and the due notice of the 12-week review",
        )
        assert len(log.distinct("ReviewDue")) == 2

        closure = {"reason": "plan_achieved", "tenancy_outcome": "sustained", "closed_by": "abi"}
        r = derby.post("support", f"/cases/{case_id}/close", closure)
        assert r.status_code == 200, r.text
        await log.wait_for(
            lambda log_: case_id in log_.distinct("CaseClosed", "case_id"), what="CaseClosed"
        )
        await eventually(
            lambda: derby.get("referral", f"/referrals/{case_id}").json()["status"] == "closed",
            what="the referrer's status to read closed",
        )

    # Notifications: the referrer heard at each step, the caseworker was introduced and
    # reminded, the client (SMS and letter by preference) was introduced and sent a letter.
    def delivered() -> dict[str, int]:
        return {
            "referrer emails": len(mail.to(REFERRER_EMAIL)),
            "caseworker emails": len(mail.to(WORKER_EMAIL)),
            "client SMS": len(provider.on("/v2/notifications/sms")),
            "client letters": len(provider.on("/v2/notifications/letter")),
        }

    try:
        await eventually(
            lambda: min(delivered().values()) >= 1 and delivered()["caseworker emails"] >= 2,
            what="emails, SMS and the closure letter",
        )
    except AssertionError as exc:
        log_ = derby.get("notifications", f"/deliveries?case_id={case_id}").json()
        states = [
            (d["template"], d["channel"], d["status"], d.get("reason")) for d in log_["items"]
        ]
        raise AssertionError(f"{delivered()}; delivery log: {states}") from exc
