"""Everything done to a support case, in one object the event handlers and the HTTP routes
share. Each job lives in its own module under `actions/` and is given what it uses (the
store, which stages changes on a unit of work, the clock, the review timers); the rules they
apply are pure modules beside this one."""

from __future__ import annotations

from datetime import date

from services.support.actions.closing import Closing
from services.support.actions.contacts import ContactLog
from services.support.actions.escalate import Escalations
from services.support.actions.opening import CaseOpening
from services.support.actions.planning import Planning
from services.support.actions.reviews import Reviews
from services.support.actions.timers import ReviewTimers
from services.support.case import SupportCase
from services.support.errors import found
from services.support.store import SupportStore
from shared.clock import Clock
from shared.timers import TimerStore


class Casework:
    def __init__(self, store: SupportStore, clock: Clock, timer_store: TimerStore) -> None:
        self.store = store
        self.clock = clock
        self.timers = ReviewTimers(store, clock, timer_store)
        self.opening = CaseOpening(store, self.timers, clock)
        self.escalations = Escalations(store, clock)
        self.planning = Planning(store, clock)
        self.contacts = ContactLog(store, clock)
        self.closing = Closing(store, clock, self.timers)
        self.reviews = Reviews(store, clock, self.timers, self.closing)

    async def case(self, organisation: str, case_id: str) -> SupportCase:
        """The organisation's case (404 if it has none by that id)."""
        return found(await self.store.case(case_id, organisation), case_id)

    def today(self) -> date:
        return self.clock.now().date()
