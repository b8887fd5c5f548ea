"""What a landlord's feed tells beyond risk, for outcomes (issue 18). Pure.

- An end (`tenancy_ended_on` with `tenancy_end_reason`): TenancyEnded, once per end day; a
  feed that keeps repeating it (a nightly file keeps the row) emits nothing more.
- The figures (balance, weekly rent, legal stage): TenancyArrearsReported when they differ from
  the figures last reported and the tenancy has or had a case: a linked case that was allocated
  (open) or has closed. A referral still pending is not yet a case (its alert already sent
  TenancyAtRisk with the figures), so a tenancy on the waiting list, or never supported, sends
  nothing new; its first alert once a case is open reports the figures at that point.
Both name every case the landlord may see, by the rule that names TenancyAtRisk's case
(`TenancyState.linked` under `sharing`). What is remembered (`ends`, `reported`) rides on the
alert's own write of the tenancy, so a repeat costs no extra write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from services.referral.arrears.alert import ArrearsAlert
from services.referral.arrears.decision import (
    RECENT_ENDS,
    CaseEntry,
    CaseStatus,
    Figures,
    TenancyState,
)
from shared.codes import TenancyEndReason


@dataclass(frozen=True)
class TenancyEnd:
    ended_on: date
    reason: TenancyEndReason


@dataclass(frozen=True)
class FeedNews:
    """The tenancy's state with what this alert told, and what to emit (None: nothing)."""

    state: TenancyState
    ended: TenancyEnd | None = None
    reported: Figures | None = None
    case_ids: tuple[str, ...] = ()


def figures_of(alert: ArrearsAlert) -> Figures:
    return Figures(alert.arrears_balance, alert.weekly_rent, alert.effective_legal_stage)


def end_of(alert: ArrearsAlert) -> TenancyEnd | None:
    if alert.tenancy_ended_on is None or alert.tenancy_end_reason is None:
        return None  # the alert model refuses half an end; none here
    return TenancyEnd(alert.tenancy_ended_on, alert.tenancy_end_reason)


def supported(state: TenancyState, sharing: frozenset[str] | None = None) -> bool:
    """Has or had a case the landlord may see: allocated (open), or closed."""
    return _any_case(state.linked_cases(sharing))


def _any_case(linked: list[CaseEntry]) -> bool:
    return any(c.status is not CaseStatus.PENDING for c in linked)


def read_feed(
    state: TenancyState, alert: ArrearsAlert, sharing: frozenset[str] | None = None
) -> FeedNews:
    """`state`: the tenancy after the alert's risk decision (so with any referral it raised);
    `sharing`: as for `decision.decide` (None: every case is linked)."""
    ended = None
    end = end_of(alert)
    if end is not None and end.ended_on not in state.ends:
        ended = end
        state = replace(state, ends=(*state.ends, end.ended_on)[-RECENT_ENDS:])
    reported = None
    figures = figures_of(alert)
    linked = state.linked_cases(sharing)  # once: on every alert's path, repeats included
    if figures != state.reported and _any_case(linked):
        reported = figures
        state = replace(state, reported=figures)
    case_ids = tuple(c.case_id for c in linked)
    return FeedNews(state, ended, reported, case_ids)
