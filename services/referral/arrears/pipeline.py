"""The one pipeline every alert path shares, in bulk: per batch, one read of the organisations'
rules, one read of the tenancies' states, decisions in memory, one bulk of guarded writes, one
publish of the batch's events. A tenancy another writer changed meanwhile is decided again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from services.referral.arrears.alert import AlertSubmission
from services.referral.arrears.planning import AlertResult, TenancyPlan, plan_tenancy
from services.referral.arrears.store import ArrearsStore
from shared.clock import Clock
from shared.logging import get_logger

MAX_ATTEMPTS = 20  # a tenancy loses a race only to another write of the same tenancy

log = get_logger(__name__)


class ConflictPersisted(RuntimeError):
    """A tenancy kept changing under the pipeline; the caller retries the whole alert."""


class AlertPipeline:
    def __init__(self, store: ArrearsStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def process(self, subs: Sequence[AlertSubmission]) -> list[AlertResult]:
        """Decide and record every alert; results in the order given."""
        if not subs:
            return []
        now = self.clock.now()
        rules = await self.store.rules_for(s.landlord for s in subs)
        by_tenancy: dict[str, list[AlertSubmission]] = defaultdict(list)
        for sub in subs:
            by_tenancy[sub.tenancy_id].append(sub)
        results: dict[int, AlertResult] = {}
        waiting = list(by_tenancy)
        for _ in range(MAX_ATTEMPTS):
            states, leftovers = await self.store.load_states(waiting)
            plans: list[TenancyPlan] = [
                plan_tenancy(states[tid], by_tenancy[tid], rules[by_tenancy[tid][0].landlord], now)
                for tid in waiting
            ]
            written, conflicted = await self.store.apply_plans(plans, now)
            await self.store.flush_outbox(written, leftovers)
            conflicted_ids = {p.tenancy_id for p in conflicted}
            for plan in plans:
                if plan.tenancy_id not in conflicted_ids:
                    for sub, result in zip(by_tenancy[plan.tenancy_id], plan.results, strict=True):
                        results[id(sub)] = result
            if not conflicted:
                break
            log.info("arrears.write_conflicts", tenancies=len(conflicted))
            waiting = [p.tenancy_id for p in conflicted]
        else:
            raise ConflictPersisted(f"tenancy_id: {waiting[0]} kept changing; try again")
        return [results[id(sub)] for sub in subs]
