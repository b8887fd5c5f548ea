"""The waiting list's priority: a pure, explainable score.

Every part of the score comes with the reason a team leader reads beside it. The parts are
added up; nothing is hidden in weights that are not shown. Ageing adds points for every day
waited and has no ceiling, so however low a case's need it reaches the top in the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.codes import LegalStage, RiskLevel, SupportNeed

# Days until the date the household faces homelessness -> points. 56 days is the statutory
# prevention-duty window in England; inside it the nearer the date, the higher.
URGENCY_BANDS: tuple[tuple[int, float, str], ...] = (
    (0, 40.0, "homeless now or due today"),
    (7, 35.0, "facing homelessness within 7 days"),
    (14, 30.0, "facing homelessness within 14 days"),
    (28, 20.0, "facing homelessness within 28 days"),
    (56, 10.0, "facing homelessness within 56 days"),
)
LEGAL_STAGE_POINTS: dict[LegalStage, float] = {
    LegalStage.NONE: 0.0,
    LegalStage.NOTICE_SERVED: 10.0,
    LegalStage.COURT_DATE_SET: 20.0,
    LegalStage.POSSESSION_ORDER: 30.0,
    LegalStage.EVICTION_DATE_SET: 40.0,
}
RISK_POINTS: dict[RiskLevel, float] = {
    RiskLevel.LOW: 5.0,
    RiskLevel.MEDIUM: 15.0,
    RiskLevel.HIGH: 30.0,
    RiskLevel.CRITICAL: 45.0,
}
# Severity of each need: risk to safety and to the tenancy first, practical needs last.
NEED_SEVERITY: dict[SupportNeed, float] = {
    SupportNeed.DOMESTIC_ABUSE: 8.0,
    SupportNeed.SEXUAL_ABUSE: 8.0,
    SupportNeed.YOUNG_PERSON_16_17: 8.0,
    SupportNeed.ROUGH_SLEEPING: 8.0,
    SupportNeed.MENTAL_HEALTH: 6.0,
    SupportNeed.DRUG_DEPENDENCY: 6.0,
    SupportNeed.ALCOHOL_DEPENDENCY: 6.0,
    SupportNeed.CARE_LEAVER_18_20: 6.0,
    SupportNeed.LEARNING_DISABILITY: 6.0,
    SupportNeed.OTHER_ABUSE: 6.0,
    SupportNeed.REPEAT_HOMELESSNESS: 6.0,
    SupportNeed.OFFENDING: 4.0,
    SupportNeed.PHYSICAL_HEALTH: 4.0,
    SupportNeed.YOUNG_PERSON_18_25: 4.0,
    SupportNeed.YOUNG_PARENT: 4.0,
    SupportNeed.CARE_LEAVER_21_PLUS: 4.0,
    SupportNeed.FORMER_ASYLUM_SEEKER: 4.0,
}
DEFAULT_NEED_SEVERITY = 2.0
NEEDS_CAP = 30.0
REPEAT_CYCLE_POINTS = 15.0
AGEING_POINTS_PER_DAY = 1.0


@dataclass(frozen=True)
class RiskSignal:
    """A later TenancyAtRisk naming the case."""

    level: RiskLevel
    reasons: tuple[str, ...] = ()
    legal_stage: LegalStage = LegalStage.NONE


@dataclass(frozen=True)
class PriorityFacts:
    support_needs: tuple[SupportNeed, ...] = ()
    date_facing_homelessness: date | None = None
    legal_stage: LegalStage = LegalStage.NONE
    risk_level: RiskLevel | None = None
    risk_signals: tuple[RiskSignal, ...] = ()
    repeat_cycle: bool = False
    waiting_since: datetime | None = None


@dataclass(frozen=True)
class PriorityPart:
    code: str
    points: float
    reason: str


@dataclass(frozen=True)
class Priority:
    score: float
    parts: tuple[PriorityPart, ...] = field(default_factory=tuple)

    @property
    def reasons(self) -> list[str]:
        return [f"{p.reason} (+{p.points:g})" for p in self.parts]


def priority(facts: PriorityFacts, now: datetime) -> Priority:
    """The score of a case waiting for allocation, with its reasons."""
    parts = [
        *_urgency(facts.date_facing_homelessness, now.date()),
        *_legal(_legal_stage(facts)),
        *_risk(facts),
        *_needs(facts.support_needs),
        *_repeat(facts.repeat_cycle),
        *_ageing(facts.waiting_since, now),
    ]
    return _total(parts)


def continued_priority(facts: PriorityFacts, now: datetime, review_point: str) -> Priority:
    """The score of an open case at a review weighed against referrals waiting (staged model:
    reviews at 12 weeks and 6/12/15/18 months). The date it faced homelessness at referral is
    history by now and it has not been waiting, so only current need counts: risk and legal
    stage from later tenancy alerts, needs, and the repeat-cycle flag."""
    current = PriorityFacts(
        support_needs=facts.support_needs,
        legal_stage=LegalStage.NONE,
        risk_level=facts.risk_level,
        risk_signals=facts.risk_signals,
        repeat_cycle=facts.repeat_cycle,
    )
    result = priority(current, now)
    note = PriorityPart("review", 0.0, f"continued priority at review {review_point}")
    return Priority(result.score, (note, *result.parts))


def rank_key(score: float, waiting_since: datetime, case_id: str) -> tuple[float, datetime, str]:
    """Highest score first; on a tie, whoever has waited longest; then a stable order."""
    return (-score, waiting_since, case_id)


# --- the parts ---------------------------------------------------------------------------


def _urgency(facing: date | None, today: date) -> list[PriorityPart]:
    if facing is None:
        return []
    days = (facing - today).days
    for limit, points, reason in URGENCY_BANDS:
        if days <= limit:
            detail = reason if days <= 0 else f"{reason} ({days} days)"
            return [PriorityPart("urgency", points, detail)]
    return []


def _legal_stage(facts: PriorityFacts) -> LegalStage:
    stages = [facts.legal_stage, *(s.legal_stage for s in facts.risk_signals)]
    return max(stages, key=lambda s: s.rank)


def _legal(stage: LegalStage) -> list[PriorityPart]:
    points = LEGAL_STAGE_POINTS[stage]
    if not points:
        return []
    return [PriorityPart("legal_stage", points, f"legal stage: {stage.value.replace('_', ' ')}")]


def _risk(facts: PriorityFacts) -> list[PriorityPart]:
    level = facts.risk_level
    source = "at assessment"
    for signal in facts.risk_signals:
        if level is None or signal.level.rank > level.rank:
            level = signal.level
            why = "; ".join(signal.reasons)
            source = f"raised by a tenancy-risk alert{': ' + why if why else ''}"
    if level is None:
        return []
    return [PriorityPart("risk", RISK_POINTS[level], f"risk {level.value} {source}")]


def _needs(needs: Sequence[SupportNeed]) -> list[PriorityPart]:
    unique = list(dict.fromkeys(needs))
    if not unique:
        return []
    weighted = sorted(
        ((NEED_SEVERITY.get(n, DEFAULT_NEED_SEVERITY), n) for n in unique),
        key=lambda wn: (-wn[0], wn[1].value),
    )
    total = min(NEEDS_CAP, sum(w for w, _ in weighted))
    names = ", ".join(n.value.replace("_", " ") for _, n in weighted)
    count = len(unique)
    noun = "need" if count == 1 else "needs"
    return [PriorityPart("needs", total, f"{count} support {noun}: {names}")]


def _repeat(repeat_cycle: bool) -> list[PriorityPart]:
    if not repeat_cycle:
        return []
    return [PriorityPart("repeat_cycle", REPEAT_CYCLE_POINTS, "repeat cycle of homelessness")]


def _ageing(since: datetime | None, now: datetime) -> list[PriorityPart]:
    if since is None:
        return []
    days = max(0, (now - since).days)
    if not days:
        return []
    noun = "day" if days == 1 else "days"
    return [PriorityPart("waiting", days * AGEING_POINTS_PER_DAY, f"waiting {days} {noun}")]


def _total(parts: Iterable[PriorityPart]) -> Priority:
    kept = tuple(parts)
    return Priority(round(sum(p.points for p in kept), 2), kept)
