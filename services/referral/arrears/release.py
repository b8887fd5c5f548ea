"""Flows held for want of an agreement, or of the person's consent: recorded when a claim
arrives, released when the agreement becomes live (on AgreementChanged) or the consent covers
the flow again (on ConsentChanged), idempotently: every release is guarded on the flow still
being held, and the prevention referral's event id is derived from its id.

A tenancy claim needs both: the landlord's agreement with the claiming organisation, and the
consent recorded on the claiming case (`shared.consent.decide` for tenancy data to the
landlord). A case without consent recorded keeps the agreement's rules alone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from services.referral.arrears.decision import CaseEntry, CaseStatus, case_key
from services.referral.arrears.planning import (
    PREVENTION_CATEGORIES,
    TENANCY_DATA_CATEGORIES,
    tenancy_claim,
)
from services.referral.arrears.store import ArrearsStore, CaseChange, _case_body
from services.referral.held_flows import CaseConsents, FlowKind, HeldFlows
from shared.agreement_book import AgreementBook
from shared.agreements import Agreement, Purpose
from shared.clock import Clock
from shared.consent import Consent, ConsentDecision
from shared.consent import decide as consent_decides
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
        consents: CaseConsents,
    ) -> None:
        self.store = store
        self.held = held
        self.book = book
        self.relay = relay
        self.clock = clock
        self.consents = consents

    async def claims_arrived(self, changes: Sequence[CaseChange]) -> None:
        """Cases of another organisation naming a landlord's tenancy: held (with the reason)
        unless the landlord shares tenancy data with that organisation now and the person's
        consent on the case lets it."""
        now = self.clock.now()
        claims = [
            change
            for change in changes
            if change.organisation
            and change.organisation != change.tenancy_id.split(":", 1)[0]
            and change.status is not CaseStatus.CLOSED
        ]
        if not claims:
            return
        consents = await self.consents.of_cases(c.case_id for c in claims)  # one read a poll
        uow = UnitOfWork(self.relay)
        refused: dict[tuple[str, str], str | None] = {}  # one check per pair in a poll
        for change in claims:
            landlord = change.tenancy_id.split(":", 1)[0]
            owner = change.organisation or ""
            if (landlord, owner) not in refused:
                refused[(landlord, owner)] = await self._agreement_refuses(landlord, owner, now)
            reason = refused[(landlord, owner)]
            if reason is None:
                reason = _consent_refuses(consents.get(change.case_id), landlord, now)
            if reason is not None:
                claim = tenancy_claim(change.tenancy_id, change.case_id, owner, reason)
                self.held.hold(uow, claim, now)
        await uow.commit()

    async def _agreement_refuses(self, landlord: str, owner: str, now: datetime) -> str | None:
        """Why no agreement lets the landlord's tenancy data reach `owner` now (None: one does:
        tenancy data, or the arrears prevention its referrals went under)."""
        decision = await self.book.check(
            from_organisation=landlord, to_organisation=owner,
            purpose=Purpose.TENANCY_DATA, categories=TENANCY_DATA_CATEGORIES, at=now,
        )  # fmt: skip
        live = decision or await self._prevention_live(landlord, owner)
        return None if live else decision.reason

    async def consent_changed(self, case_id: str) -> None:
        """The case's consent changed: its held tenancy claims are released if the agreement
        and the consent (as recorded now) both let them; otherwise their reason is refreshed.
        A withdrawal needs nothing here: the link is refused at the next alert's own check."""
        flows = await self.held.held_about(FlowKind.TENANCY_CLAIM, [case_id])
        if flows:
            await self._recheck_claims(flows)

    async def _recheck_claims(self, flows: Sequence[Document]) -> int:
        """Release the held claims the agreements and consents let now; the rest keep being
        held with the reason of the first check refusing them. One consent read for all."""
        now = self.clock.now()
        consents = await self.consents.of_cases(f["subject"] for f in flows)
        refused: dict[tuple[str, str], str | None] = {}
        uow = UnitOfWork(self.relay)
        released = 0
        for flow in flows:
            pair = (flow["from_organisation"], flow["to_organisation"])
            if pair not in refused:
                refused[pair] = await self._agreement_refuses(*pair, now)
            reason = refused[pair]
            if reason is None:
                reason = _consent_refuses(consents.get(flow["subject"]), pair[0], now)
            if reason is None:
                self.held.release(uow, flow["_id"], now)
                released += 1
            elif reason != flow.get("reason"):
                claim = tenancy_claim(flow["tenancy_id"], flow["subject"], pair[1], reason)
                self.held.hold(uow, claim, now)
        await uow.commit()
        return released

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
        if await self._agreement_refuses(landlord, other, self.clock.now()) is not None:
            return
        # The link itself is decided at each alert (`planning.sharing_organisations` and the
        # consents): the next alert names the claiming case; this records that nothing is held
        # any more, except the claims whose person's consent still refuses.
        flows = await self.held.held_between(FlowKind.TENANCY_CLAIM, landlord, other)
        if flows:
            await self._recheck_claims(flows)

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


def _consent_refuses(consent: Consent | None, landlord: str, now: datetime) -> str | None:
    """Why the person's consent on the claiming case keeps the landlord's tenancy data from it
    (None: it lets it, or none is recorded)."""
    decision: ConsentDecision = consent_decides(consent, landlord, Purpose.TENANCY_DATA, now)
    return None if decision else decision.reason
