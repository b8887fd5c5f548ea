"""What a new alert means for a tenancy, given what was already signalled. Pure.

A tenancy's *episode* runs from its first signal until its arrears are cleared. Within an
episode only a rise above the highest level already signalled is news: the same alert again,
or one at the same or a lower level, changes nothing that anyone downstream sees. A rise
raises TenancyAtRisk, and — when no case is open or pending for the tenancy — a prevention
referral with an id derived from (tenancy, episode, level), so replaying a decision can never
mint a second one.

A repeat costs nothing (issue 21): an alert that leaves the tenancy's state as it was is not
written at all, so what guards replays cannot be a list of every alert id seen. Instead each
state change stores its alert's `Recency` (when the landlord sent it, and the day its figures
are for when the landlord said so); an alert older than the last applied change is *stale*
and changes nothing, so a replayed or late old alert can never count as news after the
arrears were cleared. The ids of the alerts that changed the state are still kept, so the
very same alert again is answered "duplicate".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum

from services.referral.arrears.risk_rules import LEVEL_RANK, Assessment, RiskRules
from shared.codes import LegalStage, RiskLevel
from shared.ids import stable_id

RECENT_ALERTS = 20  # alert ids remembered per tenancy to recognise a re-sent alert
RECENT_ENDS = 5  # tenancy ends remembered, so the feed repeating one emits nothing


class CaseStatus(StrEnum):
    PENDING = "pending"  # referral received or assessed for support, not yet allocated
    OPEN = "open"  # allocated to a worker
    CLOSED = "closed"  # closed, declined or redirected to a specialist

    @property
    def rank(self) -> int:
        return list(CaseStatus).index(self)


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # changed the tenancy's risk: a rise signalled, or arrears cleared
    UNCHANGED = "unchanged"  # recorded; nothing new to signal
    DUPLICATE = "duplicate"  # this very alert was already received
    REJECTED = "rejected"  # invalid; never reached a decision


@dataclass(frozen=True)
class CaseEntry:
    case_id: str
    status: CaseStatus
    at: datetime | None = None
    organisation: str | None = None  # the case's owner; None: recorded before issue 15


def case_key(case_id: str) -> str:
    """Case ids become map keys in the tenancy document; hashing keeps dots and $ out."""
    return stable_id("case", case_id)[:24]


@dataclass(frozen=True)
class Figures:
    """A landlord's figures for a tenancy, as outcomes reads them (TenancyArrearsReported)."""

    arrears_balance: float
    weekly_rent: float | None = None
    legal_stage: LegalStage = LegalStage.NONE


@dataclass(frozen=True)
class Recency:
    """When an alert's figures were true: the moment the landlord sent it (a Kafka event's
    time, never later than its arrival; the moment an HTTP or CSV alert arrived) and the day
    the landlord said its figures are for (None: not said)."""

    sent_at: datetime
    reported_on: date | None = None

    def older_than(self, applied: Recency | None) -> bool:
        """Is an alert of this recency older than the last change applied (`applied`)? Sent
        before it, or dated by the landlord before the day it was dated. An equal recency is
        not older: alerts of one request or file share one, and are folded in their order."""
        if applied is None:
            return False
        if self.sent_at < applied.sent_at:
            return True
        days = self.reported_on, applied.reported_on
        return days[0] is not None and days[1] is not None and days[0] < days[1]


@dataclass(frozen=True)
class AlertFacts:
    """What the last alert that changed the tenancy said, as the landlord's views show it
    (`last_alert`): an alert saying the same again is a repeat."""

    risk_level: RiskLevel | None
    reasons: tuple[str, ...]
    arrears_balance: float
    weeks_in_arrears: float | None
    legal_stage: LegalStage


@dataclass(frozen=True)
class TenancyState:
    tenancy_id: str
    version: int = 0  # 0: no document yet
    episode: int = 0
    signalled_level: RiskLevel | None = None
    recent_alerts: tuple[str, ...] = ()
    cases: dict[str, CaseEntry] = field(default_factory=dict)
    ends: tuple[date, ...] = ()  # the ends the landlord's feed has told (TenancyEnded sent)
    reported: Figures | None = None  # the figures last sent in TenancyArrearsReported
    latest: AlertFacts | None = None  # what the last alert that changed the state said
    as_of: Recency | None = None  # that alert's recency: an older alert is stale

    @property
    def landlord(self) -> str:
        return self.tenancy_id.split(":", 1)[0]  # tenancy ids are "<landlord>:t-<digest>"

    def evolve(self, **changes: object) -> TenancyState:
        """`dataclasses.replace` without re-running `__init__` (measured: a fifth of the time),
        as it is on every alert's path, repeats included. Only fields may change."""
        unknown = changes.keys() - _FIELDS
        if unknown:
            raise TypeError(f"TenancyState has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(TenancyState)
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    def linked(self, entry: CaseEntry, sharing: frozenset[str] | None) -> bool:
        """Is this case linked to the landlord's alerts? The landlord's own always; another
        organisation's (a referral naming this tenancy) only under a live agreement (`sharing`:
        the organisations the landlord shares tenancy data with now; None: every case)."""
        owner = entry.organisation
        return sharing is None or owner in (None, self.landlord) or owner in sharing

    def open_case(self, sharing: frozenset[str] | None = None) -> str | None:
        """The most recently allocated linked case that is still open."""
        open_cases = [
            c for c in self.cases.values()
            if c.status == CaseStatus.OPEN and self.linked(c, sharing)
        ]  # fmt: skip
        if not open_cases:
            return None
        return max(open_cases, key=lambda c: (c.at is not None, c.at or datetime.min)).case_id

    def linked_cases(self, sharing: frozenset[str] | None = None) -> list[CaseEntry]:
        """Every linked case, pending, open or closed, in a stable order (by case id)."""
        linked = [c for c in self.cases.values() if self.linked(c, sharing)]
        return sorted(linked, key=lambda c: c.case_id)

    def has_open_or_pending_case(self, sharing: frozenset[str] | None = None) -> bool:
        return any(
            c.status != CaseStatus.CLOSED and self.linked(c, sharing) for c in self.cases.values()
        )

    def unlinked_claims(self, sharing: frozenset[str]) -> list[CaseEntry]:
        """Other organisations' live cases naming this tenancy, held for want of an agreement."""
        return [
            c for c in self.cases.values()
            if c.status != CaseStatus.CLOSED and not self.linked(c, sharing)
        ]  # fmt: skip


@dataclass(frozen=True)
class Signal:
    level: RiskLevel
    reasons: tuple[str, ...]
    episode: int
    case_id: str | None
    prevention_referral_id: str | None


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    state: TenancyState
    signal: Signal | None = None


def prevention_referral_id(tenancy_id: str, episode: int, level: RiskLevel) -> str:
    return f"prev-{stable_id('prevention', tenancy_id, str(episode), level.value)}"


def decide(
    state: TenancyState,
    alert_id: str,
    assessment: Assessment,
    rules: RiskRules,
    now: datetime,
    sharing: frozenset[str] | None = None,
) -> Decision:
    """`sharing`: the organisations whose cases naming this tenancy are linked to its alerts
    now (see `TenancyState.linked`); the others neither suppress the prevention referral nor
    are named in TenancyAtRisk."""
    if alert_id in state.recent_alerts:
        return Decision(Outcome.DUPLICATE, state)
    recent = (*state.recent_alerts, alert_id)[-RECENT_ALERTS:]
    seen = state.evolve(recent_alerts=recent)

    if assessment.level is None:
        if state.signalled_level is None:
            return Decision(Outcome.UNCHANGED, seen)
        # Arrears cleared: the episode ends, so a later rise is news again.
        ended = seen.evolve(episode=state.episode + 1, signalled_level=None)
        return Decision(Outcome.ACCEPTED, ended)

    level = assessment.level
    rank = LEVEL_RANK[level]
    below_threshold = rank < LEVEL_RANK[rules.signal_from]
    signalled = state.signalled_level
    not_higher = signalled is not None and rank <= LEVEL_RANK[signalled]
    if below_threshold or not_higher:
        return Decision(Outcome.UNCHANGED, seen)

    referral_id = None
    cases = state.cases
    if not state.has_open_or_pending_case(sharing) and rank >= LEVEL_RANK[rules.refer_from]:
        referral_id = prevention_referral_id(state.tenancy_id, state.episode, level)
        # Pending at once, so a second rise before intake answers raises no second referral.
        target = rules.referral_organisation(state.landlord)
        entry = CaseEntry(referral_id, CaseStatus.PENDING, now, target)
        cases = {**cases, case_key(referral_id): entry}
    signal = Signal(
        level=level,
        reasons=assessment.reasons,
        episode=state.episode,
        case_id=state.open_case(sharing),
        prevention_referral_id=referral_id,
    )
    return Decision(Outcome.ACCEPTED, seen.evolve(signalled_level=level, cases=cases), signal)


def is_stale(state: TenancyState, recency: Recency) -> bool:
    return recency.older_than(state.as_of)


def changes_nothing(before: TenancyState, after: TenancyState) -> bool:
    """The same state apart from the bookkeeping of replays (alert ids, recency): nothing to
    write and nothing to tell. (Field by field: on every alert's path, repeats included.)"""
    return before is after or all(getattr(before, f) == getattr(after, f) for f in _SUBSTANCE)


_SUBSTANCE = tuple(f.name for f in fields(TenancyState) if f.name not in {"recent_alerts", "as_of"})
_FIELDS = frozenset(f.name for f in fields(TenancyState))


def case_transition(current: CaseStatus | None, new: CaseStatus) -> bool:
    """Case statuses only move forward (pending -> open -> closed), so events that arrive out
    of order across topics, or twice, can never reopen a closed case."""
    return current is None or new.rank > current.rank
