"""An agreement's life as pure rules: one organisation's admin proposes, only the other's
accepts or declines, either ends it. Every change bumps the version. No I/O, no clock: the
time is passed in. A refusal names the field and the reason an admin can act on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.agreements.model import AgreementRecord, Change
from shared.agreements import AgreementStatus, DataCategory, Purpose


class AgreementRefused(Exception):
    """A change the rules do not allow; `field` names what is wrong."""

    status_code = 409

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidAgreement(AgreementRefused):
    """A proposal that can never be valid, whatever the state (HTTP 422)."""

    status_code = 422


class TransitionRefused(AgreementRefused):
    """Not allowed in the agreement's current state, or not by this party (HTTP 409)."""


class NotAParty(Exception):
    """The organisation is not a party: to it the agreement does not exist (HTTP 404)."""

    def __init__(self, agreement_id: str) -> None:
        super().__init__(f"agreement_id: no agreement {agreement_id} of your organisation")


def propose(
    *,
    agreement_id: str,
    organisation: str,
    subject: str | None,
    counterparty: str,
    purpose: Purpose,
    categories: Iterable[DataCategory],
    starts: datetime,
    ends: datetime | None,
    note: str | None,
    now: datetime,
) -> AgreementRecord:
    if counterparty == organisation:
        raise InvalidAgreement("counterparty", "an agreement is with another organisation")
    chosen = sorted(set(categories))
    if not chosen:
        raise InvalidAgreement("categories", "name at least one data category")
    if ends is not None and ends <= starts:
        raise InvalidAgreement("ends", "must be after starts")
    return AgreementRecord(
        agreement_id=agreement_id,
        proposed_by=organisation,
        counterparty=counterparty,
        purpose=purpose,
        categories=chosen,
        starts=starts,
        ends=ends,
        note=note,
        proposed_at=now,
        updated_at=now,
        history=[Change(change="proposed", organisation=organisation, subject=subject, at=now)],
    )


def accept(
    record: AgreementRecord,
    *,
    organisation: str,
    subject: str | None,
    now: datetime,
    note: str | None = None,
) -> AgreementRecord:
    _answerable(record, organisation, "accept")
    if record.ends is not None and record.ends <= now:
        raise TransitionRefused(
            "ends", f"the agreement's end ({record.ends.isoformat()}) has passed; propose anew"
        )
    return _changed(record, "accepted", AgreementStatus.ACTIVE, organisation, subject, now, note)


def decline(
    record: AgreementRecord,
    *,
    organisation: str,
    subject: str | None,
    now: datetime,
    note: str | None = None,
) -> AgreementRecord:
    _answerable(record, organisation, "decline")
    return _changed(record, "declined", AgreementStatus.DECLINED, organisation, subject, now, note)


def end(
    record: AgreementRecord,
    *,
    organisation: str,
    subject: str | None,
    now: datetime,
    note: str | None = None,
) -> AgreementRecord:
    """Either party ends an active agreement (or withdraws a proposal); from now, unless it
    was due to end sooner. Never before it starts, so `ends` stays after or at `starts`."""
    _party(record, organisation)
    if record.status is AgreementStatus.ENDED:
        raise TransitionRefused("status", "the agreement is already ended")
    if record.status is AgreementStatus.DECLINED:
        raise TransitionRefused("status", "the agreement was declined; there is nothing to end")
    ends = max(now, record.starts)
    if record.ends is not None and record.ends < ends:
        ends = record.ends
    ended = _changed(record, "ended", AgreementStatus.ENDED, organisation, subject, now, note)
    return ended.model_copy(update={"ends": ends})


def _party(record: AgreementRecord, organisation: str) -> None:
    if organisation not in record.parties:
        raise NotAParty(record.agreement_id)


_PAST = {"accept": "accepted", "decline": "declined"}


def _answerable(record: AgreementRecord, organisation: str, verb: str) -> None:
    """Only the counterparty answers a proposal, and only while it is proposed."""
    _party(record, organisation)
    if record.status is not AgreementStatus.PROPOSED:
        raise TransitionRefused(
            "status",
            f"the agreement is {'already ' if record.status is AgreementStatus.ACTIVE else ''}"
            f"{record.status.value}; only a proposed agreement can be {_PAST[verb]}",
        )
    if organisation == record.proposed_by:
        raise TransitionRefused(
            "status",
            f"only the counterparty ({record.counterparty}) may {verb} this proposal; "
            f"your organisation proposed it",
        )


def _changed(
    record: AgreementRecord,
    change: str,
    status: AgreementStatus,
    organisation: str,
    subject: str | None,
    now: datetime,
    note: str | None,
) -> AgreementRecord:
    step = Change(change=change, organisation=organisation, subject=subject, at=now, note=note)
    return record.model_copy(
        update={
            "status": status,
            "version": record.version + 1,
            "updated_at": now,
            "history": [*record.history, step],
        }
    )
