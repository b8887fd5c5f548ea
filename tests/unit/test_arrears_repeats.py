"""A repeat costs nothing, and a replayed or late old alert is never news (issue 21). Pure: the
fold of alerts into a tenancy's state, with each alert's time as the landlord sent it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.referral.arrears.alert import AlertSubmission, ArrearsAlert, submission_for
from services.referral.arrears.decision import (
    AlertFacts,
    Outcome,
    Recency,
    TenancyState,
    changes_nothing,
)
from services.referral.arrears.planning import STALE, TenancyPlan, plan_tenancy
from services.referral.arrears.risk_rules import DEFAULT_RULES
from services.referral.arrears.store import TenancyRiskRepository, state_from_document
from shared.codes import LegalStage, RiskLevel
from tests.tenancies import TENANCY_ID_KEY, tenancy_of

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TID = tenancy_of("derby-homes", "t-1")
MEDIUM = {"arrears_balance": 600.0, "weeks_in_arrears": 5}
HIGH = {"arrears_balance": 600.0, "legal_stage": "notice_served"}
CLEARED = {"arrears_balance": 0.0}


def sub(alert_id: str, minute: int, **fields: Any) -> AlertSubmission:
    """An alert as a Kafka event delivers it: its own id, sent `minute` minutes past NOW."""
    alert = ArrearsAlert(**{"tenancy_reference": "t-1", **fields})
    sent = NOW + timedelta(minutes=minute)
    return submission_for(alert, "derby-homes", key=TENANCY_ID_KEY, alert_id=alert_id,
                          sent_at=sent)  # fmt: skip


def plan(state: TenancyState, *subs: AlertSubmission, minute: int = 60) -> TenancyPlan:
    """Decided at `minute` past NOW (the alerts reached the pipeline then)."""
    received = NOW + timedelta(minutes=minute)
    return plan_tenancy(state, list(subs), DEFAULT_RULES, NOW, received_at=received)


def settled(*subs: AlertSubmission) -> TenancyState:
    """The tenancy's state after these alerts, each in its own poll, as stored."""
    state = TenancyState(TID)
    for alert in subs:
        state = plan(state, alert).after
    return state


def test_a_repeat_with_a_new_id_writes_nothing_and_tells_nothing() -> None:
    state = settled(sub("a-1", 0, **MEDIUM))
    repeat = plan(state, sub("a-2", 1440, **MEDIUM), minute=1441)  # the next night's feed
    assert [r.status for r in repeat.results] == [Outcome.UNCHANGED]
    assert repeat.events == [] and not repeat.needs_write and repeat.after is state
    assert repeat.results[0].risk_level is RiskLevel.MEDIUM  # still answered with its level


def test_other_figures_at_the_same_level_are_recorded_but_tell_nothing() -> None:
    state = settled(sub("a-1", 0, **MEDIUM))
    more = plan(state, sub("a-2", 1440, **{**MEDIUM, "arrears_balance": 700.0}))
    assert more.results[0].status is Outcome.UNCHANGED and more.events == []
    assert more.needs_write and more.after.latest is not None
    assert more.after.latest.arrears_balance == 700.0  # what the landlord's views show


def test_a_replayed_repeat_after_the_arrears_were_cleared_is_stale() -> None:
    """The attack the recent alert ids guarded: a medium alert that changed nothing (so was
    never written, nor its id kept) replayed after the arrears were cleared must not signal
    a new episode, nor raise a second referral."""
    first, repeat, cleared = (
        sub("a-1", 0, **MEDIUM),
        sub("a-2", 10, **MEDIUM),
        sub("a-3", 20, **CLEARED),
    )
    state = settled(first, repeat, cleared)
    assert state.episode == 1 and state.signalled_level is None
    replay = plan(state, repeat)
    assert replay.events == [] and not replay.needs_write
    assert replay.results[0].status is Outcome.UNCHANGED and replay.results[0].reason == STALE
    # The alert that did change it is remembered by id: the very same one is a duplicate.
    assert plan(state, first).results[0].status is Outcome.DUPLICATE
    # A new alert at the same level, sent after the clearing, is news: a new episode.
    news = plan(state, sub("a-4", 30, **MEDIUM))
    assert [e.type for e in news.events] == ["hearth.TenancyAtRisk.v1"]


def test_a_late_rise_sent_before_the_clearing_is_stale() -> None:
    state = settled(sub("a-1", 0, **MEDIUM), sub("a-3", 20, **CLEARED))
    late = plan(state, sub("a-2", 10, **HIGH))  # sent before, arrived after
    assert late.events == [] and not late.needs_write and late.results[0].reason == STALE


def test_the_landlords_own_older_day_is_stale_even_sent_later() -> None:
    state = settled(sub("a-1", 0, **CLEARED, reported_on="2026-01-04"))
    backfill = plan(state, sub("a-2", 30, **HIGH, reported_on="2026-01-02"))
    assert backfill.events == [] and backfill.results[0].reason == STALE
    undated = plan(state, sub("a-3", 30, **HIGH))  # no day said: its sending orders it
    assert [e.type for e in undated.events][:1] == ["hearth.TenancyAtRisk.v1"]


def test_a_file_folds_in_order_with_one_recency() -> None:
    """A CSV file's rows (or one request's alerts) share the moment they arrived: none is
    stale against another; they are decided in their order."""
    alerts = [
        submission_for(
            ArrearsAlert(tenancy_reference="t-1", **fields),
            "derby-homes",
            key=TENANCY_ID_KEY,
            position=line,
        )
        for line, fields in enumerate((MEDIUM, CLEARED, HIGH), start=2)
    ]
    folded = plan(TenancyState(TID), *alerts)
    assert [r.status for r in folded.results] == [Outcome.ACCEPTED] * 3
    assert folded.after.episode == 1 and folded.after.signalled_level is RiskLevel.HIGH


def test_a_time_in_the_future_cannot_block_later_alerts() -> None:
    """An event claiming to be sent tomorrow counts as sent when it arrived."""
    state = settled(sub("a-1", 60 * 24 * 30, **MEDIUM))
    assert state.as_of is not None and state.as_of.sent_at == NOW + timedelta(minutes=60)
    later = plan(state, sub("a-2", 61, **HIGH), minute=62)
    assert [e.type for e in later.events] == ["hearth.TenancyAtRisk.v1"]


def test_the_guard_keeps_microseconds() -> None:
    """Stored as compared: sent a microsecond before the change, still stale after a reload
    (a BSON datetime would keep only the millisecond)."""
    state = settled(sub("a-1", 0, **MEDIUM))
    assert state.as_of is not None
    sent = state.as_of.sent_at + timedelta(microseconds=900)
    cleared = plan(state, replace(sub("a-2", 0, **CLEARED), sent_at=sent)).after
    repository = TenancyRiskRepository(None, TenancyState, "tenancy_id")  # type: ignore[arg-type]
    restored = state_from_document(TID, repository.to_document(cleared))
    assert restored.as_of == cleared.as_of
    early = replace(sub("a-3", 0, **HIGH), sent_at=sent - timedelta(microseconds=1))
    assert plan(restored, early).results[0].reason == STALE


def test_a_time_without_a_zone_is_utc() -> None:
    naive = sub("a-1", 0, **MEDIUM)
    naive = AlertSubmission(**{**naive.__dict__, "sent_at": NOW.replace(tzinfo=None)})
    state = settled(naive)
    assert state.as_of == Recency(NOW, None)


def test_the_guard_and_what_the_last_alert_said_survive_the_store() -> None:
    state = settled(sub("a-1", 0, **MEDIUM, reported_on="2026-01-04"))
    repository = TenancyRiskRepository(None, TenancyState, "tenancy_id")  # type: ignore[arg-type]
    document = repository.to_document(state)
    assert document["as_of"] == {"sent_at": NOW.isoformat(), "reported_on": "2026-01-04"}
    facts = state.latest
    assert isinstance(facts, AlertFacts)
    document["last_alert"] = {
        "alert_id": "a-1",
        "risk_level": "medium",
        "reasons": list(facts.reasons),
        "arrears_balance": 600.0,
        "weeks_in_arrears": 5,
        "legal_stage": "none",
        "received_at": NOW,
    }
    restored = state_from_document(TID, {**document, "version": 3})
    assert restored.as_of == state.as_of and restored.latest == facts
    assert changes_nothing(restored, replace(state, version=3))
    # Written before issue 21: no guard yet, so nothing is stale against it.
    old = state_from_document(TID, {"episode": 1, "cases": {}})
    assert old.as_of is None and old.latest is None
    assert facts.legal_stage is LegalStage.NONE


FIGURES = st.sampled_from([MEDIUM, HIGH, CLEARED, {"arrears_balance": 50.0}])


@settings(max_examples=200, deadline=None)
@given(st.lists(FIGURES, min_size=1, max_size=8), st.data())
def test_replaying_the_whole_feed_in_any_order_tells_nothing_new(feed, data) -> None:
    """An operator replays the topic (or a partner resends any of it, in any order): once the
    feed has been applied, no alert of it raises an event or a write again."""
    alerts = [sub(f"a-{i}", i, **fields) for i, fields in enumerate(feed)]
    state = TenancyState(TID)
    for alert in alerts:
        state = plan(state, alert).after
    replayed = data.draw(st.permutations(alerts))
    for alert in replayed:
        again = plan(state, alert)
        assert again.events == [] and not again.needs_write, alert.alert_id
