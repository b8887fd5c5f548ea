"""The intake model: what it accepts, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.codes import LegalStage, RiskLevel
from shared.events.envelope import make_event
from shared.events.referral_events import Referrer
from shared.events.referral_intake import (
    ReferralSource,
    ReferralSubmission,
    ReferralSubmitted,
    TenancyDetails,
    Urgency,
)
from tests.referral.factories import referral_json


def error_fields(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ReferralSubmission.model_validate(body)
    return [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]


def error_text(body: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        ReferralSubmission.model_validate(body)
    return str(caught.value)


def test_a_full_referral_is_accepted() -> None:
    submission = ReferralSubmission.model_validate(referral_json())
    assert submission.person is not None and submission.person.display_name == "Alex Morgan"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"source": "carrier_pigeon"}, "source"),
        ({"support_needs": ["mental_health", "telepathy"]}, "support_needs.1"),
        ({"consent": {"to_record": False, "to_share": True}}, "consent.to_record"),
        ({"consent": {"to_share": True}}, "consent.to_record"),
        ({"urgency": {"legal_stage": "bailiffs_tomorrow"}}, "urgency.legal_stage"),
        ({"urgency": {"date_facing_homelessness": "soon"}}, "urgency.date_facing_homelessness"),
        ({"person": {"given_name": "", "family_name": "Morgan"}}, "person.given_name"),
        ({"person": {"given_name": "A", "family_name": "M", "nickname": "x"}}, "person.nickname"),
        ({"contact": {"preferred_channels": ["pager"]}}, "contact.preferred_channels.0"),
        ({"rough_sleeping": {"contacts": -1}}, "rough_sleeping.contacts"),
        ({"local_connections": [{"evidence": ["family"]}]}, "local_connections.0.area"),
        ({"recourse_to_public_funds": "perhaps"}, "recourse_to_public_funds"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"referrer": {"organisation": "x"}}, "referrer.source"),
        ({"referrer": {"source": "probation", "email": "a@x.test, b@y.test"}}, "referrer.email"),
        (
            {"person": {"given_name": "A", "family_name": "M", "date_of_birth": "2999-01-01"}},
            "person.date_of_birth",
        ),
        (
            {"urgency": {"date_facing_homelessness": "0001-01-01"}},
            "urgency.date_facing_homelessness",
        ),
        (
            {"tenancy": {"landlord_organisation": "d", "tenancy_reference": "T-\ud800"}},
            "tenancy.tenancy_reference",
        ),
    ],
)
def test_bad_field_is_named(overrides: dict[str, Any], field: str) -> None:
    assert field in error_fields(referral_json(**overrides))


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"person": None}, "person: required"),
        ({"consent": None}, "consent: required"),
        ({"source": "arrears_alert"}, "automatic: must be true"),
        ({"automatic": True, "tenancy": None}, "tenancy: required"),
        (
            {"rough_sleeping": {"period_start": "2026-01-02", "period_end": "2026-01-01"}},
            "period_end",
        ),
    ],
)
def test_whole_referral_rules_name_the_field_in_the_message(
    overrides: dict[str, Any], named: str
) -> None:
    assert named in error_text(referral_json(**overrides))


def test_minimal_automatic_referral_of_the_agreed_contract() -> None:
    submission = ReferralSubmission(
        source=ReferralSource.ARREARS_ALERT,
        referrer=Referrer(organisation="derby-homes", source="arrears_alert"),
        tenancy=TenancyDetails(landlord_organisation="derby-homes", tenancy_reference="T-9"),
        support_needs=["budgeting_debt"],
        urgency=Urgency(legal_stage=LegalStage.POSSESSION_ORDER, risk_level=RiskLevel.HIGH),
        automatic=True,
    )
    event = ReferralSubmitted(referral_id="abc123", submission=submission)
    envelope = make_event(event, source="tests", organisation="derby-homes")
    assert envelope.subject == "abc123" and envelope.partitionkey == "abc123"
    assert envelope.payload() == event


@pytest.mark.parametrize("referral_id", ["", "has space", "a/b", "x" * 201])
def test_referral_id_is_checked(referral_id: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ReferralSubmitted(
            referral_id=referral_id, submission=ReferralSubmission.model_validate(referral_json())
        )
    assert caught.value.errors()[0]["loc"] == ("referral_id",)


def test_duty_to_refer_sources() -> None:
    assert ReferralSource.PROBATION.duty_to_refer
    assert ReferralSource.JOBCENTRE.duty_to_refer
    assert not ReferralSource.SELF_REFERRAL.duty_to_refer
