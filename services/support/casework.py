"""Everything done to a support case, in one object the event handlers and the HTTP routes
share. Each job lives in its own module under `actions/`; the rules they apply are pure
modules beside this one."""

from __future__ import annotations

from datetime import date

from services.support.actions.closing import Closing
from services.support.actions.contacts import ContactLog
from services.support.actions.context import SupportContext
from services.support.actions.escalate import Escalations
from services.support.actions.opening import CaseOpening
from services.support.actions.planning import Planning
from services.support.actions.reviews import Reviews
from services.support.actions.timers import ReviewTimers
from services.support.store import SupportStore
from shared.runtime import ServiceRuntime
from shared.timers import TimerStore


class Casework:
    def __init__(self, runtime: ServiceRuntime, store: SupportStore, timers: TimerStore) -> None:
        self.ctx = SupportContext(runtime, store)
        self.store = store
        self.timers = ReviewTimers(self.ctx, timers)
        self.opening = CaseOpening(self.ctx, self.timers)
        self.escalations = Escalations(self.ctx)
        self.planning = Planning(self.ctx)
        self.contacts = ContactLog(self.ctx)
        self.closing = Closing(self.ctx, self.timers)
        self.reviews = Reviews(self.ctx, self.timers, self.closing)

    def today(self) -> date:
        return self.ctx.today()
