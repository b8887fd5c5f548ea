"""What a landlord's arrears feed tells outcomes: a tenancy's end once, changed figures of a
supported tenancy, nothing for a repeat. Pure: the fold of alerts into events and state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.referral.arrears.alert import ArrearsAlert, submission_for
from services.referral.arrears.csv_rows import read_csv
from services.referral.arrears.decision import (
    CaseEntry,
    CaseStatus,
    Figures,
    TenancyState,
    case_key,
)
from services.referral.arrears.handlers import alert_from_event
from services.referral.arrears.planning import TenancyPlan, plan_tenancy
from services.referral.arrears.risk_rules import DEFAULT_RULES
from services.referral.arrears.store import TenancyRiskRepository, state_from_document
from services.referral.arrears.tenancy_feed import read_feed
from shared.codes import LegalStage, TenancyEndReason
from shared.consumer import PermanentError
from shared.events.envelope import Envelope, make_event
from shared.events.referral_events import ArrearsAlertSubmitted
from tests.tenancies import TENANCY_ID_KEY, tenancy_of

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TID = tenancy_of("derby-homes", "t-1")
ENDED = "hearth.TenancyEnded.v1"
REPORTED = "hearth.TenancyArrearsReported.v1"


def sub(alert_id: str, **fields: Any):
    alert = ArrearsAlert(**{"tenancy_reference": "t-1", "arrears_balance": 120.0, **fields})
    return submission_for(alert, "derby-homes", key=TENANCY_ID_KEY, alert_id=alert_id)


def with_cases(*entries: CaseEntry) -> TenancyState:
    return TenancyState(TID, version=1, cases={case_key(e.case_id): e for e in entries})


def feed(events: list[Envelope]) -> list[Envelope]:
    return [e for e in events if e.type in (ENDED, REPORTED)]


def plan(state: TenancyState, *subs: Any) -> TenancyPlan:
    return plan_tenancy(state, list(subs), DEFAULT_RULES, NOW)


OPEN = CaseEntry("case-7", CaseStatus.OPEN, NOW, "derby-homes")


def test_an_end_is_told_once_and_the_feed_repeating_it_emits_nothing() -> None:
    """Derby Homes: "Its primary goal is to curb the annual tenancy turnover rate ... bring it
    below 10% in two years": the end is counted once, however often the nightly file says it."""
    end = {"tenancy_ended_on": "2025-12-19", "tenancy_end_reason": "surrender"}
    first = plan(with_cases(OPEN), sub("a-1", **end))
    (ended,) = [e for e in first.events if e.type == ENDED]
    assert ended.organisation == "derby-homes" and ended.subject == TID
    assert ended.data == {
        "tenancy_id": TID,
        "landlord": "derby-homes",
        "alert_id": "a-1",
        "ended_on": "2025-12-19",
        "reason": "surrender",
        "case_ids": ["case-7"],
    }
    assert first.after.ends == (date(2025, 12, 19),)

    # The next nights: the same end, with other figures and even another reason.
    again = plan(
        first.after, sub("a-2", **end), sub("a-3", **{**end, "tenancy_end_reason": "other"})
    )
    assert [e.type for e in again.events if e.type == ENDED] == []
    # Decided again from the start (a lost race): the same event id, so nothing new downstream.
    replay = plan(with_cases(OPEN), sub("a-9", **end))
    assert [e.id for e in replay.events if e.type == ENDED] == [ended.id]


def test_a_tenancy_never_supported_still_tells_its_end() -> None:
    end = {"tenancy_ended_on": "2025-11-30", "tenancy_end_reason": "transfer"}
    result = plan(TenancyState(TID), sub("a-1", **end))
    assert [e.type for e in feed(result.events)] == [ENDED]
    assert result.events[0].data["case_ids"] == [] and result.events[0].data["reason"] == "transfer"


def test_figures_of_a_supported_tenancy_are_reported_when_they_change() -> None:
    """Derby Homes: "the service quickly proved itself when one person's rent arrears fell by
    £1500": the figures are told when they move, so the fall can be measured."""
    first = plan(with_cases(OPEN), sub("a-1", arrears_balance=1650.0, weekly_rent=98.5))
    (reported,) = feed(first.events)
    assert reported.type == REPORTED
    assert reported.data == {
        "tenancy_id": TID,
        "landlord": "derby-homes",
        "alert_id": "a-1",
        "reported_on": "2026-01-05",  # no reported_on: the day received
        "arrears_balance": 1650.0,
        "weekly_rent": 98.5,
        "legal_stage": "none",
        "case_ids": ["case-7"],
    }
    assert first.after.reported == Figures(1650.0, 98.5, LegalStage.NONE)

    fell = plan(
        first.after,
        sub("a-2", arrears_balance=150.0, weekly_rent=98.5, reported_on="2026-01-02"),
    )
    (after_support,) = feed(fell.events)
    assert after_support.data["arrears_balance"] == 150.0
    assert after_support.data["reported_on"] == "2026-01-02"
    assert after_support.id != reported.id


def test_a_repeat_with_the_same_figures_emits_nothing_and_costs_no_write() -> None:
    first = plan(with_cases(OPEN), sub("a-1", arrears_balance=300.0, weekly_rent=90.0))
    assert len(feed(first.events)) == 1
    # Another alert with the same figures (other weeks in arrears): nothing to tell.
    same = plan(
        first.after, sub("a-2", arrears_balance=300.0, weekly_rent=90.0, weeks_in_arrears=3)
    )
    assert feed(same.events) == [] and same.after.reported == first.after.reported
    # The very same alert again: nothing at all, not even a write.
    repeat = plan(first.after, sub("a-1", arrears_balance=300.0, weekly_rent=90.0))
    assert repeat.events == [] and not repeat.needs_write
    # A legal stage is a figure too: the notice is news.
    notice = plan(first.after, sub("a-3", arrears_balance=300.0, weekly_rent=90.0,
                                   legal_stage="notice_served"))  # fmt: skip
    assert [e.data["legal_stage"] for e in feed(notice.events)] == ["notice_served"]


def test_changed_figures_of_a_tenancy_without_a_case_emit_nothing() -> None:
    state = TenancyState(TID)
    for n, balance in enumerate((50.0, 60.0, 70.0)):
        result = plan(state, sub(f"a-{n}", arrears_balance=balance))  # low: no referral
        assert feed(result.events) == [] and result.after.reported is None
        state = result.after


def test_a_referral_still_waiting_is_not_yet_a_case() -> None:
    """A rise raises TenancyAtRisk with the figures and a prevention referral; until a case is
    allocated the figures are not reported again (the waiting list is not support)."""
    raised = plan(TenancyState(TID), sub("a-1", weeks_in_arrears=5))
    assert [e.type for e in raised.events] == [
        "hearth.TenancyAtRisk.v1",
        "hearth.ReferralSubmitted.v1",
    ]
    moved = plan(raised.after, sub("a-2", arrears_balance=130.0, weeks_in_arrears=5))
    assert feed(moved.events) == []
    # Allocated, then closed: it had a case, so its figures are told, naming it.
    (pending,) = raised.after.cases.values()
    closed = CaseEntry(pending.case_id, CaseStatus.CLOSED, None, "derby-homes")
    after_closure = plan(with_cases(closed), sub("a-3", arrears_balance=20.0))
    assert [e.data["case_ids"] for e in feed(after_closure.events)] == [[pending.case_id]]


def test_case_ids_are_the_cases_the_landlord_may_see() -> None:
    """The rule that names TenancyAtRisk's case: the landlord's own, another organisation's
    only under a live agreement (`sharing`)."""
    leeds = CaseEntry("case-leeds", CaseStatus.OPEN, NOW, "leeds-council")
    state = with_cases(OPEN, leeds)
    alert = sub("a-1", tenancy_ended_on="2025-12-01", tenancy_end_reason="eviction").alert
    assert read_feed(state, alert, frozenset()).case_ids == ("case-7",)
    shared = read_feed(state, alert, frozenset({"leeds-council"}))
    assert shared.case_ids == ("case-7", "case-leeds")
    # Only another organisation's case, not shared: not supported as far as the landlord sees.
    alone = read_feed(with_cases(leeds), alert, frozenset())
    assert alone.reported is None and alone.case_ids == ()
    assert alone.ended is not None and alone.ended.reason is TenancyEndReason.EVICTION


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"tenancy_end_reason": "eviction"}, "needs tenancy_ended_on"),
        ({"tenancy_ended_on": "2025-12-01"}, "required with tenancy_ended_on"),
    ],
)
def test_half_an_end_is_refused_naming_the_field(fields: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ArrearsAlert(tenancy_reference="t-1", arrears_balance=0, **fields)
    (error,) = refused.value.errors()
    assert error["loc"] == ("tenancy_end_reason",) and named in error["msg"]


@pytest.mark.parametrize(
    ("day", "problem"),
    [("1989-12-31", "must not be before 1990-01-01"), ("2026-03-01", "must not be after")],
)
def test_an_end_day_must_be_plausible(day: str, problem: str) -> None:
    body = {"tenancy_reference": "t-1", "arrears_balance": 0, "tenancy_ended_on": day,
            "tenancy_end_reason": "abandonment"}  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        ArrearsAlert.model_validate(body, context={"today": date(2026, 1, 5)})
    (error,) = refused.value.errors()
    assert error["loc"] == ("tenancy_ended_on",) and problem in error["msg"]


def test_csv_columns_of_the_same_names() -> None:
    text = (
        b"tenancy_reference,arrears_balance,tenancy_ended_on,tenancy_end_reason\n"
        b"A-1,0,19/12/2025,Mutual Exchange\n"
        b"A-2,0,,eviction\n"
        b"A-3,10,,\n"
    )
    rows = read_csv(text, today=date(2026, 1, 5)).rows
    assert rows[0].alert is not None
    assert rows[0].alert.tenancy_ended_on == date(2025, 12, 19)
    assert rows[0].alert.tenancy_end_reason is TenancyEndReason.MUTUAL_EXCHANGE
    assert rows[1].error is not None and rows[1].error.startswith("tenancy_end_reason: needs")
    assert rows[2].alert is not None and rows[2].alert.tenancy_ended_on is None


def test_an_alert_without_an_end_keeps_its_old_fingerprint() -> None:
    """Ids of alerts sent before these fields existed stay the same, so a re-sent one is
    still a repeat."""
    alert = ArrearsAlert(tenancy_reference="t-1", arrears_balance=10)
    assert "tenancy_ended_on" not in alert.fingerprint_fields()
    ended = ArrearsAlert(tenancy_reference="t-1", arrears_balance=10,
                         tenancy_ended_on="2025-12-01", tenancy_end_reason="deceased")  # fmt: skip
    assert ended.fingerprint_fields()["tenancy_end_reason"] == "deceased"


def test_what_the_feed_told_is_kept_on_the_tenancys_document() -> None:
    state = TenancyState(
        TID,
        cases={case_key("case-7"): OPEN},
        ends=(date(2025, 12, 19),),
        reported=Figures(300.0, None, LegalStage.COURT_DATE_SET),
    )
    repository = TenancyRiskRepository(None, TenancyState, "tenancy_id")  # type: ignore[arg-type]
    document = repository.to_document(state)
    assert document["tenancy_ends"] == ["2025-12-19"]
    restored = state_from_document(TID, document)
    assert restored.ends == state.ends and restored.reported == state.reported
    assert state_from_document(TID, {"cases": {}}).reported is None  # stored before issue 18


def test_an_ingress_event_with_half_an_end_is_dead_lettered_naming_the_field() -> None:
    data = ArrearsAlertSubmitted(
        tenancy_reference="t-1", arrears_balance=0, tenancy_end_reason=TenancyEndReason.OTHER
    )
    envelope = make_event(data, source="ha-system", organisation="derby-homes")
    with pytest.raises(PermanentError, match=r"^data\.tenancy_end_reason: needs"):
        alert_from_event(envelope, data, TENANCY_ID_KEY)
    whole = ArrearsAlertSubmitted(
        tenancy_reference="t-1", arrears_balance=0, tenancy_ended_on=date(2025, 12, 1),
        tenancy_end_reason=TenancyEndReason.OTHER,
    )  # fmt: skip
    envelope = make_event(whole, source="ha-system", organisation="derby-homes")
    assert alert_from_event(envelope, whole, TENANCY_ID_KEY).alert.tenancy_ended_on == date(
        2025, 12, 1
    )
