"""Consent as a lifecycle (issue 16): given with a scope, varied, expiring, withdrawn."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.agreements import Purpose
from shared.consent import (
    Consent,
    ConsentError,
    ConsentPurpose,
    ConsentScope,
    ConsentState,
    decide,
    give,
    intake_scope,
    withdraw,
)
from shared.consent_repository import from_stored, stored

GIVEN = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
SCOPE = ConsentScope(
    organisations=("derby-homes",),
    purposes=(ConsentPurpose.CONTACT, ConsentPurpose.PARTNER_NOTICES),
    expires_on=date(2027, 6, 1),
)


def given(scope: ConsentScope = SCOPE, current: Consent | None = None, at=GIVEN) -> Consent:
    return give(
        current, case_id="ref-1", person_id="p-1", organisation="derby-council",
        scope=scope, by="casey.worker", at=at,
    )  # fmt: skip


def test_given_consent_covers_its_scope_and_the_case_organisation() -> None:
    consent = given()
    assert consent.state is ConsentState.GIVEN and consent.version == 1
    assert decide(consent, "derby-homes", Purpose.PARTNER_NOTICES, LATER)
    assert decide(consent, "derby-council", ConsentPurpose.CONTACT, LATER)


@pytest.mark.parametrize(
    ("organisation", "purpose", "reason"),
    [
        ("leeds-council", Purpose.PARTNER_NOTICES, "consent does not cover leeds-council"),
        ("derby-homes", Purpose.TENANCY_DATA, "consent does not cover tenancy-data"),
    ],
)
def test_outside_the_scope_is_refused_by_name(organisation, purpose, reason) -> None:
    decision = decide(given(), organisation, purpose, LATER)
    assert not decision and decision.reason == reason


def test_withdrawal_stops_everything_from_the_moment_it_is_recorded() -> None:
    withdrawn = withdraw(given(), by="casey.worker", at=LATER, reason="asked us to stop")
    assert withdrawn.state is ConsentState.WITHDRAWN and withdrawn.version == 2
    assert withdrawn.withdrawn_on == date(2026, 12, 1)
    before = decide(withdrawn, "derby-homes", Purpose.PARTNER_NOTICES, LATER - timedelta(1))
    assert before  # what happened before it was recorded stays as it was
    for org, purpose in (("derby-homes", "partner-notices"), ("derby-council", "contact")):
        decision = decide(withdrawn, org, purpose, LATER)
        assert decision.reason == "consent withdrawn on 2026-12-01"


def test_withdrawal_is_final_until_consent_is_given_anew() -> None:
    withdrawn = withdraw(given(), by="casey.worker", at=LATER)
    with pytest.raises(ConsentError, match="already withdrawn on 2026-12-01") as refused:
        withdraw(withdrawn, by="casey.worker", at=LATER)
    assert refused.value.conflict
    anew = given(current=withdrawn, at=LATER + timedelta(hours=1))
    assert anew.state is ConsentState.GIVEN and anew.withdrawn_at is None
    assert anew.given_at == LATER + timedelta(hours=1) and anew.version == 3
    assert decide(anew, "derby-homes", Purpose.PARTNER_NOTICES, LATER + timedelta(hours=2))


def test_varying_keeps_when_it_was_given() -> None:
    wider = SCOPE.model_copy(update={"organisations": ("leeds-council", "derby-homes")})
    varied = given(wider, current=given(), at=LATER)
    assert varied.state is ConsentState.VARIED and varied.given_at == GIVEN
    assert varied.varied_at == LATER and varied.version == 2
    assert varied.scope.organisations == ("derby-homes", "leeds-council")
    assert decide(varied, "leeds-council", Purpose.PARTNER_NOTICES, LATER)


def test_expiry_is_the_clock() -> None:
    consent = given()
    assert decide(
        consent, "derby-homes", Purpose.PARTNER_NOTICES, datetime(2027, 5, 31, tzinfo=UTC)
    )
    on_the_day = datetime(2027, 6, 1, tzinfo=UTC)
    assert consent.state_at(on_the_day) is ConsentState.EXPIRED
    assert decide(consent, "derby-council", "contact", on_the_day).reason == (
        "consent expired on 2027-06-01"
    )


@pytest.mark.parametrize(
    ("expires_on", "message"),
    [
        (date(2026, 11, 2), "expires_on: must be after today (2026-11-02)"),
        (date(2001, 1, 1), "expires_on: must be after today"),
        (date(2040, 1, 1), "expires_on: must be within 10 years"),
    ],
)
def test_an_expiry_must_be_plausible(expires_on, message) -> None:
    with pytest.raises(ConsentError, match=re.escape(message)) as refused:
        given(SCOPE.model_copy(update={"expires_on": expires_on}))
    assert refused.value.field == "expires_on"


def test_withdrawal_day_is_not_in_the_future_nor_before_consent() -> None:
    with pytest.raises(ConsentError, match="recorded_on: must not be after today"):
        withdraw(given(), by="x", at=LATER, withdrawn_on=date(2026, 12, 2))
    with pytest.raises(ConsentError, match="recorded_on: must not be before consent was given"):
        withdraw(given(), by="x", at=LATER, withdrawn_on=date(2026, 11, 1))
    with pytest.raises(ConsentError, match="consent: none recorded"):
        withdraw(None, by="x", at=LATER)


def test_intake_keeps_what_to_share_meant() -> None:
    shared = intake_scope(
        to_share=True, share_with=["derby-homes"], referrer_organisation="st-mungos",
        purposes=None, channels=[], expires_on=None,
    )  # fmt: skip
    assert set(shared.purposes) == set(ConsentPurpose)
    assert shared.organisations == ("derby-homes", "st-mungos")
    not_shared = intake_scope(
        to_share=False, share_with=[], referrer_organisation=None,
        purposes=None, channels=[], expires_on=None,
    )  # fmt: skip
    assert not_shared.purposes == ()


def test_no_consent_recorded_is_left_to_the_other_rules() -> None:
    assert decide(None, "anyone", Purpose.PARTNER_NOTICES, LATER)


def test_stored_and_read_back_alike() -> None:
    consent = withdraw(given(), by="casey.worker", at=LATER)
    document = {"_id": "ref-1", "version": 7, **stored(consent)}
    assert from_stored(document) == consent
