"""The caseworker pages' pure parts: the caseload's order, the case's timeline, and turning
what a caseworker typed into the support API's bodies (and its refusals back into fields)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.support.closure import BreakdownPoint
from services.support.contacts import ContactChannel
from services.support.plan import ActionOwner, NeedDomain, NeedLevel
from services.support.schemas import WaitingListPriority
from services.support.stages import ReviewOutcome
from services.web.backend import ApiError
from services.web.pages import cases
from services.web.pages.caseload import caseload_rows, person_name
from services.web.pages.cases import (
    api_errors,
    closure_body,
    contact_body,
    form_errors,
    parse_date,
    plan_changed,
    plan_field,
    plan_goals,
    plan_values,
    review_body,
    timeline,
)
from services.web.rendering import environment

TODAY = date(2026, 12, 1)


def test_the_web_app_codes_are_the_support_services() -> None:
    assert tuple(ContactChannel) == cases.CONTACT_CHANNELS
    assert tuple(NeedDomain) == cases.NEED_DOMAINS
    assert tuple(NeedLevel) == cases.NEED_LEVELS
    assert tuple(ActionOwner) == cases.ACTION_OWNERS
    assert tuple(ReviewOutcome) == cases.REVIEW_OUTCOMES
    assert tuple(BreakdownPoint) == cases.BREAKDOWN_POINTS
    assert tuple(WaitingListPriority) == cases.WAITING_LIST_PRIORITIES
    assert "reconnected" not in cases.CLOSURE_REASONS


def test_the_caseload_puts_overdue_reviews_first_then_escalations_then_the_next_review() -> None:
    caseload = [
        {"case_id": "soon", "stage": "stage_1", "next_review_on": "2026-12-03"},
        {"case_id": "later", "stage": "stage_2", "next_review_on": "2027-02-01"},
        {
            "case_id": "escalated",
            "stage": "stage_1",
            "next_review_on": "2027-03-01",
            "risk_level": "high",
        },
        {"case_id": "overdue", "stage": "stage_2", "next_review_on": "2026-11-20"},
        {"case_id": "none", "stage": "stage_3", "next_review_on": None},
        {"case_id": "long-overdue", "stage": "stage_1", "next_review_on": "2026-10-01"},
    ]
    due = [
        {"case_id": "overdue", "due_on": "2026-11-20", "overdue": True},
        {"case_id": "long-overdue", "due_on": "2026-10-01", "overdue": True},
        {"case_id": "soon", "due_on": "2026-12-03", "overdue": False},
    ]
    rows = caseload_rows(caseload, due, {"soon": "Alex Morgan"})
    assert [r.case_id for r in rows] == [
        "long-overdue",
        "overdue",
        "escalated",
        "soon",
        "later",
        "none",
    ]
    assert rows[0].overdue and rows[0].overdue_reviews == [date(2026, 10, 1)]
    assert rows[2].escalated and rows[2].risk_level == "high"
    assert rows[3].name == "Alex Morgan" and not rows[3].overdue


def test_the_person_name_comes_from_the_referral_or_is_left_out() -> None:
    referral = {"submission": {"person": {"given_name": "Alex", "family_name": "Morgan"}}}
    assert person_name(referral) == "Alex Morgan"
    assert person_name(None) == ""
    assert person_name({"submission": {"person": None}}) == ""


def test_the_timeline_joins_every_service_newest_first() -> None:
    support = {
        "opened_at": "2026-11-02T10:00:00Z",
        "lead_worker_id": "jo",
        "assessment": {
            "assessed_by": "jo",
            "recorded_on": "2026-11-03",
            "needs": [{"domain": "mental_health", "level": "high"}],
        },
        "plan": {"version": 1, "drafted_on": "2026-11-03", "drafted_by": "jo", "goals": [{}]},
        "plans_agreed": [{"plan_id": "c-plan-1", "agreed_on": "2026-11-04"}],
        "contacts": [
            {
                "channel": "home_visit",
                "occurred_on": "2026-11-05",
                "worker_id": "jo",
                "duration_minutes": 45,
                "attended": False,
                "notes": "Nobody in",
            }
        ],
        "reviews": [
            {"status": "pending", "due_on": "2027-01-25"},
            {
                "status": "completed",
                "outcome": "continue",
                "completed_on": "2026-11-20",
                "completed_by": "jo",
                "point": "week_12",
            },
        ],
        "closure": None,
    }
    referral = {
        "received_at": "2026-11-01T09:00:00Z",
        "referrer": {"agency": "st-mungos-outreach"},
        "route": "support",
        "reasons": ["tenancy at risk"],
        "history": [
            {"status": "received", "at": "2026-11-01T09:00:00Z"},
            {"status": "assessed", "at": "2026-11-01T09:00:01Z"},
        ],
    }
    allocation = {
        "allocation": {
            "worker_id": "jo",
            "team_id": "east",
            "allocated_at": "2026-11-02T09:59:00Z",
        },
        "history": [],
    }
    deliveries = [
        {
            "template": "case_allocated_worker",
            "recipient_role": "caseworker",
            "channel": "email",
            "status": "sent",
            "created_at": "2026-11-02T10:00:05Z",
            "sent_at": "2026-11-02T10:00:06Z",
        }
    ]
    entries = timeline(support, referral, allocation, deliveries)
    titles = [e.title for e in entries]
    assert titles == [
        "Review completed: continue",
        "Contact: home visit",
        "Support plan agreed with the client",
        "Support plan version 1 drafted",
        "Needs assessed",
        "Notification: Case allocated worker",
        "Support case opened",
        "Allocated to jo",
        "Referral assessed",
        "Referral received",
    ]
    contact = entries[1]
    assert contact.moment == date(2026, 11, 5) and not contact.timed
    assert "The client did not attend or answer" in contact.lines and "Nobody in" in contact.lines
    assert entries[-2].lines == ["Route: Support", "Reasons: tenancy at risk"]
    assert entries[-1].byline == "from st-mungos-outreach"


def test_the_timeline_shows_what_it_has_when_other_services_refused() -> None:
    entries = timeline({"opened_at": "2026-11-02T10:00:00+00:00"}, None, None, None)
    assert [e.title for e in entries] == ["Support case opened"]
    assert entries[0].moment == datetime(2026, 11, 2, 10, tzinfo=UTC)


def test_a_date_input_becomes_one_date_or_a_message_naming_what_is_wrong() -> None:
    day = {"d-day": "27", "d-month": "11", "d-year": "2026"}
    assert parse_date(day, "d", "the date") == (date(2026, 11, 27), None)
    assert parse_date({}, "d", "the date") == (None, "Enter the date")
    assert parse_date({**day, "d-month": ""}, "d", "the date") == (
        None,
        "The date must include a month",
    )
    assert parse_date({**day, "d-day": "31", "d-month": "2"}, "d", "the date") == (
        None,
        "The date must be a real date",
    )


def test_an_empty_contact_names_every_required_field() -> None:
    _, errors = contact_body({}, "jo", TODAY)
    assert set(errors) == {"channel", "occurred_on", "duration_minutes", "attended"}
    _, errors = contact_body({"duration_minutes": "an hour"}, "jo", TODAY)
    assert errors["duration_minutes"].endswith("whole number of minutes")


def test_a_contact_becomes_the_support_apis_body() -> None:
    values = {
        "channel": "phone",
        "occurred_on-day": "1",
        "occurred_on-month": "12",
        "occurred_on-year": "2026",
        "duration_minutes": "20",
        "attended": "no",
        "notes": "  left a message ",
    }
    body, errors = contact_body(values, "jo", TODAY)
    assert errors == {}
    assert body == {
        "worker_id": "jo",
        "channel": "phone",
        "occurred_on": "2026-12-01",
        "duration_minutes": 20,
        "attended": False,
        "notes": "left a message",
    }
    _, errors = contact_body({**values, "occurred_on-day": "2"}, "jo", TODAY)
    assert errors == {"occurred_on": "The date of the contact must be today or in the past"}


def test_a_lost_tenancy_needs_the_evaluation_of_where_it_broke_down() -> None:
    _, errors = closure_body({"reason": "evicted", "tenancy_outcome": "evicted"}, "jo")
    assert set(errors) == {
        "broke_down_at",
        "what_happened",
        "what_could_have_prevented_it",
        "reviewed_with_client",
    }
    body, errors = closure_body(
        {
            "reason": "evicted",
            "tenancy_outcome": "evicted",
            "broke_down_at": "arrears",
            "what_happened": "Benefit stopped",
            "what_could_have_prevented_it": "An earlier claim",
            "reviewed_with_client": "yes",
            "closure_notes": "",
        },
        "jo",
    )
    assert errors == {}
    assert body["evaluation"] == {
        "broke_down_at": "arrears",
        "what_happened": "Benefit stopped",
        "what_could_have_prevented_it": "An earlier claim",
        "reviewed_with_client": True,
    }
    body, errors = closure_body({"reason": "plan_achieved", "tenancy_outcome": "sustained"}, "jo")
    assert errors == {} and body["evaluation"] is None and body["closed_by"] == "jo"


def test_a_review_that_changes_stage_or_closes_says_how() -> None:
    _, errors = review_body({"outcome": "change_stage"}, {}, "jo")
    assert errors == {"target_stage": "Select the stage the case moves to"}
    _, errors = review_body({"outcome": "continue"}, {"weigh_against_waiting_list": True}, "jo")
    assert set(errors) == {"waiting_list_priority"}
    _, errors = review_body({"outcome": "close"}, {}, "jo")
    assert {"reason", "tenancy_outcome"} <= set(errors)
    body, errors = review_body(
        {"outcome": "change_stage", "target_stage": "stage_2", "target_hours_per_week": "1.5"},
        {},
        "jo",
    )
    assert errors == {}
    assert body["target_stage"] == "stage_2" and body["target_hours_per_week"] == 1.5
    assert body["closure"] is None


def test_new_needs_at_a_stage_1_review_are_weighed_against_the_referrals_waiting() -> None:
    """The staged model: at the Stage 1 review, new needs are weighed against the waiting
    list, so the form asks how the case ranks whenever new needs are ticked."""
    stage_1 = {"stage": "stage_1", "weigh_against_waiting_list": False}
    _, errors = review_body({"outcome": "continue", "new_needs": ["mental_health"]}, stage_1, "jo")
    assert set(errors) == {"waiting_list_priority"}
    body, errors = review_body(
        {
            "outcome": "step_down",
            "new_needs": ["mental_health"],
            "waiting_list_priority": "waiting_referrals_first",
        },
        stage_1,
        "jo",
    )
    assert errors == {} and body["new_needs"] == ["mental_health"]
    _, errors = review_body({"outcome": "continue", "new_needs": "telepathy"}, stage_1, "jo")
    assert "new_needs" in errors
    body, errors = review_body({"outcome": "continue"}, stage_1, "jo")
    assert errors == {} and body["new_needs"] == []


def test_the_plan_form_round_trips_and_keeps_what_it_does_not_show() -> None:
    current = {
        "status": "agreed",
        "goals": [
            {
                "domain": "mental_health",
                "goal": "See the GP",
                "actions": [
                    {
                        "description": "Book",
                        "owner": "client",
                        "due_on": "2026-12-10",
                        "progress": "done",
                    },
                    {
                        "description": "Go",
                        "owner": "client",
                        "due_on": "2026-12-20",
                        "progress": "not_started",
                    },
                ],
            }
        ],
    }
    values = plan_values(current)
    goals, errors = plan_goals(values, 3, current)
    assert errors == {}
    assert not plan_changed(current, goals)  # the first action kept its progress, the second kept
    values["goals.0.goal"] = "See the GP every month"
    goals, _ = plan_goals(values, 3, current)
    assert plan_changed(current, goals) and len(goals[0]["actions"]) == 2


def test_a_half_typed_goal_names_each_missing_part() -> None:
    _, errors = plan_goals({"goals.1.goal": "Budget"}, 3, None)
    assert set(errors) == {
        "goals.1.domain",
        "goals.1.action",
        "goals.1.owner",
        "goals.1.due_on",
    }
    _, errors = plan_goals({}, 3, None)
    assert errors == {"goals.0.domain": "Enter at least one goal"}


def test_api_refusals_land_on_the_forms_own_fields() -> None:
    refused = ApiError(
        "support",
        422,
        {
            "detail": "x",
            "errors": [
                {"field": "closure.evaluation.what_happened", "message": "required"},
                {"field": "occurred_on", "message": "Input should be a valid date"},
            ],
        },
    )
    assert form_errors(api_errors(refused), cases.REVIEW_FIELDS, "outcome") == {
        "what_happened": "Required",
        "outcome": "Input should be a valid date",
    }
    rule = ApiError("support", 409, "outcome: the support limit was reached on 2028-11-02")
    assert api_errors(rule) == {"outcome": "the support limit was reached on 2028-11-02"}
    assert plan_field("goals.1.actions.0.partner_agency") == "goals.1.partner_agency"
    assert plan_field("goals.0.domain") == "goals.0.domain"
    assert plan_field("client_agreed") == "client_agreed"


def test_the_case_templates_render_a_sparse_case() -> None:
    """Every template copes with a case that has only what opening gives it (StrictUndefined
    would fail on any field read that is not there)."""

    class _User:
        name, organisation, roles = "Jo", "derby-council", frozenset({"caseworker"})

    case = {"case_id": "c-1", "status": "open", "stage": "stage_1", "reviews": [], "hours": {}}
    common = {
        "request": None,
        "path": "/cases/c-1",
        "viewer": None,
        "user": _User(),
        "nav_items": [],
        "nav_current": None,
        "csrf_field": "csrf_token",
        "csrf_token": "t",
        "form_key": "k",
        "flash": [],
        "may": lambda _: True,
        "case": case,
        "case_id": "c-1",
        "name": "Case c-1",
        "values": {},
        "errors": {"reason": "Select why the case is closing"},
        "reasons": [("", "Select")],
        "tenancy_outcomes": [("sustained", "Sustained")],
        "breakdown_points": [("", "Select")],
    }
    page = environment.get_template("case/show.html").render(
        **{**common, "name": ""},
        referral=None,
        submission={},
        allocation=None,
        entries=timeline(case),
        unavailable=["the referral"],
        deliveries_shown=False,
        pending_reviews=[],
        today_iso="2026-12-01",
        may_work=True,
        may_decide=False,
    )
    assert "Name not shown" in page and "the referral" in page
    page = environment.get_template("case/close.html").render(**common)
    assert page.count('href="#reason"') == 1 and "<title>Error: " in page
