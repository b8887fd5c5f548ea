"""One notification per fact per recipient per channel (issue 20): "one high arrears alert
sent the housing officer the same text twice (once for TenancyAtRisk, once for
CaseEscalated), and twice more by webhook"."""

from __future__ import annotations

from services.notifications.facts import fact_key, same_fact_types
from services.notifications.handlers import delivery_id
from shared.codes import RiskLevel
from shared.events.catalogue import CaseEscalated, TenancyAtRisk
from shared.events.envelope import Envelope, follow_on, make_event


def alert(case_id: str | None = "case-1") -> Envelope:
    data = TenancyAtRisk(
        tenancy_id="derby-homes:t-1",
        landlord="derby-homes",
        alert_id="a-1",
        risk_level=RiskLevel.HIGH,
        reasons=["arrears_8_weeks"],
        arrears_balance=1234.5,
        case_id=case_id,
    )
    return make_event(data, source="referral/arrears", organisation="derby-homes")


def escalation(cause: Envelope | None, case_id: str = "case-1") -> Envelope:
    data = CaseEscalated(case_id=case_id, risk_level=RiskLevel.HIGH, reasons=["arrears_8_weeks"])
    if cause is None:  # a worker's own flag
        return make_event(data, source="hearth/support", organisation="derby-council")
    return follow_on(
        cause, data, source="hearth/support", discriminator=case_id, organisation="derby-council"
    )


def key(envelope: Envelope, case_id: str) -> str:
    return fact_key(envelope.short_type, envelope.id, envelope.causationid, case_id)


def test_an_alert_and_the_escalation_it_caused_are_one_fact() -> None:
    cause = alert()
    caused = escalation(cause)
    assert key(cause, "case-1") == key(caused, "case-1")
    for recipient, channel in [("housing_officer", "email"), ("housing_officer", "webhook")]:
        assert delivery_id(key(cause, "case-1"), recipient, channel) == delivery_id(
            key(caused, "case-1"), recipient, channel
        )


def test_each_case_an_alert_escalates_is_told_once_of_its_own() -> None:
    cause = alert(case_id=None)
    assert key(escalation(cause, "case-1"), "case-1") != key(escalation(cause, "case-2"), "case-2")


def test_another_alert_or_a_workers_own_flag_is_another_fact() -> None:
    first = alert()
    assert key(escalation(None), "case-1") != key(first, "case-1")
    assert key(alert(), "case-1") != key(first, "case-1")  # another rise (another event id)


def test_every_other_event_is_its_own_fact() -> None:
    assert fact_key("CaseAllocated", "e-1", "e-0", "case-1") == "e-1"
    assert fact_key("CaseClosed", "e-2", None, "case-1") == "e-2"


def test_a_webhook_subscriber_of_either_type_receives_the_facts_one_delivery() -> None:
    assert same_fact_types("TenancyAtRisk") == {"TenancyAtRisk", "CaseEscalated"}
    assert same_fact_types("CaseEscalated") == {"TenancyAtRisk", "CaseEscalated"}
    assert same_fact_types("CaseClosed") == {"CaseClosed"}
