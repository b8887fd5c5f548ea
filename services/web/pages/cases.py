"""The case page and the caseworker's forms on it: record a contact, agree or change the plan,
complete a review, close the case.

Everything comes from the services' APIs with the caseworker's own token: the support case
first (a case outside their reach is the API's 404, so nothing of the person is ever fetched),
then the referral, the allocation and the notifications sent, each of which may refuse without
the page failing. The form rules here only spare the person a round trip: the support API
decides, and its 422/409 field errors are mapped back onto the form's own fields."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import ApiError, Backend
from services.web.context import Viewer, ViewerDep
from services.web.pages.caseload import person_name
from services.web.rendering import done, render, words
from shared.codes import ClosureReason, Stage, TenancyOutcome
from shared.policy import Permission

router = APIRouter()
Json = dict[str, Any]
Values = dict[str, Any]
Errors = dict[str, str]

# The support API's codes (services/support: contacts, plan, stages, closure). The web app
# talks to the service over HTTP only, so it keeps its own copy; a unit test holds them equal.
CONTACT_CHANNELS = (
    "home_visit",
    "office",
    "phone",
    "text",
    "whatsapp",
    "email",
    "video",
    "drop_in",
    "outreach",
)
NEED_DOMAINS = (
    "income_and_benefits",
    "budgeting_and_arrears",
    "maintaining_the_tenancy",
    "substance_misuse",
    "mental_health",
    "physical_health",
    "employment_and_training",
    "community_involvement",
    "safety",
    "offending",
    "family_and_relationships",
    "daily_living_skills",
    "other",
)
NEED_LEVELS = ("none", "low", "medium", "high")
ACTION_OWNERS = ("client", "worker", "partner_agency")
REVIEW_OUTCOMES = ("continue", "step_up", "step_down", "change_stage", "close")
WAITING_LIST_PRIORITIES = ("case_keeps_priority", "waiting_referrals_first")
BREAKDOWN_POINTS = (
    "referral_or_assessment",
    "move_in",
    "support_plan",
    "income_and_benefits",
    "arrears",
    "neighbours_or_behaviour",
    "health",
    "substance_misuse",
    "engagement",
    "crisis_response",
    "ending_of_support",
    "other",
)
STAGES = tuple(s.value for s in Stage)
# Reconnection closes its own cases; a support case never closes as "reconnected".
CLOSURE_REASONS = tuple(r.value for r in ClosureReason if r is not ClosureReason.RECONNECTED)
TENANCY_OUTCOMES = tuple(o.value for o in TenancyOutcome)
FAILED = frozenset({"evicted", "abandoned"})
MAX_CONTACT_MINUTES = 720
MIN_PLAN_GOALS = 3


# --- reading API answers --------------------------------------------------------------------


def api_errors(exc: ApiError) -> Errors:
    """A refusal's errors by the API's field name: a 422's list, or the support service's own
    "field: message" detail (its rule errors, 409 and 422)."""
    errors = exc.field_errors()
    if not errors and ": " in exc.message:
        where, message = exc.message.split(": ", 1)
        if where and " " not in where:
            errors[where] = message
    return errors


def form_errors(errors: Errors, names: dict[str, str], fallback: str) -> Errors:
    """The API's field errors as the form's: `names` maps an API field (or a prefix of one,
    e.g. "goals.0") to the form field; an error no field owns is shown on `fallback`, so the
    error summary always links to a field."""
    mapped: Errors = {}
    for where, message in errors.items():
        target = names.get(where)
        if target is None:
            prefixes = [p for p in names if where.startswith(p + ".")]
            target = names[max(prefixes, key=len)] if prefixes else fallback
        mapped.setdefault(target, _sentence(message))
    return mapped


def _sentence(message: str) -> str:
    text = message.strip()
    return text[:1].upper() + text[1:] if text else "There is a problem with this answer"


def _moment(value: Any) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str) and value:
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            return None
    return None


# --- the timeline ---------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    """One thing that happened to the case, from whichever service knows it."""

    moment: date | datetime
    title: str
    source: str
    byline: str = ""
    lines: list[str] = field(default_factory=list)
    seq: int = 0

    @property
    def timed(self) -> bool:
        return isinstance(self.moment, datetime)

    @property
    def iso(self) -> str:
        return self.moment.isoformat()

    def key(self) -> tuple[date, time, int]:
        if isinstance(self.moment, datetime):
            utc = self.moment.astimezone(UTC)
            return utc.date(), utc.time().replace(tzinfo=None), self.seq
        # A date alone (a contact's day, a review's completion) sorts after that day's times.
        return self.moment, time.max, self.seq


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


class _Timeline:
    def __init__(self) -> None:
        self.entries: list[TimelineEntry] = []

    def add(self, when: Any, title: str, source: str, byline: str = "", *lines: str | None) -> None:
        moment = _moment(when)
        if moment is None:
            return
        kept = [line for line in lines if line]
        self.entries.append(
            TimelineEntry(moment, title, source, byline, kept, seq=len(self.entries))
        )


def timeline(
    support: Json,
    referral: Json | None = None,
    allocation: Json | None = None,
    deliveries: list[Json] | None = None,
) -> list[TimelineEntry]:
    """Everything the services tell of the case, newest first."""
    t = _Timeline()
    if referral:
        agency = (referral.get("referrer") or {}).get("agency") or referral.get("organisation")
        t.add(
            referral.get("received_at"),
            "Referral received",
            "Referral",
            f"from {agency}" if agency else "",
            f"Source: {words(referral.get('source'))}" if referral.get("source") else None,
        )
        for change in referral.get("history") or []:
            if change.get("status") == "received":
                continue
            reasons = referral.get("reasons") if change.get("status") == "assessed" else None
            t.add(
                change.get("at"),
                f"Referral {words(change.get('status')).lower()}",
                "Referral",
                "",
                f"Route: {words(referral.get('route'))}" if reasons is not None else None,
                "Reasons: " + "; ".join(reasons) if reasons else None,
            )
    if allocation:
        seen: set[tuple[Any, Any]] = set()
        for entry in [*(allocation.get("history") or []), allocation.get("allocation")]:
            if not entry or (entry.get("worker_id"), entry.get("allocated_at")) in seen:
                continue
            seen.add((entry.get("worker_id"), entry.get("allocated_at")))
            previous = entry.get("previous_worker_id")
            t.add(
                entry.get("allocated_at"),
                f"Reallocated to {entry.get('worker_id')}"
                if previous
                else f"Allocated to {entry.get('worker_id')}",
                "Allocation",
                f"team {entry.get('team_id')}" if entry.get("team_id") else "",
                f"From {previous}" if previous else None,
                f"Reason: {words(entry.get('reason')).lower()}" if entry.get("reason") else None,
                f"{entry.get('hours')} hours a week" if entry.get("hours") is not None else None,
                f"Cover until {entry.get('cover_until')}" if entry.get("cover_until") else None,
            )
    _support_timeline(t, support)
    for delivery in deliveries or []:
        t.add(
            delivery.get("sent_at") or delivery.get("created_at"),
            f"Notification: {words(delivery.get('template'))}",
            "Notifications",
            f"to the {words(delivery.get('recipient_role')).lower()}",
            f"By {words(delivery.get('channel')).lower()}" if delivery.get("channel") else None,
            f"Status: {words(delivery.get('status')).lower()}",
        )
    return sorted(t.entries, key=TimelineEntry.key, reverse=True)


def _support_timeline(t: _Timeline, case: Json) -> None:
    t.add(
        case.get("opened_at"),
        "Support case opened",
        "Support",
        f"lead worker {case.get('lead_worker_id')}" if case.get("lead_worker_id") else "",
    )
    assessment = case.get("assessment")
    if assessment:
        needs = [
            f"{words(n.get('domain'))} ({n.get('level')})"
            for n in assessment.get("needs") or []
            if n.get("level") != "none"
        ]
        t.add(
            assessment.get("recorded_on"),
            "Needs assessed",
            "Support",
            f"by {assessment.get('assessed_by')}",
            "Needs: " + ", ".join(needs) if needs else None,
        )
    plan = case.get("plan")
    if plan:
        t.add(
            plan.get("drafted_on"),
            f"Support plan version {plan.get('version')} drafted",
            "Support",
            f"by {plan.get('drafted_by')}",
            _count(len(plan.get("goals") or []), "goal"),
        )
    for agreed in case.get("plans_agreed") or []:
        t.add(
            agreed.get("agreed_on"),
            "Support plan agreed with the client",
            "Support",
            "",
            f"Plan {agreed.get('plan_id')}",
        )
    for contact in case.get("contacts") or []:
        minutes = contact.get("duration_minutes")
        t.add(
            contact.get("occurred_on"),
            f"Contact: {words(contact.get('channel')).lower()}",
            "Support",
            f"by {contact.get('worker_id')}",
            f"{minutes} minutes" if minutes is not None else None,
            None if contact.get("attended", True) else "The client did not attend or answer",
            contact.get("notes"),
        )
    for file in case.get("files") or []:
        t.add(
            file.get("received_on"),
            f"File received: {words(file.get('kind')).lower()}",
            "Support",
            f"by {words(file.get('received_via')).lower()}",
            file.get("filename"),
            file.get("description"),
        )
    for review in case.get("reviews") or []:
        if review.get("status") != "completed":
            continue
        t.add(
            review.get("completed_on"),
            f"Review completed: {words(review.get('outcome')).lower()}",
            "Support",
            f"by {review.get('completed_by')}",
            f"Review point: {words(review.get('point'))}",
            f"New stage: {words(review.get('target_stage'))}"
            if review.get("target_stage")
            else None,
            review.get("notes"),
        )
    escalations = case.get("escalations") or (
        [case["escalation"]] if case.get("escalation") else []
    )
    for escalation in escalations:
        t.add(
            escalation.get("escalated_on"),
            f"Escalated: {words(escalation.get('risk_level')).lower()} risk",
            "Support",
            f"by {escalation.get('flagged_by') or words(escalation.get('source')).lower()}",
            "Reasons: " + "; ".join(escalation.get("reasons") or []),
        )
    for move in case.get("reallocations") or []:
        t.add(
            move.get("at"),
            f"Case moved to {move.get('to')}",
            "Support",
            f"from {move.get('from')}" if move.get("from") else "",
            f"Reason: {words(move.get('reason')).lower()}" if move.get("reason") else None,
        )
    for override in case.get("limit_overrides") or []:
        t.add(
            override.get("recorded_on"),
            "Support extended past the two-year limit",
            "Support",
            f"approved by {override.get('approved_by')}",
            f"Until {override.get('extend_until')}",
            override.get("justification"),
        )
    closure = case.get("closure")
    if closure:
        t.add(
            case.get("closed_at") or closure.get("closed_on"),
            f"Case closed: {words(closure.get('reason')).lower()}",
            "Support",
            f"by {closure.get('closed_by')}",
            f"Tenancy: {words(closure.get('tenancy_outcome')).lower()}",
            closure.get("notes"),
        )


# --- forms: turning what was typed into an API body -------------------------------------------


def parse_date(values: Values, name: str, label: str) -> tuple[date | None, str | None]:
    """A GOV.UK date input's three fields as one date, or the message the pattern asks for."""
    parts = [str(values.get(f"{name}-{p}", "")).strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None, f"Enter {label}"
    missing = [p for p, v in zip(("day", "month", "year"), parts, strict=True) if not v]
    if missing:
        return None, f"{_sentence(label)} must include a {missing[0]}"
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1000:
            raise ValueError
        return date(year, month, day), None
    except ValueError:
        return None, f"{_sentence(label)} must be a real date"


def contact_body(values: Values, worker_id: str, today: date) -> tuple[Json, Errors]:
    errors: Errors = {}
    channel = values.get("channel", "")
    if channel not in CONTACT_CHANNELS:
        errors["channel"] = "Select how the contact happened"
    occurred, problem = parse_date(values, "occurred_on", "the date of the contact")
    if problem:
        errors["occurred_on"] = problem
    elif occurred is not None and occurred > today:
        errors["occurred_on"] = "The date of the contact must be today or in the past"
    minutes: int | None = None
    raw = str(values.get("duration_minutes", "")).strip()
    if not raw:
        errors["duration_minutes"] = "Enter how long the contact lasted, in minutes"
    elif not raw.isdigit():
        errors["duration_minutes"] = "How long the contact lasted must be a whole number of minutes"
    elif int(raw) > MAX_CONTACT_MINUTES:
        errors["duration_minutes"] = (
            f"How long the contact lasted must be {MAX_CONTACT_MINUTES} minutes or less"
        )
    else:
        minutes = int(raw)
    if values.get("attended") not in ("yes", "no"):
        errors["attended"] = "Select whether the client took part"
    body = {
        "worker_id": worker_id,
        "channel": channel,
        "occurred_on": occurred.isoformat() if occurred else None,
        "duration_minutes": minutes,
        "attended": values.get("attended") == "yes",
        "notes": str(values.get("notes", "")).strip() or None,
    }
    return body, errors


CONTACT_FIELDS = {
    "channel": "channel",
    "occurred_on": "occurred_on",
    "duration_minutes": "duration_minutes",
    "attended": "attended",
    "notes": "notes",
}


def closure_body(values: Values, closed_by: str) -> tuple[Json, Errors]:
    """The closure the API requires, with the evaluation of where a failed tenancy broke down
    (required when it was lost; kept whenever it was given)."""
    errors: Errors = {}
    reason = values.get("reason", "")
    outcome = values.get("tenancy_outcome", "")
    if reason not in CLOSURE_REASONS:
        errors["reason"] = "Select why the case is closing"
    if outcome not in TENANCY_OUTCOMES:
        errors["tenancy_outcome"] = "Select what became of the tenancy"
    evaluation_fields = ("broke_down_at", "what_happened", "what_could_have_prevented_it")
    given = any(str(values.get(f, "")).strip() for f in evaluation_fields)
    needed = reason in FAILED or outcome in FAILED
    evaluation: Json | None = None
    if needed or given:
        if values.get("broke_down_at") not in BREAKDOWN_POINTS:
            errors["broke_down_at"] = "Select where the tenancy broke down"
        for name, message in (
            ("what_happened", "Enter what happened"),
            ("what_could_have_prevented_it", "Enter what could have prevented it"),
        ):
            if not str(values.get(name, "")).strip():
                errors[name] = message
        if values.get("reviewed_with_client") not in ("yes", "no"):
            errors["reviewed_with_client"] = (
                "Select whether you looked back at this with the client"
            )
        evaluation = {
            "broke_down_at": values.get("broke_down_at"),
            "what_happened": str(values.get("what_happened", "")).strip(),
            "what_could_have_prevented_it": str(
                values.get("what_could_have_prevented_it", "")
            ).strip(),
            "reviewed_with_client": values.get("reviewed_with_client") == "yes",
        }
    body = {
        "reason": reason,
        "tenancy_outcome": outcome,
        "closed_by": closed_by,
        "notes": str(values.get("closure_notes", "")).strip() or None,
        "evaluation": evaluation,
    }
    return body, errors


CLOSURE_FIELDS = {
    "reason": "reason",
    "tenancy_outcome": "tenancy_outcome",
    "closed_by": "reason",
    "notes": "closure_notes",
    "evaluation": "broke_down_at",
    "evaluation.broke_down_at": "broke_down_at",
    "evaluation.what_happened": "what_happened",
    "evaluation.what_could_have_prevented_it": "what_could_have_prevented_it",
    "evaluation.reviewed_with_client": "reviewed_with_client",
}


def review_body(values: Values, review: Json, completed_by: str) -> tuple[Json, Errors]:
    errors: Errors = {}
    outcome = values.get("outcome", "")
    if outcome not in REVIEW_OUTCOMES:
        errors["outcome"] = "Select the outcome of the review"
    target_stage = values.get("target_stage") or None
    if outcome == "change_stage" and target_stage not in STAGES:
        errors["target_stage"] = "Select the stage the case moves to"
    hours: float | None = None
    raw = str(values.get("target_hours_per_week", "")).strip()
    if raw:
        try:
            hours = float(raw)
            if not 0.5 <= hours <= 3.0:
                raise ValueError
        except ValueError:
            errors["target_hours_per_week"] = "Hours a week must be a number from 0.5 to 3"
    priority = values.get("waiting_list_priority") or None
    raw_needs = values.get("new_needs") or []
    new_needs = [n for n in ([raw_needs] if isinstance(raw_needs, str) else raw_needs) if n]
    if any(n not in NEED_DOMAINS for n in new_needs):
        errors["new_needs"] = "Select the new needs from the list"
    # The staged model: a Stage 1 review weighs new needs against the referrals waiting.
    weighed = review.get("weigh_against_waiting_list") or bool(new_needs)
    if weighed and priority not in WAITING_LIST_PRIORITIES:
        errors["waiting_list_priority"] = "Select how the case ranks against referrals waiting"
    closure: Json | None = None
    if outcome == "close":
        closure, closure_errors = closure_body(values, completed_by)
        errors.update(closure_errors)
    body = {
        "outcome": outcome,
        "completed_by": completed_by,
        "notes": str(values.get("notes", "")).strip() or None,
        "target_stage": target_stage if outcome == "change_stage" else None,
        "target_hours_per_week": hours,
        "waiting_list_priority": priority,
        "new_needs": new_needs,
        "closure": closure,
    }
    return body, errors


REVIEW_FIELDS = {
    "outcome": "outcome",
    "completed_by": "outcome",
    "notes": "notes",
    "target_stage": "target_stage",
    "target_hours_per_week": "target_hours_per_week",
    "new_needs": "new_needs",
    "waiting_list_priority": "waiting_list_priority",
    "review_id": "outcome",
    "case_id": "outcome",
    **{f"closure.{k}": v for k, v in CLOSURE_FIELDS.items()},
    "closure": "reason",
}


def goal_slots(plan: Json | None, requested: str = "") -> int:
    existing = len((plan or {}).get("goals") or [])
    wanted = int(requested) if requested.isdigit() else 0
    return min(30, max(MIN_PLAN_GOALS, existing + 1, wanted))


def plan_values(plan: Json | None) -> Values:
    """The plan as the form's fields (each goal with its first action)."""
    values: Values = {}
    for i, goal in enumerate((plan or {}).get("goals") or []):
        values[f"goals.{i}.domain"] = goal.get("domain", "")
        values[f"goals.{i}.goal"] = goal.get("goal", "")
        action = (goal.get("actions") or [{}])[0]
        values[f"goals.{i}.action"] = action.get("description", "")
        values[f"goals.{i}.owner"] = action.get("owner", "")
        values[f"goals.{i}.partner_agency"] = action.get("partner_agency") or ""
        due = _moment(action.get("due_on"))
        if isinstance(due, date):
            values[f"goals.{i}.due_on-day"] = str(due.day)
            values[f"goals.{i}.due_on-month"] = str(due.month)
            values[f"goals.{i}.due_on-year"] = str(due.year)
    return values


def _action(action: Json) -> Json:
    return {
        "description": action.get("description"),
        "owner": action.get("owner"),
        "due_on": str(action.get("due_on")),
        "partner_agency": action.get("partner_agency") or None,
        "progress": action.get("progress") or "not_started",
    }


def plan_goals(values: Values, slots: int, current: Json | None) -> tuple[list[Json], Errors]:
    """The goals typed into the form, in the API's shape. A goal's further actions (added
    elsewhere) are kept as they are, and an unchanged first action keeps its progress."""
    errors: Errors = {}
    goals: list[Json] = []
    existing = (current or {}).get("goals") or []
    for i in range(slots):
        name = f"goals.{i}"
        typed = {
            part: str(values.get(f"{name}.{part}", "")).strip()
            for part in ("domain", "goal", "action", "owner", "partner_agency")
        }
        date_typed = any(values.get(f"{name}.due_on-{p}") for p in ("day", "month", "year"))
        used = any(typed[p] for p in ("domain", "goal", "action")) or date_typed
        if not used:
            continue
        number = f"goal {i + 1}"
        if typed["domain"] not in NEED_DOMAINS:
            errors[f"{name}.domain"] = f"Select the need {number} answers"
        if not typed["goal"]:
            errors[f"{name}.goal"] = f"Enter {number}"
        if not typed["action"]:
            errors[f"{name}.action"] = f"Enter the first action towards {number}"
        if typed["owner"] not in ACTION_OWNERS:
            errors[f"{name}.owner"] = f"Select who does the action for {number}"
        elif typed["owner"] == "partner_agency" and not typed["partner_agency"]:
            errors[f"{name}.partner_agency"] = f"Enter the partner agency for {number}"
        due, problem = parse_date(
            values, f"{name}.due_on", f"the date the action for {number} is due"
        )
        if problem:
            errors[f"{name}.due_on"] = problem
        first = {
            "description": typed["action"],
            "owner": typed["owner"],
            "due_on": due.isoformat() if due else None,
            "partner_agency": (typed["partner_agency"] or None)
            if typed["owner"] == "partner_agency"
            else None,
            "progress": "not_started",
        }
        before = existing[i] if i < len(existing) else {}
        before_actions = [_action(a) for a in before.get("actions") or []]
        if before_actions and _same_action(before_actions[0], first):
            first["progress"] = before_actions[0]["progress"]
        goals.append(
            {
                "domain": typed["domain"],
                "goal": typed["goal"],
                "actions": [first, *before_actions[1:]],
            }
        )
    if not goals and not errors:
        errors["goals.0.domain"] = "Enter at least one goal"
    return goals, errors


def _same_action(a: Json, b: Json) -> bool:
    keys = ("description", "owner", "due_on", "partner_agency")
    return all(a.get(k) == b.get(k) for k in keys)


def plan_changed(current: Json | None, goals: list[Json]) -> bool:
    """Whether the goals differ from the plan as it stands (a new version is drafted only
    then, so agreeing an unchanged plan does not redraft it)."""
    if not current:
        return True
    before = [
        {
            "domain": g.get("domain"),
            "goal": g.get("goal"),
            "actions": [_action(a) for a in g.get("actions") or []],
        }
        for g in current.get("goals") or []
    ]
    return before != goals


def plan_field(where: str) -> str:
    """An API plan error's field as the form's: goals.0.actions.0.due_on -> goals.0.due_on."""
    parts = where.split(".")
    if len(parts) >= 2 and parts[0] == "goals" and parts[1].isdigit():
        base = f"goals.{parts[1]}"
        if len(parts) >= 5 and parts[2] == "actions":
            return {
                "description": f"{base}.action",
                "owner": f"{base}.owner",
                "due_on": f"{base}.due_on",
                "partner_agency": f"{base}.partner_agency",
            }.get(parts[4], f"{base}.action")
        if len(parts) >= 3 and parts[2] in ("domain", "goal"):
            return f"{base}.{parts[2]}"
        return f"{base}.goal"
    if where.startswith("needs") or where in ("assessment", "assessed_by", "risks"):
        return "risks" if where == "risks" else f"need.{NEED_DOMAINS[0]}"
    if where == "client_agreed":
        return "client_agreed"
    return "goals.0.domain"


def assessment_body(values: Values, assessed_by: str) -> tuple[Json, Errors]:
    needs = [
        {"domain": domain, "level": values.get(f"need.{domain}")}
        for domain in NEED_DOMAINS
        if values.get(f"need.{domain}") in NEED_LEVELS
    ]
    errors: Errors = {}
    if not needs:
        errors[f"need.{NEED_DOMAINS[0]}"] = "Assess at least one need"
    body = {
        "assessed_by": assessed_by,
        "needs": needs,
        "risks": str(values.get("risks", "")).strip() or None,
    }
    return body, errors


# --- loading ------------------------------------------------------------------------------


async def _optional(action: Any) -> tuple[Any, int | None]:
    """A source the page can do without: its answer, or the refusal's status."""
    try:
        return await action, None
    except ApiError as exc:
        return None, exc.status


def _by(viewer: Viewer) -> str:
    """Who acted, as the case records keep it: the caseworker id (never a name)."""
    user = viewer.user
    return str(user.caseworker_id or user.username)


async def _case(api: Backend, case_id: str) -> Json:
    case: Json = await api.get("support", f"/cases/{case_id}")
    return case


async def _name(api: Backend, case_id: str) -> str:
    referral, _ = await _optional(api.get("referral", f"/referrals/{case_id}"))
    return person_name(referral) or f"Case {case_id}"


def _options(codes: tuple[str, ...], blank: str = "") -> list[tuple[str, str]]:
    first = [("", blank)] if blank else []
    return first + [(code, words(code)) for code in codes]


# --- the case page ------------------------------------------------------------------------


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: str, viewer: ViewerDep) -> HTMLResponse:
    api = viewer.api
    case = await _case(api, case_id)  # outside the caller's reach: the API's 404, nothing more
    may_see_deliveries = viewer.may(Permission.DELIVERIES)
    (
        (referral, referral_refused),
        (allocation, allocation_refused),
        (sent, sent_refused),
    ) = await asyncio.gather(
        _optional(api.get("referral", f"/referrals/{case_id}")),
        _optional(api.get("allocation", f"/cases/{case_id}")),
        _optional(api.get("notifications", "/deliveries", case_id=case_id))
        if may_see_deliveries
        else _nothing(),
    )
    deliveries = (sent or {}).get("items", [])
    unavailable = [
        label
        for label, refused in (
            ("the referral", referral_refused),
            ("the allocation", allocation_refused),
            ("the notifications sent", sent_refused),
        )
        if refused is not None
    ]
    pending = [r for r in case.get("reviews") or [] if r.get("status") == "pending"]
    submission = (referral or {}).get("submission") or {}
    return render(
        request,
        viewer,
        "case/show.html",
        case=case,
        case_id=case_id,
        name=person_name(referral),
        referral=referral,
        submission=submission,
        allocation=allocation,
        entries=timeline(case, referral, allocation, deliveries),
        unavailable=unavailable,
        deliveries_shown=may_see_deliveries and sent_refused is None,
        pending_reviews=pending,
        today_iso=datetime.now(UTC).date().isoformat(),
        may_work=viewer.may(Permission.CASEWORK) and case.get("status") == "open",
        may_decide=viewer.may(Permission.CASE_DECISIONS) and case.get("status") == "open",
    )


async def _nothing() -> tuple[None, None]:
    return None, None


# --- record a contact -----------------------------------------------------------------------


def _contact_page(
    request: Request,
    viewer: Viewer,
    case_id: str,
    name: str,
    values: Values,
    errors: Errors,
) -> HTMLResponse:
    return render(
        request,
        viewer,
        "case/contact.html",
        status=400 if errors else 200,
        case_id=case_id,
        name=name,
        values=values,
        errors=errors,
        channels=_options(CONTACT_CHANNELS),
    )


@router.get("/cases/{case_id}/contacts/new", response_class=HTMLResponse)
async def new_contact(request: Request, case_id: str, viewer: ViewerDep) -> HTMLResponse:
    await _case(viewer.api, case_id)
    values = {"attended": "yes"}
    return _contact_page(request, viewer, case_id, await _name(viewer.api, case_id), values, {})


@router.post("/cases/{case_id}/contacts/new", response_model=None)
async def record_contact(request: Request, case_id: str, viewer: ViewerDep) -> Response:
    values = viewer.values()
    body, errors = contact_body(values, _by(viewer), datetime.now(UTC).date())
    if not errors:
        try:
            await viewer.api.post(
                "support", f"/cases/{case_id}/contacts", body, key=viewer.idempotency_key
            )
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = form_errors(api_errors(exc), CONTACT_FIELDS, "channel")
    if errors:
        name = await _name(viewer.api, case_id)
        return _contact_page(request, viewer, case_id, name, values, errors)
    return await done(request, viewer, "Contact recorded", f"/cases/{case_id}#contacts")


# --- the support plan -----------------------------------------------------------------------


def _plan_page(
    request: Request,
    viewer: Viewer,
    case: Json,
    name: str,
    values: Values,
    errors: Errors,
    slots: int,
) -> HTMLResponse:
    assessment = case.get("assessment")
    assessed = [
        n.get("domain")
        for n in (assessment or {}).get("needs") or []
        if n.get("level") not in (None, "none")
    ]
    domains = tuple(d for d in NEED_DOMAINS if d in assessed) if assessed else NEED_DOMAINS
    return render(
        request,
        viewer,
        "case/plan.html",
        status=400 if errors else 200,
        case=case,
        case_id=case["case_id"],
        name=name,
        values=values,
        errors=errors,
        slots=slots,
        date_links={f"goals.{i}.due_on": f"goals-{i}-due-on-day" for i in range(slots)},
        need_assessment=assessment is None,
        need_domains=NEED_DOMAINS,
        need_levels=_options(NEED_LEVELS, "Not assessed"),
        domains=_options(domains, "Select a need"),
        owners=_options(ACTION_OWNERS, "Select who"),
        plan=case.get("plan"),
    )


@router.get("/cases/{case_id}/plan", response_class=HTMLResponse)
async def plan_form(request: Request, case_id: str, viewer: ViewerDep) -> HTMLResponse:
    case = await _case(viewer.api, case_id)
    plan = case.get("plan")
    name = await _name(viewer.api, case_id)
    return _plan_page(request, viewer, case, name, plan_values(plan), {}, goal_slots(plan))


@router.post("/cases/{case_id}/plan", response_model=None)
async def save_plan(request: Request, case_id: str, viewer: ViewerDep) -> Response:
    api = viewer.api
    case = await _case(api, case_id)
    values = viewer.values()
    plan = case.get("plan")
    slots = goal_slots(plan, str(values.get("goal_slots", "")))
    by = _by(viewer)
    errors: Errors = {}
    assessment: Json | None = None
    if case.get("assessment") is None:
        assessment, errors = assessment_body(values, by)
    goals, goal_errors = plan_goals(values, slots, plan)
    errors.update(goal_errors)
    agree = values.get("client_agreed") == "yes"
    changed: list[str] = []
    if not errors:
        try:
            if assessment is not None:
                await api.post(
                    "support",
                    f"/cases/{case_id}/assessment",
                    assessment,
                    key=viewer.idempotency_key,
                )
            status = (plan or {}).get("status")
            if plan_changed(plan, goals):
                saved = await api.put(
                    "support", f"/cases/{case_id}/plan", {"drafted_by": by, "goals": goals}
                )
                status = (saved.get("plan") or {}).get("status")
                changed.append("Plan saved")
            if agree and status == "draft":
                await api.post(
                    "support",
                    f"/cases/{case_id}/plan/agree",
                    {"agreed_by": by, "client_agreed": True},
                    key=viewer.idempotency_key,
                )
                changed.append("Plan agreed with the client")
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = {plan_field(k): _sentence(v) for k, v in api_errors(exc).items()}
            errors = errors or {"goals.0.domain": _sentence(exc.message)}
    if errors:
        case = await _case(api, case_id)  # an assessment saved before a refusal shows as such
        name = await _name(api, case_id)
        return _plan_page(request, viewer, case, name, values, errors, slots)
    message = " and ".join(changed) if changed else "The plan is unchanged"
    return await done(request, viewer, message[:1] + message[1:].lower(), f"/cases/{case_id}#plan")


# --- complete a review ----------------------------------------------------------------------


def _review_of(case: Json, review_id: str) -> Json:
    for review in case.get("reviews") or []:
        if review.get("review_id") == review_id:
            return dict(review)
    raise ApiError("support", 404, "review_id: no such review on this case")


def _review_page(
    request: Request,
    viewer: Viewer,
    case: Json,
    review: Json,
    name: str,
    values: Values,
    errors: Errors,
) -> HTMLResponse:
    return render(
        request,
        viewer,
        "case/review.html",
        status=400 if errors else 200,
        case=case,
        case_id=case["case_id"],
        review=review,
        name=name,
        values=values,
        errors=errors,
        outcomes=[(o, words(o)) for o in REVIEW_OUTCOMES],
        stages=_options(STAGES, "Select a stage"),
        needs=[(n, words(n)) for n in NEED_DOMAINS],
        priorities=[
            ("case_keeps_priority", "The case keeps its priority"),
            ("waiting_referrals_first", "Referrals waiting come first"),
        ],
        **_closure_options(),
    )


def _closure_options() -> Json:
    return {
        "reasons": _options(CLOSURE_REASONS, "Select a reason"),
        "tenancy_outcomes": [(o, words(o)) for o in TENANCY_OUTCOMES],
        "breakdown_points": _options(BREAKDOWN_POINTS, "Select where"),
    }


@router.get("/cases/{case_id}/reviews/{review_id}", response_class=HTMLResponse)
async def review_form(
    request: Request, case_id: str, review_id: str, viewer: ViewerDep
) -> HTMLResponse:
    case = await _case(viewer.api, case_id)
    review = _review_of(case, review_id)
    name = await _name(viewer.api, case_id)
    return _review_page(request, viewer, case, review, name, {}, {})


@router.post("/cases/{case_id}/reviews/{review_id}", response_model=None)
async def complete_review(
    request: Request, case_id: str, review_id: str, viewer: ViewerDep
) -> Response:
    api = viewer.api
    case = await _case(api, case_id)
    review = _review_of(case, review_id)
    values = viewer.values()
    body, errors = review_body(values, review, _by(viewer))
    if not errors:
        try:
            await api.post(
                "support",
                f"/cases/{case_id}/reviews/{review_id}/complete",
                body,
                key=viewer.idempotency_key,
            )
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = form_errors(api_errors(exc), REVIEW_FIELDS, "outcome")
    if errors:
        name = await _name(api, case_id)
        return _review_page(request, viewer, case, review, name, values, errors)
    closed = body["outcome"] == "close"
    message = "Review completed and case closed" if closed else "Review completed"
    return await done(request, viewer, message, f"/cases/{case_id}#reviews")


# --- close the case -------------------------------------------------------------------------


def _close_page(
    request: Request, viewer: Viewer, case: Json, name: str, values: Values, errors: Errors
) -> HTMLResponse:
    return render(
        request,
        viewer,
        "case/close.html",
        status=400 if errors else 200,
        case=case,
        case_id=case["case_id"],
        name=name,
        values=values,
        errors=errors,
        **_closure_options(),
    )


@router.get("/cases/{case_id}/close", response_class=HTMLResponse)
async def close_form(request: Request, case_id: str, viewer: ViewerDep) -> HTMLResponse:
    case = await _case(viewer.api, case_id)
    name = await _name(viewer.api, case_id)
    return _close_page(request, viewer, case, name, {}, {})


@router.post("/cases/{case_id}/close", response_model=None)
async def close_case(request: Request, case_id: str, viewer: ViewerDep) -> Response:
    api = viewer.api
    case = await _case(api, case_id)
    values = viewer.values()
    body, errors = closure_body(values, _by(viewer))
    if not errors:
        try:
            await api.post("support", f"/cases/{case_id}/close", body, key=viewer.idempotency_key)
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = form_errors(api_errors(exc), CLOSURE_FIELDS, "reason")
    if errors:
        return _close_page(request, viewer, case, await _name(api, case_id), values, errors)
    return await done(request, viewer, "Case closed", f"/cases/{case_id}#closure")
