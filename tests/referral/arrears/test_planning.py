"""A batch's alerts for one tenancy, folded in order into its events. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from services.referral.arrears.alert import ArrearsAlert, ForeignTenancy, submission_for
from services.referral.arrears.decision import Outcome, TenancyState
from services.referral.arrears.planning import plan_tenancy
from services.referral.arrears.risk_rules import DEFAULT_RULES, RiskRules
from services.referral.arrears.store import first_seen_reference
from shared.lanes import Lane
from tests.tenancies import TENANCY_ID_KEY, tenancy_of

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TID = tenancy_of("derby-homes", "t-1")


def sub(position: int, **fields):
    alert = ArrearsAlert(**{"tenancy_reference": "t-1", "arrears_balance": 100.0, **fields})
    return submission_for(alert, "derby-homes", key=TENANCY_ID_KEY, position=position)


def test_a_batch_folds_in_order_and_emits_each_rise_once() -> None:
    subs = [
        sub(0, weeks_in_arrears=5),  # medium: signal + referral
        sub(1, weeks_in_arrears=5),  # the very same alert: duplicate
        sub(2, weeks_in_arrears=4),  # still medium: unchanged
        sub(3, legal_stage="notice_served"),  # high: signal, referral already pending
        sub(4, arrears_balance=0),  # cleared: episode ends
        sub(5, weeks_in_arrears=6),  # new episode: signal; the first referral is still pending
    ]
    plan = plan_tenancy(TenancyState(TID), subs, DEFAULT_RULES, NOW)
    assert [r.status for r in plan.results] == [
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
        Outcome.UNCHANGED,
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
    ]
    types = [e.type for e in plan.events]
    assert types == [
        "hearth.TenancyAtRisk.v1",
        "hearth.ReferralSubmitted.v1",
        "hearth.TenancyAtRisk.v1",
        "hearth.TenancyAtRisk.v1",
    ]
    assert len({e.id for e in plan.events}) == 4
    assert plan.results[5].prevention_case_id is None
    assert plan.after.episode == 1 and plan.after.signalled_level == "medium"
    first_referral = plan.events[1]
    assert first_referral.subject == plan.results[0].prevention_case_id
    assert first_referral.data["submission"]["tenancy"]["tenancy_reference"] == "t-1"
    at_risk = plan.events[0]
    assert at_risk.subject == TID and at_risk.partitionkey == TID
    assert "T-1" not in json.dumps(at_risk.data).upper()  # the id carries no reference
    assert at_risk.data["prevention_case_id"] == plan.results[0].prevention_case_id


def test_deciding_the_same_batch_again_gives_the_same_event_ids() -> None:
    subs = [sub(0, weeks_in_arrears=9), sub(1, eviction_date="2026-02-01")]
    first = plan_tenancy(TenancyState(TID), subs, DEFAULT_RULES, NOW)
    second = plan_tenancy(TenancyState(TID), subs, DEFAULT_RULES, NOW)
    assert [e.id for e in first.events] == [e.id for e in second.events]


def test_prevention_referral_goes_to_the_organisation_the_rules_name() -> None:
    rules = RiskRules(prevention_organisation="south-norfolk")
    plan = plan_tenancy(TenancyState(TID), [sub(0, asb_issues=True)], rules, NOW)
    at_risk, referral = plan.events
    assert at_risk.organisation == "derby-homes"
    assert referral.organisation == "south-norfolk"
    assert referral.data["submission"]["referrer"]["organisation"] == "derby-homes"


def test_only_duplicates_need_no_write() -> None:
    first = plan_tenancy(TenancyState(TID), [sub(0)], DEFAULT_RULES, NOW)
    again = plan_tenancy(first.after, [sub(0)], DEFAULT_RULES, NOW)
    assert first.needs_write and not again.needs_write


def test_a_landlord_field_naming_someone_else_is_refused() -> None:
    alert = ArrearsAlert(tenancy_reference="t-1", arrears_balance=1, landlord="leeds-council")
    try:
        submission_for(alert, "derby-homes", key=TENANCY_ID_KEY)
    except ForeignTenancy as exc:
        assert str(exc).startswith("landlord:")
    else:
        raise AssertionError("a foreign landlord was believed")
    mine = alert.model_copy(update={"landlord": "derby-homes"})
    own = submission_for(mine, "derby-homes", key=TENANCY_ID_KEY)
    assert own.tenancy_id == TID


def test_the_remembered_tenancy_id_is_the_keyed_one_under_each_key() -> None:
    # Tenancy ids are remembered per process (a feed names the same tenancies nightly): under
    # another key the same reference is another id, never the one remembered.
    from shared.ids import tenancy_id

    alert = ArrearsAlert(tenancy_reference="t-1", arrears_balance=1)
    other_key = TENANCY_ID_KEY[::-1]
    for key in (TENANCY_ID_KEY, other_key, TENANCY_ID_KEY):
        sub = submission_for(alert, "derby-homes", key=key)
        assert sub.tenancy_id == tenancy_id("derby-homes", "t-1", key=key)
    first = submission_for(alert, "derby-homes", key=TENANCY_ID_KEY).tenancy_id
    assert first != submission_for(alert, "derby-homes", key=other_key).tenancy_id


def test_everything_an_alert_causes_travels_the_bulk_lane() -> None:
    """The tenancy's reference too: a batch's new tenancies are recorded by the bulk side of
    notifications, not beside a person's events."""
    plan = plan_tenancy(TenancyState(TID), [sub(0, weeks_in_arrears=5)], DEFAULT_RULES, NOW)
    events = [*plan.events, first_seen_reference(plan, NOW)]
    assert [e.type for e in events] == [
        "hearth.TenancyAtRisk.v1",
        "hearth.ReferralSubmitted.v1",
        "hearth.TenancyReferenceShared.v1",
    ]
    assert {e.lane for e in events} == {Lane.BULK}
