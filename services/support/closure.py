"""Closing a support case: reason and tenancy outcome codes, and the safety-net evaluation of
where a failed tenancy broke down (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shared.codes import ClosureReason, TenancyOutcome

# Tenancies that failed: the team looks back, with the client if possible, at where the
# resettlement process broke down and what could have prevented it.
FAILED_OUTCOMES = frozenset({TenancyOutcome.EVICTED, TenancyOutcome.ABANDONED})

# The tenancy outcomes each reason allows; a reason absent here allows any outcome.
REASON_OUTCOMES: dict[ClosureReason, frozenset[TenancyOutcome]] = {
    ClosureReason.TENANCY_SUSTAINED: frozenset({TenancyOutcome.SUSTAINED}),
    ClosureReason.PLAN_ACHIEVED: frozenset(
        {TenancyOutcome.SUSTAINED, TenancyOutcome.MOVED_ON_PLANNED, TenancyOutcome.NOT_APPLICABLE}
    ),
    ClosureReason.MOVED_ON: frozenset(
        {TenancyOutcome.MOVED_ON_PLANNED, TenancyOutcome.SURRENDERED, TenancyOutcome.SUSTAINED}
    ),
    ClosureReason.EVICTED: frozenset({TenancyOutcome.EVICTED}),
    ClosureReason.ABANDONED: frozenset({TenancyOutcome.ABANDONED}),
}
NOT_FOR_SUPPORT = frozenset({ClosureReason.RECONNECTED})  # a reconnection service outcome


class BreakdownPoint(StrEnum):
    """Where in the resettlement process the tenancy broke down."""

    REFERRAL_OR_ASSESSMENT = "referral_or_assessment"
    MOVE_IN = "move_in"
    SUPPORT_PLAN = "support_plan"
    INCOME_AND_BENEFITS = "income_and_benefits"
    ARREARS = "arrears"
    NEIGHBOURS_OR_BEHAVIOUR = "neighbours_or_behaviour"
    HEALTH = "health"
    SUBSTANCE_MISUSE = "substance_misuse"
    ENGAGEMENT = "engagement"
    CRISIS_RESPONSE = "crisis_response"
    ENDING_OF_SUPPORT = "ending_of_support"
    OTHER = "other"


@dataclass(frozen=True)
class Evaluation:
    broke_down_at: BreakdownPoint
    what_happened: str
    what_could_have_prevented_it: str
    reviewed_with_client: bool


class ClosureError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def evaluation_required(reason: ClosureReason, outcome: TenancyOutcome) -> bool:
    return outcome in FAILED_OUTCOMES or reason in (ClosureReason.EVICTED, ClosureReason.ABANDONED)


def validate_closure(
    reason: ClosureReason,
    outcome: TenancyOutcome,
    evaluation: Evaluation | None,
    has_tenancy: bool,
) -> None:
    if reason in NOT_FOR_SUPPORT:
        raise ClosureError("reason", f"{reason} closes reconnection cases, not support cases")
    allowed = REASON_OUTCOMES.get(reason)
    if allowed is not None and outcome not in allowed:
        names = ", ".join(sorted(allowed))
        raise ClosureError("tenancy_outcome", f"{reason} needs one of: {names}")
    if has_tenancy and outcome is TenancyOutcome.NOT_APPLICABLE:
        raise ClosureError("tenancy_outcome", "the case has a tenancy: say what became of it")
    if evaluation_required(reason, outcome) and evaluation is None:
        raise ClosureError(
            "evaluation", "required when the tenancy failed: where did it break down?"
        )
    if evaluation is not None:
        if not evaluation.what_happened.strip():
            raise ClosureError("evaluation.what_happened", "required")
        if not evaluation.what_could_have_prevented_it.strip():
            raise ClosureError("evaluation.what_could_have_prevented_it", "required")


def implied_outcome(reason: ClosureReason, has_tenancy: bool) -> TenancyOutcome | None:
    """The tenancy outcome a closure that names none means: the one its reason allows
    (evicted, abandoned, sustained), else not_applicable when the case has no tenancy and
    unknown when it has one, where the reason allows that; None when the caller must say."""
    allowed = REASON_OUTCOMES.get(reason)
    if allowed is not None and len(allowed) == 1:
        return next(iter(allowed))
    meant = TenancyOutcome.UNKNOWN if has_tenancy else TenancyOutcome.NOT_APPLICABLE
    return meant if allowed is None or meant in allowed else None


def tenancy_outcome(
    reason: ClosureReason, given: TenancyOutcome | None, has_tenancy: bool
) -> TenancyOutcome:
    """The outcome given, or the one the reason and the case imply (`implied_outcome`)."""
    if given is not None:
        return given
    implied = implied_outcome(reason, has_tenancy)
    if implied is None:
        allowed = REASON_OUTCOMES.get(reason, frozenset())
        if has_tenancy:
            allowed = allowed - {TenancyOutcome.NOT_APPLICABLE}
        names = ", ".join(sorted(allowed))
        raise ClosureError("tenancy_outcome", f"required: {reason} needs one of: {names}")
    return implied


def landlord_of(tenancy_id: str | None) -> str | None:
    """Tenancy ids are `landlord organisation:t-<digest>` (shared.ids.tenancy_id)."""
    if not tenancy_id or ":" not in tenancy_id:
        return None
    return tenancy_id.split(":", 1)[0] or None


def involved_organisations(
    owner: str, referrer: str | None, tenancy_id: str | None, others: Iterable[str] = ()
) -> list[str]:
    """Every agency that should hear of the closure: the owner, the referrer, the landlord."""
    found = [owner, referrer, landlord_of(tenancy_id), *others]
    return sorted({o for o in found if o})
