"""Carrying out the lifecycle on the shared unit of work: load the agreement (typed), let the
pure rules decide, save it with its `AgreementChanged` (the whole agreement) in one write, and
decide again when another writer changed it first (`shared.unit_of_work.attempt`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.agreements import lifecycle
from services.agreements.lifecycle import NotAParty
from services.agreements.model import AgreementRecord
from services.agreements.schemas import ProposeAgreement
from services.agreements.store import AgreementStore
from shared.events.agreement_events import AgreementChanged
from shared.events.envelope import Envelope, make_event
from shared.ids import new_id
from shared.locks import KeyedLocks
from shared.runtime import ServiceRuntime
from shared.unit_of_work import ConcurrentUpdate, UnitOfWork, attempt

SOURCE = "agreements"

# (the agreement, the acting organisation, its admin, now) -> the changed agreement
Transition = Callable[..., AgreementRecord]


class AgreementsService:
    def __init__(self, runtime: ServiceRuntime, store: AgreementStore) -> None:
        self.runtime = runtime
        self.store = store
        self.locks = KeyedLocks()

    async def propose(
        self, organisation: str, subject: str | None, body: ProposeAgreement
    ) -> AgreementRecord:
        now = self.runtime.clock.now()
        record = lifecycle.propose(
            agreement_id=new_id("agr"),
            organisation=organisation,
            subject=subject,
            counterparty=body.counterparty,
            purpose=body.purpose,
            categories=body.categories,
            starts=body.starts,
            ends=body.ends,
            note=body.note,
            now=now,
        )
        uow = UnitOfWork(self.runtime.relay)
        uow.add(self.store.repository, record, [self._changed(record, "proposed", organisation)])
        await uow.commit()
        return record

    async def get(self, agreement_id: str, organisation: str) -> AgreementRecord:
        loaded = await self.store.get(agreement_id)
        if loaded is None or organisation not in loaded.model.parties:
            raise NotAParty(agreement_id)  # another organisation's agreement is not revealed
        return loaded.model

    async def list(
        self, organisation: str, status: str | None = None, purpose: str | None = None
    ) -> list[AgreementRecord]:
        return await self.store.of_organisation(organisation, status, purpose)

    async def change(
        self,
        agreement_id: str,
        transition: Transition,
        *,
        organisation: str,
        subject: str | None,
        note: str | None = None,
    ) -> AgreementRecord:
        """Apply one lifecycle transition (`lifecycle.accept`, `decline`, `end`) for a party."""

        async def step(uow: UnitOfWork) -> AgreementRecord:
            loaded = await self.store.get(agreement_id)
            if loaded is None or organisation not in loaded.model.parties:
                raise NotAParty(agreement_id)
            now = self.runtime.clock.now()
            changed = transition(
                loaded.model, organisation=organisation, subject=subject, now=now, note=note
            )
            change = changed.history[-1].change
            event = self._changed(changed, change, organisation, now)
            uow.save(self.store.repository, loaded, changed, [event])
            return changed

        async with self.locks.hold(agreement_id):
            try:
                changed, _ = await attempt(self.runtime.relay, step)
            except ConcurrentUpdate as exc:
                raise ConcurrentUpdate(
                    "agreement_id: the agreement changed concurrently; try again"
                ) from exc
        return changed

    def _changed(
        self,
        record: AgreementRecord,
        change: str,
        organisation: str,
        now: datetime | None = None,
    ) -> Envelope:
        data = AgreementChanged.of(record.agreement(), change, organisation)
        return make_event(
            data,
            source=SOURCE,
            organisation=organisation,
            correlation_id=record.agreement_id,
            time=now or record.updated_at,
        )
