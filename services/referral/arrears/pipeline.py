"""The one pipeline every alert path shares, in bulk, on the shared unit of work: per batch,
one read of the organisations' rules, one read of the tenancies' states (typed), decisions in
memory (pure: `planning.plan_tenancy`), one unit of work committing every changed tenancy with
its events in bulk and publishing them at once (a batch of repeats writes nothing at all). A
tenancy another writer changed (or created) meanwhile is decided again."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from services.referral.arrears.alert import AlertSubmission
from services.referral.arrears.decision import TenancyState
from services.referral.arrears.planning import (
    STALE,
    AlertResult,
    TenancyPlan,
    claiming_cases,
    plan_tenancy,
)
from services.referral.arrears.store import ArrearsStore
from services.referral.held_flows import CaseConsents, FlowKind, HeldFlows
from shared.agreement_book import AgreementBook
from shared.clock import Clock
from shared.logging import get_logger
from shared.outbox import OutboxRelay
from shared.unit_of_work import UnitOfWork

MAX_ATTEMPTS = 20  # a tenancy loses a race only to another write of the same tenancy

log = get_logger(__name__)


class ConflictPersisted(RuntimeError):
    """A tenancy kept changing under the pipeline; the caller retries the whole alert."""


class AlertPipeline:
    def __init__(
        self,
        store: ArrearsStore,
        relay: OutboxRelay,
        clock: Clock,
        book: AgreementBook,
        held: HeldFlows,
        consents: CaseConsents,
    ) -> None:
        self.store = store
        self.relay = relay
        self.clock = clock
        self.book = book  # the data-sharing agreements, checked as each alert is decided
        self.held = held
        self.consents = consents  # the person's consent on each claiming case

    async def process(self, subs: Sequence[AlertSubmission]) -> list[AlertResult]:
        """Decide and record every alert; results in the order given."""
        if not subs:
            return []
        now = self.clock.now()
        # Real time, not the business clock (which may jump): orders alerts against the last
        # change applied to their tenancy, with each Kafka alert's own time.
        received_at = datetime.now(UTC)
        by_tenancy: dict[str, list[AlertSubmission]] = defaultdict(list)
        for sub in subs:
            by_tenancy[sub.tenancy_id].append(sub)
        results: dict[int, AlertResult] = {}
        waiting = list(by_tenancy)
        # The batch's first three reads side by side (each is a round trip of its own): the
        # organisations' rules, each landlord's agreements (checked at the moment of deciding)
        # and the tenancies.
        orgs = list(dict.fromkeys(s.landlord for s in subs))
        rules, first_load, *snapshots = await asyncio.gather(
            self.store.rules_for(orgs),
            self.store.load(waiting),
            *(self.book.snapshot(org) for org in orgs),
        )
        agreements = dict(zip(orgs, snapshots, strict=True))
        for attempt in range(MAX_ATTEMPTS):
            loaded = first_load if attempt == 0 else await self.store.load(waiting)
            # The consent on every other organisation's case naming these tenancies: one read
            # for the whole batch (issue 16; no consent recorded: the agreements decide).
            consents = await self.consents.of_cases(
                c for state in loaded.values() for c in claiming_cases(state.model)
            )
            plans: list[TenancyPlan] = [
                plan_tenancy(
                    loaded[tid].model if tid in loaded else TenancyState(tenancy_id=tid),
                    by_tenancy[tid],
                    rules[by_tenancy[tid][0].landlord],
                    now,
                    agreements[by_tenancy[tid][0].landlord],
                    consents,
                    received_at,
                )
                for tid in waiting
            ]
            uow = UnitOfWork(self.relay)
            self.store.stage(uow, plans, loaded, now)
            for plan in plans:
                for flow in plan.held:
                    if flow.kind is FlowKind.PREVENTION_REFERRAL:
                        self.held.hold(uow, flow, now)
                    else:  # a claim released earlier is held again once its agreement ends
                        self.held.hold_again(uow, flow, now)
            committed = await uow.commit()
            again = (committed.conflicts | committed.existing) & set(waiting)
            for plan in plans:
                if plan.tenancy_id not in again:
                    for sub, result in zip(by_tenancy[plan.tenancy_id], plan.results, strict=True):
                        results[id(sub)] = result
            if not again:
                break
            log.info("arrears.write_conflicts", tenancies=len(again))
            waiting = [tid for tid in waiting if tid in again]
        else:
            raise ConflictPersisted(f"tenancy_id: {waiting[0]} kept changing; try again")
        answers = [results[id(sub)] for sub in subs]
        stale = sum(1 for r in answers if r.reason == STALE)
        if stale:  # an operator replaying a topic, or a sender's clock behind: visible, once
            log.info("arrears.stale_alerts", count=stale, of=len(answers))
        return answers
