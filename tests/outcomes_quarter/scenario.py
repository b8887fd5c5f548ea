"""The quarter's story (see quarter.py for the builders):

Derby council, teams A (Asha, 30 h) and B (Ben, 30 h):
- jan: referred 5 Jan, allocated 7 Jan, closed 30 Jan with the tenancy sustained; arrears
  £800 at referral, £300 at closure, £100 in June. Its three-month point (30 Apr) is in the
  quarter and the tenancy held.
- c1: referred 1 Apr, allocated 3 Apr (Asha), first contact 6 Apr, plan 10 Apr, Stage 1 review
  due 26 Jun done 25 Jun, closed 30 Jun, tenancy sustained; arrears £1,200 then £400.
- c2: referred 15 Apr, allocated 22 Apr (Ben), first contact 29 Apr, escalated 5 May when a
  possession order came (£2,500), evicted 28 May, closed 30 May.
- c3: the January person again, referred 10 May (a repeat presentation), allocated 12 May
  (Asha), no contact yet.
- c4: a reconnection: referred 10 Jan, allocated 12 Jan (Ben), reconnected to Leeds on 1 Mar,
  still in accommodation and engaged on 1 Jun, closed 10 Jun; learning about the destination
  authority and accommodation.
- c5: referred 20 Jun, waiting.
Leeds council, team L (Lee, 20 h):
- l1: referred 2 Apr, allocated 9 Apr, first contact 10 Apr, Stage 2 from 20 May, closed 15
  Jun, moved on.
- l2: referred 1 May, allocated 3 May, its plan recorded as agreed on 28 Apr (a typing slip
  the H-CLIC checks must catch).
"""

from __future__ import annotations

from datetime import date

from shared.codes import ClosureReason, LearningTheme, Route, Stage, TenancyEndReason
from shared.codes import TenancyOutcome as Outcome
from tests.outcomes_quarter.quarter import DERBY, LEEDS, History


def known_quarter() -> History:
    h = History()
    h.capacity(DERBY, "asha", "team-a", date(2026, 1, 1), 30)
    h.capacity(DERBY, "ben", "team-b", date(2026, 1, 1), 30)
    h.capacity(LEEDS, "lee", "team-l", date(2026, 1, 1), 20)
    h.arrears("t-jan", date(2026, 1, 2), 800.0, ("jan",))
    h.supported_case(
        DERBY, "jan", "p-jan",
        referred=date(2026, 1, 5), allocated=date(2026, 1, 7), team="team-a", worker="asha",
        tenancy_id="t-jan", first_contact=date(2026, 1, 9), plan_agreed=date(2026, 1, 14),
        closed=(date(2026, 1, 30), ClosureReason.TENANCY_SUSTAINED, Outcome.SUSTAINED),
    )  # fmt: skip
    h.arrears("t-jan", date(2026, 1, 30), 300.0, ("jan",))
    h.arrears("t-jan", date(2026, 6, 20), 100.0, ("jan",))
    h.supported_case(
        DERBY, "c4", "p4",
        referred=date(2026, 1, 10), allocated=date(2026, 1, 12), team="team-b", worker="ben",
        route=Route.RECONNECTION, first_contact=date(2026, 1, 12),
        closed=(date(2026, 6, 10), ClosureReason.RECONNECTED, Outcome.NOT_APPLICABLE),
    )  # fmt: skip
    h.reconnection(
        DERBY, "c4", reconnected=date(2026, 3, 1), destination="leeds",
        followed_up=date(2026, 6, 1), held=True,
        themes=(LearningTheme.DESTINATION_AUTHORITY, LearningTheme.ACCOMMODATION),
    )  # fmt: skip
    h.arrears("t1", date(2026, 4, 1), 1200.0, ("c1",))
    h.supported_case(
        DERBY, "c1", "p1",
        referred=date(2026, 4, 1), allocated=date(2026, 4, 3), team="team-a", worker="asha",
        tenancy_id="t1", first_contact=date(2026, 4, 6), plan_agreed=date(2026, 4, 10),
        reviews=(("stage_1_week_12", date(2026, 6, 26), date(2026, 6, 25)),),
        closed=(date(2026, 6, 30), ClosureReason.TENANCY_SUSTAINED, Outcome.SUSTAINED),
    )  # fmt: skip
    h.arrears("t1", date(2026, 6, 29), 400.0, ("c1",))
    h.supported_case(
        DERBY, "c2", "p2",
        referred=date(2026, 4, 15), allocated=date(2026, 4, 22), team="team-b", worker="ben",
        tenancy_id="t2", first_contact=date(2026, 4, 29), escalated=date(2026, 5, 5),
        closed=(date(2026, 5, 30), ClosureReason.EVICTED, Outcome.EVICTED),
    )  # fmt: skip
    h.at_risk("t2", date(2026, 5, 4), 2500.0, "c2")
    h.ended("t2", date(2026, 5, 28), TenancyEndReason.EVICTION, ("c2",))
    h.supported_case(
        DERBY, "c3", "p-jan",
        referred=date(2026, 5, 10), allocated=date(2026, 5, 12), team="team-a", worker="asha",
    )  # fmt: skip
    h.supported_case(
        DERBY, "c5", "p5", referred=date(2026, 6, 20), allocated=None, team="", worker="",
    )  # fmt: skip
    h.supported_case(
        LEEDS, "l1", "p-l1",
        referred=date(2026, 4, 2), allocated=date(2026, 4, 9), team="team-l", worker="lee",
        first_contact=date(2026, 4, 10),
        stage_changes=((date(2026, 5, 20), Stage.STAGE_1, Stage.STAGE_2),),
        closed=(date(2026, 6, 15), ClosureReason.MOVED_ON, Outcome.MOVED_ON_PLANNED),
    )  # fmt: skip
    h.supported_case(
        LEEDS, "l2", "p-l2",
        referred=date(2026, 5, 1), allocated=date(2026, 5, 3), team="team-l", worker="lee",
        plan_agreed=date(2026, 4, 28),
    )  # fmt: skip
    return h
