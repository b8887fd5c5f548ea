"""Fold one tenancy's alerts of a batch, in order, into its new state and events. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from services.referral.arrears.alert import AlertSubmission
from services.referral.arrears.decision import (
    RECENT_ALERTS,
    AlertFacts,
    CaseEntry,
    CaseStatus,
    Outcome,
    Recency,
    Signal,
    TenancyState,
    case_key,
    changes_nothing,
    decide,
    is_stale,
)
from services.referral.arrears.risk_rules import Assessment, RiskRules, assess
from services.referral.arrears.signals import feed_events, prevention_referral, tenancy_at_risk
from services.referral.arrears.tenancy_feed import read_feed
from services.referral.held_flows import FlowKind, HeldFlow
from shared.agreements import Agreement, DataCategory, Purpose, check
from shared.codes import RiskLevel
from shared.consent import Consent
from shared.consent import decide as consent_decides
from shared.events.envelope import Envelope

# What each flow carries, so what the agreement must cover.
PREVENTION_CATEGORIES = frozenset(
    {DataCategory.TENANCY, DataCategory.ARREARS, DataCategory.IDENTITY}
)
TENANCY_DATA_CATEGORIES = frozenset({DataCategory.TENANCY, DataCategory.ARREARS})


@dataclass
class AlertResult:
    """What became of one alert; the per-item / per-row report."""

    position: int
    status: Outcome
    tenancy_reference: str | None = None
    tenancy_id: str | None = None
    alert_id: str | None = None
    risk_level: RiskLevel | None = None
    reasons: list[str] = field(default_factory=list)
    signalled: bool = False
    case_id: str | None = None
    prevention_case_id: str | None = None
    reason: str | None = None  # why it was rejected, naming the field or column
    held: str | None = None  # why the prevention referral it would raise is held

    def as_dict(self) -> dict[str, Any]:
        body = {k: v for k, v in asdict(self).items() if v not in (None, [], False)}
        body["status"] = self.status.value
        if self.risk_level is not None:
            body["risk_level"] = self.risk_level.value
        return body


@dataclass
class TenancyPlan:
    tenancy_id: str
    landlord: str
    before: TenancyState
    after: TenancyState
    results: list[AlertResult]
    events: list[Envelope]
    last_sub: AlertSubmission | None = None
    last_assessment: Assessment | None = None
    held: list[HeldFlow] = field(default_factory=list)  # flows refused for want of agreement

    @property
    def needs_write(self) -> bool:
        return self.last_sub is not None


def sharing_organisations(
    state: TenancyState, agreements: Sequence[Agreement], now: datetime
) -> frozenset[str]:
    """The organisations whose cases naming this tenancy are linked to its alerts now: a live
    tenancy-data agreement with the landlord, or the arrears-prevention one its prevention
    referrals went under (both cover tenancy and arrears)."""
    landlord = state.landlord
    owners = {c.organisation for c in state.cases.values() if c.organisation}
    return frozenset(
        org
        for org in owners - {landlord}
        if check(agreements, from_organisation=landlord, to_organisation=org,
                 purpose=Purpose.TENANCY_DATA, categories=TENANCY_DATA_CATEGORIES, at=now)
        or check(agreements, from_organisation=landlord, to_organisation=org,
                 purpose=Purpose.ARREARS_PREVENTION, categories=PREVENTION_CATEGORIES, at=now)
    )  # fmt: skip


def claiming_cases(state: TenancyState) -> list[str]:
    """The live cases of other organisations naming this tenancy: whose consent is asked."""
    landlord = state.landlord
    return [
        c.case_id
        for c in state.cases.values()
        if c.status != CaseStatus.CLOSED and c.organisation not in (None, landlord)
    ]


def consent_refusals(
    state: TenancyState, consents: Mapping[str, Consent], now: datetime
) -> dict[str, tuple[CaseEntry, str]]:
    """Other organisations' cases whose person's consent does not let the landlord's tenancy
    data reach them now: case key -> (entry, the consent's reason). A case with no consent
    recorded (an automatic arrears referral) is not refused here: the agreements decide."""
    refused: dict[str, tuple[CaseEntry, str]] = {}
    claiming = set(claiming_cases(state))
    for key, entry in state.cases.items():
        consent = consents.get(entry.case_id)
        if consent is None or entry.case_id not in claiming:
            continue
        decision = consent_decides(consent, state.landlord, Purpose.TENANCY_DATA, now)
        if not decision:
            refused[key] = (entry, decision.reason)
    return refused


def _without(state: TenancyState, keys: Mapping[str, object]) -> TenancyState:
    if not keys:
        return state
    return replace(state, cases={k: v for k, v in state.cases.items() if k not in keys})


def _with(state: TenancyState, withheld: Mapping[str, tuple[CaseEntry, str]]) -> TenancyState:
    if not withheld:
        return state
    return replace(state, cases={**{k: e for k, (e, _) in withheld.items()}, **state.cases})


def plan_tenancy(
    state: TenancyState,
    subs: Sequence[AlertSubmission],
    rules: RiskRules,
    now: datetime,
    agreements: Sequence[Agreement] | None = None,
    consents: Mapping[str, Consent] | None = None,
    received_at: datetime | None = None,
) -> TenancyPlan:
    """`received_at`: the real time the alerts reached the pipeline (default `now`), which
    orders them against the tenancy's last change with each alert's own time.
    `agreements`: the landlord's data-sharing agreements, checked now for every flow into
    another organisation (None: checks off, for the pure tests of the rules alone).
    `consents`: the consent recorded on other organisations' cases naming this tenancy (by
    case id); a case whose consent refuses the landlord's tenancy data is not linked to the
    alerts, as if no agreement covered it, and its claim is held with the consent's reason."""
    today: date = now.date()
    sharing = None if agreements is None else sharing_organisations(state, agreements, now)
    # Decided on the cases the consents allow; the refused ones are kept in the state as
    # they were (their status still moves with case events), only out of the decision's sight.
    withheld = {} if sharing is None else consent_refusals(state, consents or {}, now)
    plan = TenancyPlan(
        tenancy_id=state.tenancy_id,
        landlord=subs[0].landlord,
        before=state,
        after=state,
        results=[],
        events=[],
    )
    for sub in subs:
        assessment = assess(sub.alert, rules, today)
        result = AlertResult(
            position=sub.position,
            status=Outcome.UNCHANGED,
            tenancy_reference=sub.alert.tenancy_reference,
            tenancy_id=sub.tenancy_id,
            alert_id=sub.alert_id,
        )
        plan.results.append(result)
        if sub.alert_id in plan.after.recent_alerts:
            result.status = Outcome.DUPLICATE  # this very alert already changed the state
            continue
        result.risk_level = assessment.level
        result.reasons = list(assessment.reasons)
        recency = recency_of(sub, received_at or now)
        if is_stale(plan.after, recency):
            # Older than the change last applied: a replayed or late alert is never news.
            result.reason = STALE
            continue
        before = plan.after
        after, events = _apply(plan, before, sub, assessment, result, withheld, sharing,
                               rules, agreements, now)  # fmt: skip
        if changes_nothing(before, after):
            # A repeat: no write, no event, and its id not kept (its recency guards replays).
            result.status = Outcome.UNCHANGED
            continue
        recent = (*before.recent_alerts, sub.alert_id)[-RECENT_ALERTS:]
        plan.after = after.evolve(recent_alerts=recent, as_of=recency)
        plan.events.extend(events)
        plan.last_sub, plan.last_assessment = sub, assessment
    if sharing is not None and any(r.signalled for r in plan.results):
        # A risk signal, not the feed's own events: the claims it did not reach are held.
        plan.held.extend(_held_claims(plan.after, sharing, agreements or (), now))
        # Agreed, but the person's consent refuses: held with the consent's reason (a claim
        # no agreement covers is held above with the agreement's).
        plan.held.extend(
            tenancy_claim(state.tenancy_id, entry.case_id, entry.organisation or "", reason)
            for entry, reason in withheld.values()
            if plan.after.linked(entry, sharing)
        )
    return plan


STALE = "stale: older than the alert that last changed this tenancy; nothing changed"


def recency_of(sub: AlertSubmission, received_at: datetime) -> Recency:
    """The alert's place in its tenancy's order: when sent (never later than it arrived; a
    time without a zone is UTC), and the day its figures are for if the landlord said."""
    sent = sub.sent_at or received_at
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    return Recency(min(sent, received_at), sub.alert.reported_on)


def facts_of(sub: AlertSubmission, assessment: Assessment) -> AlertFacts:
    alert = sub.alert
    return AlertFacts(
        assessment.level,
        assessment.reasons,
        alert.arrears_balance,
        alert.weeks_in_arrears,
        alert.effective_legal_stage,
    )


def _apply(
    plan: TenancyPlan,
    state: TenancyState,
    sub: AlertSubmission,
    assessment: Assessment,
    result: AlertResult,
    withheld: Mapping[str, tuple[CaseEntry, str]],
    sharing: frozenset[str] | None,
    rules: RiskRules,
    agreements: Sequence[Agreement] | None,
    now: datetime,
) -> tuple[TenancyState, list[Envelope]]:
    """One alert decided on `state`: the state after it and the events it raises (kept only
    if the state changed: no event ever goes out without its tenancy's write)."""
    decision = decide(_without(state, withheld), sub.alert_id, assessment, rules, now, sharing)
    result.status = decision.outcome
    events: list[Envelope] = []
    signal, after = decision.signal, decision.state
    referral = None
    if signal is not None and signal.prevention_referral_id is not None:
        referral = prevention_referral(sub, signal, rules, now)
        held = _hold_referral(plan, referral, signal, agreements, now)
        if held is not None:
            # Not raised: no pending case for it, and TenancyAtRisk names none; the
            # landlord's own signal still goes out.
            plan.held.append(held)
            result.held = held.reason
            key = case_key(signal.prevention_referral_id)
            after = replace(after, cases={k: v for k, v in after.cases.items() if k != key})
            signal, referral = replace(signal, prevention_referral_id=None), None
    if signal is not None:
        result.signalled = True
        result.case_id = signal.case_id
        result.prevention_case_id = signal.prevention_referral_id
        events.append(tenancy_at_risk(sub, signal, now))
        if referral is not None:
            events.append(referral)
    # What the feed tells outcomes (figures, an end), on the cases as just decided;
    # remembered on the state, so the same again emits nothing.
    news = read_feed(after, sub.alert, sharing)
    events.extend(feed_events(sub, news, now))
    after, facts = news.state, facts_of(sub, assessment)
    if after.latest != facts:
        after = after.evolve(latest=facts)
    return _with(after, withheld), events


def _hold_referral(
    plan: TenancyPlan,
    referral: Envelope,
    signal: Signal,
    agreements: Sequence[Agreement] | None,
    now: datetime,
) -> HeldFlow | None:
    """A prevention referral into another organisation needs a live arrears-prevention
    agreement covering what it carries; without one it is held (None: it may go)."""
    target = referral.organisation
    if agreements is None or target == plan.landlord:
        return None
    decision = check(
        agreements, from_organisation=plan.landlord, to_organisation=target,
        purpose=Purpose.ARREARS_PREVENTION, categories=PREVENTION_CATEGORIES, at=now,
    )  # fmt: skip
    if decision:
        return None
    assert signal.prevention_referral_id is not None
    return HeldFlow(
        kind=FlowKind.PREVENTION_REFERRAL,
        purpose=Purpose.ARREARS_PREVENTION,
        from_organisation=plan.landlord,
        to_organisation=target,
        reason=decision.reason,
        subject=signal.prevention_referral_id,
        tenancy_id=plan.tenancy_id,
        episode=signal.episode,
        level_rank=signal.level.rank,
        event=referral,
    )


def _held_claims(
    state: TenancyState, sharing: frozenset[str], agreements: Sequence[Agreement], now: datetime
) -> list[HeldFlow]:
    """Other organisations' cases naming this tenancy that this signal did not reach."""
    held = []
    for entry in state.unlinked_claims(sharing):
        assert entry.organisation is not None
        decision = check(
            agreements, from_organisation=state.landlord, to_organisation=entry.organisation,
            purpose=Purpose.TENANCY_DATA, categories=TENANCY_DATA_CATEGORIES, at=now,
        )  # fmt: skip
        held.append(tenancy_claim(state.tenancy_id, entry.case_id, entry.organisation,
                                  decision.reason))  # fmt: skip
    return held


def tenancy_claim(tenancy_id: str, case_id: str, organisation: str, reason: str) -> HeldFlow:
    return HeldFlow(
        kind=FlowKind.TENANCY_CLAIM,
        purpose=Purpose.TENANCY_DATA,
        from_organisation=tenancy_id.split(":", 1)[0],
        to_organisation=organisation,
        reason=reason,
        subject=case_id,
        tenancy_id=tenancy_id,
    )
