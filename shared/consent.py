"""Consent as a lifecycle: given with a scope, varied, lapsing at its expiry, withdrawn. Pure.

A person's consent on one case (recorded by the staff member who took it) covers:
- organisations: the other organisations that may receive the person's data or notices about
  them (the case's own organisation always may);
- purposes: `contact` (messages to the person themselves) and the data-sharing purposes of
  `shared.agreements.Purpose`, so one check stands beside the agreement check of each flow;
- channels: which channels may be used to reach the person;
- an optional expiry day: from that day on nothing is covered.

Withdrawal is final: nothing is covered from the moment it is recorded, and varying the scope
cannot undo it; only consent given anew (a new `given_at`) covers again. Every flow asks
`decide()` at the moment it happens, with the clock, so expiry needs no event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.agreements import Purpose
from shared.codes import Channel

MAX_YEARS_AHEAD = 10  # an expiry further away than this was not meant


class ConsentPurpose(StrEnum):
    """What the person's data may be used for: messages to them, or a sharing purpose."""

    CONTACT = "contact"  # messages to the person themselves
    ARREARS_PREVENTION = Purpose.ARREARS_PREVENTION.value
    TENANCY_DATA = Purpose.TENANCY_DATA.value
    REFERRAL_STATUS = Purpose.REFERRAL_STATUS.value
    RECONNECTION_HANDOVER = Purpose.RECONNECTION_HANDOVER.value
    PERSON_MATCHING = Purpose.PERSON_MATCHING.value
    PARTNER_NOTICES = Purpose.PARTNER_NOTICES.value


ALL_PURPOSES: tuple[ConsentPurpose, ...] = tuple(ConsentPurpose)


class ConsentState(StrEnum):
    GIVEN = "given"
    VARIED = "varied"  # given, then its scope changed
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # never recorded by anyone: the clock passed `expires_on`


class ConsentError(ValueError):
    """A change the rules refuse; `field` names what the caller must change."""

    def __init__(self, field: str, message: str, conflict: bool = False) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.conflict = conflict  # the state forbids it (409), not the input (422)


class ConsentScope(BaseModel):
    """What a consent covers."""

    model_config = ConfigDict(frozen=True)

    organisations: tuple[str, ...] = ()
    purposes: tuple[ConsentPurpose, ...] = ALL_PURPOSES
    channels: tuple[Channel, ...] = ()
    expires_on: date | None = None


class Consent(BaseModel):
    """One case's consent as it stands, with the history of its last giving and withdrawal."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    person_id: str
    organisation: str  # the organisation holding the case
    state: ConsentState  # as recorded: given, varied or withdrawn (expiry is `state_at`)
    scope: ConsentScope
    given_at: datetime
    given_by: str
    varied_at: datetime | None = None
    varied_by: str | None = None
    withdrawn_at: datetime | None = None  # the moment it was recorded: effective from then
    withdrawn_on: date | None = None  # the day the person withdrew, as they said
    withdrawn_by: str | None = None
    reason: str | None = None  # why it was withdrawn, in the recorder's words
    version: int = 1  # grows with every change; copies elsewhere keep the highest

    def withdrawn_by_then(self, at: datetime) -> bool:
        return self.withdrawn_at is not None and self.withdrawn_at <= at

    def expired_by_then(self, at: datetime) -> bool:
        return self.scope.expires_on is not None and at.date() >= self.scope.expires_on

    def state_at(self, at: datetime) -> ConsentState:
        if self.withdrawn_by_then(at):
            return ConsentState.WITHDRAWN
        if self.expired_by_then(at):
            return ConsentState.EXPIRED
        return self.state


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: str  # why not, in words staff can act on; "" when allowed

    def __bool__(self) -> bool:
        return self.allowed


def decide(
    consent: Consent | None,
    organisation: str,
    purpose: ConsentPurpose | Purpose | str,
    at: datetime,
) -> ConsentDecision:
    """May the person's data reach `organisation` for `purpose` at `at`? No consent recorded
    is not a refusal here: the flows kept their own rules for those (automatic referrals)."""
    if consent is None:
        return ConsentDecision(True, "")
    if consent.withdrawn_by_then(at) and consent.withdrawn_at is not None:
        return ConsentDecision(False, f"consent withdrawn on {consent.withdrawn_at.date()}")
    if consent.expired_by_then(at):
        return ConsentDecision(False, f"consent expired on {consent.scope.expires_on}")
    if organisation != consent.organisation and organisation not in consent.scope.organisations:
        return ConsentDecision(False, f"consent does not cover {organisation}")
    wanted = ConsentPurpose(str(purpose))
    if wanted not in consent.scope.purposes:
        return ConsentDecision(False, f"consent does not cover {wanted.value}")
    return ConsentDecision(True, "")


def check_expiry(expires_on: date | None, today: date) -> None:
    """An expiry must be a day still ahead, and not absurdly far."""
    if expires_on is None:
        return
    if expires_on <= today:
        raise ConsentError("expires_on", f"must be after today ({today})")
    latest = today + timedelta(days=366 * MAX_YEARS_AHEAD)
    if expires_on > latest:
        raise ConsentError("expires_on", f"must be within {MAX_YEARS_AHEAD} years ({latest})")


def _scope(scope: ConsentScope) -> ConsentScope:
    """Lists without repeats, in a stable order, so equal scopes compare equal."""
    return scope.model_copy(
        update={
            "organisations": tuple(sorted(set(scope.organisations))),
            "purposes": tuple(p for p in ALL_PURPOSES if p in set(scope.purposes)),
            "channels": tuple(dict.fromkeys(scope.channels)),
        }
    )


def give(
    current: Consent | None,
    *,
    case_id: str,
    person_id: str,
    organisation: str,
    scope: ConsentScope,
    by: str,
    at: datetime,
    check_expiry_day: bool = True,
) -> Consent:
    """Record consent given, or vary a live one's scope. Over a withdrawn or expired consent
    it is consent given anew (a new `given_at`); a live one keeps when it was given. At intake
    (`check_expiry_day=False`) a referral is never refused for it: a past expiry is recorded
    and simply covers nothing."""
    scope = _scope(scope)
    if check_expiry_day:
        check_expiry(scope.expires_on, at.date())
    if current is None or current.state_at(at) in (ConsentState.WITHDRAWN, ConsentState.EXPIRED):
        return Consent(
            case_id=case_id,
            person_id=person_id,
            organisation=organisation,
            state=ConsentState.GIVEN,
            scope=scope,
            given_at=at,
            given_by=by,
            version=(current.version + 1) if current else 1,
        )
    return current.model_copy(
        update={
            "state": ConsentState.VARIED,
            "scope": scope,
            "varied_at": at,
            "varied_by": by,
            "version": current.version + 1,
        }
    )


def withdraw(
    current: Consent | None,
    *,
    by: str,
    at: datetime,
    withdrawn_on: date | None = None,
    reason: str | None = None,
) -> Consent:
    """Withdraw consent from now on. `withdrawn_on` is the day the person said so: not in the
    future, not before the consent was given."""
    if current is None:
        raise ConsentError("consent", "none recorded for this referral", conflict=True)
    if current.withdrawn_at is not None:
        day = current.withdrawn_at.date()
        raise ConsentError("consent", f"already withdrawn on {day}", conflict=True)
    day = withdrawn_on or at.date()
    if day > at.date():
        raise ConsentError("recorded_on", f"must not be after today ({at.date()})")
    if day < current.given_at.date():
        given = current.given_at.date()
        raise ConsentError("recorded_on", f"must not be before consent was given ({given})")
    return current.model_copy(
        update={
            "state": ConsentState.WITHDRAWN,
            "withdrawn_at": at,
            "withdrawn_on": day,
            "withdrawn_by": by,
            "reason": reason,
            "version": current.version + 1,
        }
    )


def intake_scope(
    *,
    to_share: bool,
    share_with: Iterable[str],
    referrer_organisation: str | None,
    purposes: Iterable[ConsentPurpose] | None,
    channels: Iterable[Channel],
    expires_on: date | None,
) -> ConsentScope:
    """The scope of consent taken at intake. Without `purposes`, what `to_share` always meant:
    every purpose when the person agreed to share, none otherwise. The referrer's organisation
    is covered with the organisations named: the person was referred by it, with consent."""
    chosen = tuple(purposes) if purposes is not None else (ALL_PURPOSES if to_share else ())
    organisations = [*share_with, *([referrer_organisation] if referrer_organisation else [])]
    return _scope(
        ConsentScope(
            organisations=tuple(organisations),
            purposes=chosen,
            channels=tuple(channels),
            expires_on=expires_on,
        )
    )
