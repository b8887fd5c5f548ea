"""Data-sharing agreements between organisations, and the one rule every flow asks. Pure: no I/O.

An agreement is between two organisations, for one purpose, over named data categories, from
a start to an optional end. One organisation's admin proposes it, the other's accepts it, either
ends it. A flow that crosses organisations (a prevention referral into a council, tenancy data
reaching a council's case, a status back to a referrer, person matching, a notice to a partner)
asks `check()` at the moment it happens; without a live agreement it is refused or held, with
the reason `check()` gives, never silently.

A flow inside one organisation needs no agreement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Purpose(StrEnum):
    ARREARS_PREVENTION = "arrears-prevention"  # a landlord's risk raises referrals in a council
    TENANCY_DATA = "tenancy-data"  # a landlord's arrears and legal stage reach a council's case
    REFERRAL_STATUS = "referral-status"  # what became of a referral goes back to the referrer
    RECONNECTION_HANDOVER = "reconnection-handover"  # a reconnection's pack to the destination
    PERSON_MATCHING = "person-matching"  # recognising the same person across organisations
    PARTNER_NOTICES = "partner-notices"  # notices about a case sent to a partner organisation


class DataCategory(StrEnum):
    IDENTITY = "identity"  # name, date of birth, NI number
    CONTACT = "contact"
    TENANCY = "tenancy"  # tenancy reference, landlord, address
    ARREARS = "arrears"  # balance, payments, legal stage, eviction date
    CASE_STATUS = "case-status"  # allocated, stage, closed, outcome
    SUPPORT_NEEDS = "support-needs"
    HEALTH = "health"
    OFFENDING = "offending"


class AgreementStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"  # accepted; live between `starts` and `ends`
    DECLINED = "declined"
    ENDED = "ended"


class Agreement(BaseModel):
    """One agreement as every service holds it (the agreements service owns the record)."""

    model_config = ConfigDict(frozen=True)

    agreement_id: str
    proposed_by: str  # organisation
    counterparty: str  # organisation
    purpose: Purpose
    categories: frozenset[DataCategory] = Field(default_factory=frozenset)
    starts: datetime
    ends: datetime | None = None
    status: AgreementStatus = AgreementStatus.PROPOSED
    version: int = 1  # grows with every change; replicas keep the highest

    @property
    def parties(self) -> frozenset[str]:
        return frozenset({self.proposed_by, self.counterparty})

    def live_at(self, at: datetime) -> bool:
        if self.status is not AgreementStatus.ACTIVE or at < self.starts:
            return False
        return self.ends is None or at < self.ends


@dataclass(frozen=True)
class SharingDecision:
    allowed: bool
    reason: str  # why not, in words an organisation's admin can act on; "" when allowed
    agreement_id: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


def check(
    agreements: Iterable[Agreement],
    *,
    from_organisation: str,
    to_organisation: str,
    purpose: Purpose,
    categories: Iterable[DataCategory] = (),
    at: datetime,
) -> SharingDecision:
    """May data of `categories` flow between these organisations for `purpose` at `at`?"""
    if from_organisation == to_organisation:
        return SharingDecision(True, "")
    needed = frozenset(categories)
    pair = frozenset({from_organisation, to_organisation})
    between = [a for a in agreements if a.parties == pair and a.purpose is purpose]
    live = [a for a in between if a.live_at(at)]
    covering = [a for a in live if needed <= a.categories]
    if covering:
        return SharingDecision(True, "", covering[0].agreement_id)
    if live:
        missing = ", ".join(sorted(needed - live[0].categories))
        return SharingDecision(
            False,
            f"the {purpose.value} agreement between {from_organisation} and {to_organisation} "
            f"does not cover {missing}",
        )
    return SharingDecision(
        False,
        f"no live {purpose.value} agreement between {from_organisation} and {to_organisation}",
    )
