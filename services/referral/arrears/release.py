"""Flows held for want of an agreement: recorded when a claim arrives, released when the
agreement becomes live (on AgreementChanged, idempotently: every release is guarded on the
flow still being held, and the prevention referral's event id is derived from its id)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from services.referral.arrears.decision import CaseEntry, CaseStatus, case_key
from services.referral.arrears.planning import (
    PREVENTION_CATEGORIES,
    TENANCY_DATA_CATEGORIES,
    tenancy_claim,
)
from services.referral.arrears.store import ArrearsStore, CaseChange, _case_body
from services.referral.held_flows import FlowKind, HeldFlows
from shared.agreement_book import AgreementBook
from shared.agreements import Agreement, Purpose
from shared.clock import Clock
from shared.events.envelope import Envelope
from shared.logging import get_logger
from shared.mongo import Document
from shared.outbox import OutboxRelay
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


class HeldFlowRelease:
    def __init__(
        self,
        store: ArrearsStore,
        held: HeldFlows,
        book: AgreementBook,
        relay: OutboxRelay,
        clock: Clock,
    ) -> None:
        self.store = store
        self.held = held
        self.book = book
        self.relay = relay
        self.clock = clock

    async def claims_arrived(self, changes: Sequence[CaseChange]) -> None:
        """Cases of another organisation naming a landlord's tenancy: held (with the reason)
        unless the landlord shares tenancy data with that organisation now."""
        now = self.clock.now()
        uow = UnitOfWork(self.relay)
        refused: dict[tuple[str, str], str | None] = {}  # one check per pair in a poll
        for change in changes:
            landlord = change.tenancy_id.split(":", 1)[0]
            owner = change.organisation
            if not owner or owner == landlord or change.status is CaseStatus.CLOSED:
                continue
            if (landlord, owner) not in refused:
                decision = await self.book.check(
                    from_organisation=landlord, to_organisation=owner,
                    purpose=Purpose.TENANCY_DATA, categories=TENANCY_DATA_CATEGORIES, at=now,
                )  # fmt: skip
                live = decision or await self._prevention_live(landlord, owner)
                refused[(landlord, owner)] = None if live else decision.reason
            reason = refused[(landlord, owner)]
            if reason is not None:
                claim = tenancy_claim(change.tenancy_id, change.case_id, owner, reason)
                self.held.hold(uow, claim, now)
        await uow.commit()

    async def _prevention_live(self, landlord: str, owner: str) -> bool:
        decision = await self.book.check(
            from_organisation=landlord, to_organisation=owner,
            purpose=Purpose.ARREARS_PREVENTION, categories=PREVENTION_CATEGORIES,
            at=self.clock.now(),
        )  # fmt: skip
        return bool(decision)

    async def agreement_changed(self, agreement: Agreement) -> None:
        """Release what this agreement now lets flow, in either direction between its parties."""
        now = self.clock.now()
        if not agreement.live_at(now):
            return  # an ended agreement is refused at the next flow's own check
        a, b = agreement.proposed_by, agreement.counterparty
        for landlord, other in ((a, b), (b, a)):
            if agreement.purpose is Purpose.ARREARS_PREVENTION:
                await self._release_referrals(landlord, other)
            if agreement.purpose in (Purpose.TENANCY_DATA, Purpose.ARREARS_PREVENTION):
                await self._release_claims(landlord, other)

    async def _release_claims(self, landlord: str, other: str) -> None:
        now = self.clock.now()
        decision = await self.book.check(
            from_organisation=landlord, to_organisation=other,
            purpose=Purpose.TENANCY_DATA, categories=TENANCY_DATA_CATEGORIES, at=now,
        )  # fmt: skip
        if not decision and not await self._prevention_live(landlord, other):
            return
        uow = UnitOfWork(self.relay)
        # The link itself is decided at each alert (`planning.sharing_organisations`): the
        # next alert names the claiming case; this records that nothing is held any more.
        for flow in await self.held.held_between(FlowKind.TENANCY_CLAIM, landlord, other):
            self.held.release(uow, flow["_id"], now)
        await uow.commit()

    async def _release_referrals(self, landlord: str, council: str) -> None:
        now = self.clock.now()
        decision = await self.book.check(
            from_organisation=landlord, to_organisation=council,
            purpose=Purpose.ARREARS_PREVENTION, categories=PREVENTION_CATEGORIES, at=now,
        )  # fmt: skip
        if not decision:
            return
        flows = await self.held.held_between(FlowKind.PREVENTION_REFERRAL, landlord, council)
        by_tenancy: dict[str, list[Document]] = defaultdict(list)
        for flow in flows:
            by_tenancy[flow["tenancy_id"]].append(flow)
        states = await self.store.load(by_tenancy)
        sharing = frozenset({council})
        uow = UnitOfWork(self.relay)
        released = 0
        for tenancy_id, held in by_tenancy.items():
            held.sort(key=lambda f: (f["episode"], f["level_rank"]), reverse=True)
            latest, older = held[0], held[1:]
            for flow in older:
                self.held.supersede(uow, flow["_id"], now, "a later hold for the tenancy")
            loaded = states.get(tenancy_id)
            state = loaded.model if loaded else None
            if state is None or state.episode != latest["episode"] or not state.signalled_level:
                self.held.supersede(uow, latest["_id"], now, "the arrears episode has ended")
                continue
            if state.has_open_or_pending_case(sharing):
                self.held.supersede(uow, latest["_id"], now, "a case is open for the tenancy")
                continue
            referral = Envelope.model_validate(latest["event"])
            self.held.release(uow, latest["_id"], now, [referral])
            # Pending at once, as when raised at the alert: the next rise raises no second one.
            entry = CaseEntry(latest["subject"], CaseStatus.PENDING, now, council)
            uow.change(
                self.store.repository, tenancy_id,
                {"$set": {f"cases.{case_key(entry.case_id)}": _case_body(entry)}},
            )  # fmt: skip
            released += 1
        await uow.commit()
        if released:
            log.info("arrears.held_referrals_released", count=released, organisation=council)
