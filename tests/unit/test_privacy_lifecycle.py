"""Received -> in progress -> fulfilled when all seven contributors answered; the bundle."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.privacy.bundle import assemble, held_records, records_json
from services.privacy.bundle_pdf import render_bundle_pdf
from services.privacy.lifecycle import RequestStatus, awaiting, is_contributor, status_of
from services.privacy.model import AccessRequest, Contribution
from shared.events.privacy_events import PRIVACY_CONTRIBUTORS, HeldRecord

NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def test_status_follows_the_answers() -> None:
    assert status_of({}, fulfilled=False) is RequestStatus.RECEIVED
    assert status_of({"referral": 1}, fulfilled=False) is RequestStatus.IN_PROGRESS
    assert status_of(set(PRIVACY_CONTRIBUTORS), fulfilled=False) is RequestStatus.FULFILLED
    assert status_of({}, fulfilled=True) is RequestStatus.FULFILLED


def test_awaiting_names_the_missing_services_in_order() -> None:
    answered = {"referral", "audit"}
    assert awaiting(answered) == ["allocation", "support", "reconnection", "notifications",
                                  "agreements", "outcomes"]  # fmt: skip
    assert not is_contributor("web")  # the web app holds sessions only


def _contribution(service: str, records: list[HeldRecord]) -> Contribution:
    return Contribution(
        contribution_id=f"c-{service}",
        request_id="sar-1",
        organisation="derby-council",
        person_id="p-1",
        service=service,
        answered_at=NOW,
        records_json=records_json(records),
    )


def test_the_bundle_groups_by_service_and_gathers_who_it_was_shared_with() -> None:
    referral = HeldRecord(
        kind="referral",
        record_id="ref-1",
        held_in="referral/referrals",
        held_since=NOW,
        data={"name": "Zoë Ćwikła", "needs": ["housing"]},
        shared_with=["derby-homes (arrears prevention)"],
    )
    seen = HeldRecord(kind="access", record_id="a-1", held_in="audit/entries")
    agreement = HeldRecord(kind="agreement", record_id="agr-1", held_in="agreements/agreements")
    request = AccessRequest(
        request_id="sar-1",
        organisation="derby-council",
        person_id="p-1",
        received_on=date(2026, 1, 31),
        due_on=date(2026, 2, 28),
        requested_at=NOW,
        fulfilled_at=NOW,
    )
    contributions = [
        _contribution("audit", [seen]),
        _contribution("referral", [referral]),
        _contribution("agreements", [agreement]),
    ]
    assert held_records(contributions[1]) == [referral]
    bundle = assemble(request, contributions, NOW)
    assert [s.service for s in bundle.services] == ["referral", "audit", "agreements"]
    assert bundle.records == 3
    assert bundle.shared_with.organisations == ["derby-homes (arrears prevention)"]
    assert bundle.shared_with.seen_or_changed == [seen]
    assert bundle.shared_with.agreements == [agreement]
    pdf = render_bundle_pdf(bundle)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
