"""The pure rules of an agreement's life: who may propose, accept, decline and end it, and
when. No I/O: records in, records (or a named refusal) out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.agreements import lifecycle
from services.agreements.lifecycle import InvalidAgreement, NotAParty, TransitionRefused
from services.agreements.model import AgreementRecord
from shared.agreements import AgreementStatus, DataCategory, Purpose

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LANDLORD = "derby-homes"
COUNCIL = "derby-council"


def _proposed(**overrides: object) -> AgreementRecord:
    values: dict[str, object] = {
        "agreement_id": "agr-1",
        "organisation": LANDLORD,
        "subject": "admin-dh",
        "counterparty": COUNCIL,
        "purpose": Purpose.ARREARS_PREVENTION,
        "categories": [DataCategory.TENANCY, DataCategory.ARREARS],
        "starts": NOW,
        "ends": None,
        "note": None,
        "now": NOW,
    }
    values.update(overrides)
    return lifecycle.propose(**values)  # type: ignore[arg-type]


def _active() -> AgreementRecord:
    return lifecycle.accept(_proposed(), organisation=COUNCIL, subject="admin-dc", now=NOW)


# --- refusals first ---------------------------------------------------------------------


def test_proposing_with_yourself_is_refused_naming_counterparty() -> None:
    with pytest.raises(InvalidAgreement) as refused:
        _proposed(counterparty=LANDLORD)
    assert refused.value.field == "counterparty"


def test_an_end_before_the_start_is_refused_naming_ends() -> None:
    with pytest.raises(InvalidAgreement) as refused:
        _proposed(ends=NOW - timedelta(days=1))
    assert refused.value.field == "ends"
    with pytest.raises(InvalidAgreement):
        _proposed(ends=NOW)


def test_no_categories_is_refused_naming_categories() -> None:
    with pytest.raises(InvalidAgreement) as refused:
        _proposed(categories=[])
    assert refused.value.field == "categories"


def test_the_proposer_cannot_accept_their_own_proposal() -> None:
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.accept(_proposed(), organisation=LANDLORD, subject="admin-dh", now=NOW)
    assert "counterparty" in str(refused.value)
    assert COUNCIL in str(refused.value)


def test_the_proposer_cannot_decline_their_own_proposal() -> None:
    with pytest.raises(TransitionRefused):
        lifecycle.decline(_proposed(), organisation=LANDLORD, subject="admin-dh", now=NOW)


def test_accepting_an_ended_agreement_is_refused() -> None:
    ended = lifecycle.end(_proposed(), organisation=LANDLORD, subject="admin-dh", now=NOW)
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.accept(ended, organisation=COUNCIL, subject="admin-dc", now=NOW)
    assert refused.value.field == "status"
    assert "ended" in str(refused.value)


def test_accepting_twice_is_refused() -> None:
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.accept(_active(), organisation=COUNCIL, subject="admin-dc", now=NOW)
    assert "already active" in str(refused.value)


def test_accepting_a_declined_agreement_is_refused() -> None:
    declined = lifecycle.decline(_proposed(), organisation=COUNCIL, subject="admin-dc", now=NOW)
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.accept(declined, organisation=COUNCIL, subject="admin-dc", now=NOW)
    assert "declined" in str(refused.value)


def test_accepting_after_the_end_date_has_passed_is_refused() -> None:
    record = _proposed(ends=NOW + timedelta(days=1))
    later = NOW + timedelta(days=2)
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.accept(record, organisation=COUNCIL, subject="admin-dc", now=later)
    assert refused.value.field == "ends"


def test_ending_twice_is_refused() -> None:
    ended = lifecycle.end(_active(), organisation=COUNCIL, subject="admin-dc", now=NOW)
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.end(ended, organisation=LANDLORD, subject="admin-dh", now=NOW)
    assert refused.value.field == "status"
    assert "already ended" in str(refused.value)


def test_ending_a_declined_agreement_is_refused() -> None:
    declined = lifecycle.decline(_proposed(), organisation=COUNCIL, subject="admin-dc", now=NOW)
    with pytest.raises(TransitionRefused):
        lifecycle.end(declined, organisation=LANDLORD, subject="admin-dh", now=NOW)


def test_an_organisation_that_is_not_a_party_may_do_nothing() -> None:
    for change in (lifecycle.accept, lifecycle.decline, lifecycle.end):
        with pytest.raises(NotAParty):
            change(_proposed(), organisation="leeds-council", subject="x", now=NOW)


# --- what is allowed ----------------------------------------------------------------------


def test_a_proposal_is_proposed_at_version_one() -> None:
    record = _proposed(note="nightly feed")
    assert record.status is AgreementStatus.PROPOSED
    assert record.version == 1
    assert record.proposed_by == LANDLORD and record.counterparty == COUNCIL
    assert record.categories == [DataCategory.ARREARS, DataCategory.TENANCY]  # sorted, unique
    assert [c.change for c in record.history] == ["proposed"]
    assert not record.agreement().live_at(NOW)


def test_the_counterparty_accepts_and_it_is_live() -> None:
    active = _active()
    assert active.status is AgreementStatus.ACTIVE
    assert active.version == 2
    assert active.agreement().live_at(NOW)
    assert active.history[-1].organisation == COUNCIL


def test_the_counterparty_declines() -> None:
    declined = lifecycle.decline(
        _proposed(), organisation=COUNCIL, subject="admin-dc", now=NOW, note="not now"
    )
    assert declined.status is AgreementStatus.DECLINED
    assert declined.version == 2
    assert declined.history[-1].note == "not now"


def test_either_party_ends_it_and_the_end_moves_to_now_if_later() -> None:
    for party in (LANDLORD, COUNCIL):
        active = lifecycle.accept(
            _proposed(ends=NOW + timedelta(days=365)),
            organisation=COUNCIL,
            subject="admin-dc",
            now=NOW,
        )
        later = NOW + timedelta(days=10)
        ended = lifecycle.end(active, organisation=party, subject="admin", now=later)
        assert ended.status is AgreementStatus.ENDED
        assert ended.ends == later
        assert ended.version == 3
        assert not ended.agreement().live_at(later)
        assert ended.agreement().live_at(later - timedelta(days=1)) is False  # ended is ended


def test_an_earlier_end_is_kept_when_ending() -> None:
    record = _proposed(ends=NOW + timedelta(days=5))
    active = lifecycle.accept(record, organisation=COUNCIL, subject="admin-dc", now=NOW)
    ended = lifecycle.end(
        active, organisation=LANDLORD, subject="admin-dh", now=NOW + timedelta(days=6)
    )
    assert ended.ends == NOW + timedelta(days=5)


def test_the_proposer_may_withdraw_a_proposal_by_ending_it() -> None:
    ended = lifecycle.end(_proposed(), organisation=LANDLORD, subject="admin-dh", now=NOW)
    assert ended.status is AgreementStatus.ENDED


def test_ending_an_agreement_that_has_not_started_keeps_ends_not_before_starts() -> None:
    record = _proposed(starts=NOW + timedelta(days=30))
    ended = lifecycle.end(record, organisation=LANDLORD, subject="admin-dh", now=NOW)
    assert ended.ends == record.starts
