"""The outcomes service's answers to subject-access and erasure requests (issue 16).

Subject access: the person's case histories as reporting holds them (codes, dates, amounts and
pseudonymous ids: what the figures were made of). Erasure changes nothing here: the reporting
store never held a name, contact detail, address or free text (`facts.KEPT`), and what it does
hold is what the statutory returns and outcome figures are made of, which the law keeps
de-identified; the person is already known to it only by a pseudonymous id. So the answer is
zero counts, as the audit trail's is.
"""

from __future__ import annotations

from services.outcomes.store import OutcomesStore
from shared.events.privacy_events import ErasureRequested, HeldRecord, SubjectAccessRequested
from shared.privacy_answers import answer_privacy_requests
from shared.runtime import ServiceRuntime

SERVICE = "outcomes"


class OutcomesPrivacy:
    def __init__(self, store: OutcomesStore) -> None:
        self.store = store

    async def access(self, request: SubjectAccessRequested) -> list[HeldRecord]:
        cases = await self.store.cases_of_person(request.person_id, request.organisation)
        return [
            HeldRecord(
                kind="case history (reporting)",
                record_id=case.case_id,
                held_in="outcomes/case_histories",
                held_since=case.referred_at or case.allocated_at,
                last_changed=case.closed_at or case.allocated_at or case.referred_at,
                data=case.document(),
            )
            for case in cases
        ]

    async def erase(self, request: ErasureRequested) -> tuple[dict[str, int], dict[str, int]]:
        return {}, {}  # kept de-identified: see the module's docstring


def install(runtime: ServiceRuntime, store: OutcomesStore) -> OutcomesPrivacy:
    privacy = OutcomesPrivacy(store)
    answer_privacy_requests(runtime, SERVICE, privacy.access, privacy.erase)
    return privacy
