"""The agreements service's answers to subject-access and erasure requests (issue 16).

Agreements hold no personal data: they say which organisations the requesting one may share
with, for which purposes and data categories, from when to when. Subject access lists every
agreement the organisation is or was party to, so the bundle shows where the person's data
may have gone; erasure has nothing to erase and answers with zero counts.
"""

from __future__ import annotations

from services.agreements.model import AgreementRecord
from services.agreements.store import AgreementStore
from shared.events.privacy_events import ErasureRequested, HeldRecord, SubjectAccessRequested
from shared.privacy_answers import answer_privacy_requests
from shared.runtime import ServiceRuntime

SERVICE = "agreements"


def agreement_record(agreement: AgreementRecord, organisation: str) -> HeldRecord:
    """One agreement as the bundle shows it (pure): parties, purpose, categories, period and
    status; not the admins' notes or who clicked, which are about staff, not the person."""
    other = agreement.other_party(organisation)
    return HeldRecord(
        kind="data-sharing agreement",
        record_id=agreement.agreement_id,
        held_in="agreements/agreements",
        held_since=agreement.proposed_at,
        last_changed=agreement.updated_at,
        data={
            "proposed_by": agreement.proposed_by,
            "counterparty": agreement.counterparty,
            "purpose": agreement.purpose.value,
            "categories": [c.value for c in agreement.categories],
            "starts": agreement.starts.isoformat(),
            "ends": agreement.ends.isoformat() if agreement.ends else None,
            "status": agreement.status.value,
        },
        shared_with=[f"{other}: {agreement.purpose.value} ({agreement.status.value})"],
    )


class AgreementsPrivacy:
    def __init__(self, store: AgreementStore) -> None:
        self.store = store

    async def access(self, request: SubjectAccessRequested) -> list[HeldRecord]:
        found = await self.store.of_organisation(request.organisation)
        return [agreement_record(a, request.organisation) for a in found]

    async def erase(self, request: ErasureRequested) -> tuple[dict[str, int], dict[str, int]]:
        return {}, {}  # nothing personal is held here


def install(runtime: ServiceRuntime, store: AgreementStore) -> AgreementsPrivacy:
    privacy = AgreementsPrivacy(store)
    answer_privacy_requests(runtime, SERVICE, privacy.access, privacy.erase)
    return privacy
