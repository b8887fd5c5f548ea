"""What referral and notifications show of a person and keep of them once erased (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notifications.privacy import (
    case_deidentified,
    delivery_deidentified,
    delivery_record,
    person_case_ids,
)
from services.referral.arrears.decision import case_key
from services.referral.privacy import (
    deidentified_submission,
    held_flow_deidentified,
    personal_outbox_paths,
    referral_deidentified,
    referral_shared_with,
    remaining_index,
    tenancy_cases_of,
)
from tests.referral.factories import referral_json

NOW = datetime(2026, 1, 6, tzinfo=UTC)


def test_a_deidentified_submission_keeps_codes_dates_and_counts_only() -> None:
    body = referral_json(
        tenancy={"landlord_organisation": "derby-homes", "tenancy_reference": "T-1",
                 "address": ["1 High Street"], "tenure": "secure"},
        urgency={"legal_stage": "notice_served", "notes": "typed by someone"},
        housing_history=[{"accommodation": "hostel", "reason_left": "typed"}],
        notes="typed",
    )  # fmt: skip
    kept = deidentified_submission(body)
    text = str(kept)
    for value in ("Alex", "Morgan", "1984-03-02", "QQ 12", "07700900123", "alex@example.org",
                  "High Street", "T-1", "typed", "Sam Worker", "sam.worker@"):  # fmt: skip
        assert value not in text
    assert kept["support_needs"] == ["mental_health", "budgeting_debt"]
    assert kept["urgency"] == {"legal_stage": "notice_served"}
    assert kept["tenancy"] == {"landlord_organisation": "derby-homes", "tenure": "secure"}
    assert kept["household_size"] == 1 and kept["housing_history_entries"] == 1
    assert set(kept["referrer"]) <= {"organisation", "source"}


def test_a_referral_loses_its_tenancy_and_the_personal_events_still_in_its_outbox() -> None:
    referral = {
        "_id": "r-1",
        "referrer": {"organisation": "o", "source": "outreach_team", "name": "Sam"},
        "submission": referral_json(),
        "_outbox": {
            "a": {"envelope": {"type": "hearth.ContactDetailsShared.v1"}},
            "b": {"envelope": {"type": "hearth.ReferralAssessed.v1"}},
        },
    }
    assert personal_outbox_paths(referral) == ["_outbox.a"]
    update = referral_deidentified(referral, NOW)
    assert update["$set"]["tenancy_id"] is None and update["$set"]["deidentified_at"] == NOW
    assert update["$set"]["referrer"] == {"organisation": "o", "source": "outreach_team"}
    assert update["$unset"] == {"_outbox.a": ""}


def test_shared_with_names_each_organisation_and_why() -> None:
    referral = {
        "organisation": "derby-council",
        "referrer": {"organisation": "st-mungos-outreach"},
        "partner_matches": ["leeds-council"],
        "submission": {"consent": {"to_share": True, "share_with": ["derby-homes"]}},
    }
    flows = [
        {"status": "released", "to_organisation": "derby-council", "kind": "tenancy-claim",
         "purpose": "tenancy-data"},
        {"status": "held", "to_organisation": "york-council"},
    ]  # fmt: skip
    shared = referral_shared_with(referral, flows)
    assert [s.split(":")[0] for s in shared] == [
        "st-mungos-outreach", "leeds-council", "derby-homes", "derby-council",
    ]  # fmt: skip
    no_consent = {**referral, "submission": {"consent": {"to_share": False}}}
    assert not any(s.startswith("derby-homes") for s in referral_shared_with(no_consent, []))


def test_a_held_flow_is_never_released_once_erased() -> None:
    held = held_flow_deidentified({"status": "held"}, NOW)["$set"]
    assert held["status"] == "superseded" and held["event"] is None and held["why"] == "erased"
    released = held_flow_deidentified({"status": "released"}, NOW)["$set"]
    assert "status" not in released and released["tenancy_id"] is None


def test_tenancy_and_people_index_keep_only_the_other_cases() -> None:
    tenancy = {"cases": {case_key("c-1"): {"case_id": "c-1"}, case_key("c-2"): {"case_id": "c-2"}}}
    assert tenancy_cases_of(tenancy, ["c-1"]) == ([case_key("c-1")], 1)
    assert tenancy_cases_of(tenancy, ["c-9"]) == ([], 2)
    entry = {"referral_ids": ["c-1", "c-2"], "closures": [{"case_id": "c-1"}, {"case_id": "c-2"}]}
    assert remaining_index(entry, ["c-1"]) == (["c-2"], [{"case_id": "c-2"}])


def test_a_deidentified_delivery_keeps_channel_template_status_and_dates() -> None:
    delivery = {
        "_id": "d-1", "organisation": "derby-council", "case_id": "c-1", "channel": "letter",
        "template": "closure_letter", "status": "pending", "recipient_role": "client",
        "address": "1 High Street", "subject": "s", "body": "Dear Alex",
        "personalisation": {"name": "Alex"}, "letter_address": ["Alex", "1 High Street"],
        "reason": "smtp: refused alex@example.org",
        "attempt_log": [{"at": NOW, "outcome": "failed", "reason": "to alex@example.org"}],
    }  # fmt: skip
    update = delivery_deidentified(delivery, NOW)
    assert set(update["$unset"]) == {"subject", "body", "personalisation", "letter_address"}
    fields = update["$set"]
    assert fields["address"] is None and fields["status"] == "suppressed"
    assert "alex@example.org" not in str(fields)
    sent = delivery_deidentified({**delivery, "status": "sent"}, NOW)["$set"]
    assert "status" not in sent


def test_the_bundle_shows_others_deliveries_without_their_addresses() -> None:
    worker = {"_id": "d", "organisation": "o", "recipient_role": "caseworker", "address": "w@x",
              "recipient_org": None, "template": "t", "channel": "email"}  # fmt: skip
    assert "address" not in delivery_record(worker).data and not delivery_record(worker).shared_with
    partner = {**worker, "recipient_role": "agency", "recipient_org": "probation-east"}
    assert delivery_record(partner).shared_with == ["probation-east: t by email (None)"]


def test_the_persons_cases_are_the_organisations_and_those_only_a_contact_told_of() -> None:
    cases = [{"_id": "c-1", "organisation": "o"}, {"_id": "c-2", "organisation": "other"}]
    contacts = [{"case_id": "c-3"}, {"case_id": "c-2"}]
    assert person_case_ids("o", cases, contacts) == ["c-1", "c-3"]
    assert case_deidentified({"referrer_email": "r@x", "tenancy_id": "h:T-1"}) == {
        "$unset": {"referrer_email": "", "tenancy_id": ""}
    }
    assert case_deidentified({"person_id": "p"}) is None
