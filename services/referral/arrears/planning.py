"""Fold one tenancy's alerts of a batch, in order, into its new state and events. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from services.referral.arrears.alert import AlertSubmission
from services.referral.arrears.decision import Outcome, TenancyState, decide
from services.referral.arrears.risk_rules import Assessment, RiskRules, assess
from services.referral.arrears.signals import prevention_referral, tenancy_at_risk
from shared.codes import RiskLevel
from shared.events.envelope import Envelope


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

    @property
    def needs_write(self) -> bool:
        return self.last_sub is not None


def plan_tenancy(
    state: TenancyState,
    subs: Sequence[AlertSubmission],
    rules: RiskRules,
    now: datetime,
) -> TenancyPlan:
    today: date = now.date()
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
        decision = decide(plan.after, sub.alert_id, assessment, rules, now)
        result = AlertResult(
            position=sub.position,
            status=decision.outcome,
            tenancy_reference=sub.alert.tenancy_reference,
            tenancy_id=sub.tenancy_id,
            alert_id=sub.alert_id,
        )
        if decision.outcome != Outcome.DUPLICATE:
            result.risk_level = assessment.level
            result.reasons = list(assessment.reasons)
            plan.last_sub, plan.last_assessment = sub, assessment
        signal = decision.signal
        if signal is not None:
            result.signalled = True
            result.case_id = signal.case_id
            result.prevention_case_id = signal.prevention_referral_id
            plan.events.append(tenancy_at_risk(sub, signal, now))
            if signal.prevention_referral_id is not None:
                plan.events.append(prevention_referral(sub, signal, rules, now))
        plan.after = decision.state
        plan.results.append(result)
    return plan
