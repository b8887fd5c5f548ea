"""A year (or N months) of generated platform history, for the demo's dashboard and report and
for the outcomes benchmarks (issue 18). Pure and seeded: the same plans, end, months and seed
give the same envelopes, ids included.

Every event is a real `Envelope` of a catalogue type the outcomes service consumes, dated when
it happened: referrals received and assessed (support needs, route), allocations to a team and
caseworker, contacts, plans, stage changes, reviews due and completed, escalations on a
landlord's at-risk signal, closures with their reason and tenancy outcome, reconnection phases,
packs, three-month follow-ups and learning themes, the landlord's arrears readings and tenancy
ends, and caseworkers' capacity. Ids are pseudonymous (`ref-…`, `p-…`, `cw-…`, tenancy ids of
the real shape); nothing carries a name, contact detail or free text.

The shapes, so the charts have something to show:
- referrals arrive on weekdays at a seasonal rate, highest in January (+30 %), lowest in July;
- most support starts in Stage 1, which lasts 8-12 weeks (its review at week 12 is often held
  early, sometimes late); most cases move on within 12 months, through Stage 2 or 3;
- most tenancies are sustained; some end in eviction or abandonment, a few end later by a
  planned move, and some people are referred again (repeat presentations);
- arrears fall during support on average and keep falling after it when the tenancy holds;
- allocation waits grow when the team is near its caseload (winter);
- about three in four reconnections still hold at the three-month follow-up.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from shared.codes import (
    ClosureReason,
    LearningTheme,
    LegalStage,
    RiskLevel,
    Route,
    Stage,
    SupportNeed,
    TenancyEndReason,
    TenancyOutcome,
)
from shared.dates import add_months
from shared.events.base import EventData
from shared.events.case_events import (
    CaseAllocated,
    CaseClosed,
    CaseEscalated,
    CaseReallocated,
    CaseworkerCapacityChanged,
    ContactLogged,
    ReviewCompleted,
    ReviewDue,
    StageChanged,
    SupportPlanAgreed,
)
from shared.events.envelope import Envelope, make_event
from shared.events.reconnection_events import (
    LearningPointsRecorded,
    PresentationPackDue,
    ReconnectionFollowedUp,
    ReconnectionPhaseChanged,
)
from shared.events.referral_events import (
    ReferralAssessed,
    ReferralReceived,
    Referrer,
    TenancyArrearsReported,
    TenancyAtRisk,
    TenancyEnded,
)
from shared.ids import stable_id

T = TypeVar("T")

SOURCE = "urn:hearth:generated-history"  # every generated event says it was generated
CASELOAD = 14  # cases a full-time caseworker carries before new ones wait longer
STAGE_HOURS = {Stage.STAGE_1: 3.0, Stage.STAGE_2: 2.0, Stage.STAGE_3: 1.0}
DESTINATIONS = (
    "Birmingham",
    "Bristol",
    "Cardiff",
    "Glasgow",
    "Leicester",
    "Liverpool",
    "Manchester",
    "Newcastle",
    "Nottingham",
    "Sheffield",
)
# Weighted choices: (value, weight).
ROUTES = ((Route.SUPPORT, 78), (Route.RECONNECTION, 12), (Route.SPECIALIST, 5), (Route.DECLINED, 5))
ENTRY_STAGES = ((Stage.STAGE_1, 75), (Stage.STAGE_2, 18), (Stage.STAGE_3, 7))
NEEDS = (
    (SupportNeed.BUDGETING_DEBT, 40),
    (SupportNeed.BENEFITS, 30),
    (SupportNeed.MENTAL_HEALTH, 30),
    (SupportNeed.PHYSICAL_HEALTH, 12),
    (SupportNeed.ALCOHOL_DEPENDENCY, 10),
    (SupportNeed.DRUG_DEPENDENCY, 10),
    (SupportNeed.DOMESTIC_ABUSE, 8),
    (SupportNeed.OFFENDING, 6),
    (SupportNeed.YOUNG_PERSON_18_25, 8),
    (SupportNeed.CARE_LEAVER_18_20, 3),
    (SupportNeed.LEARNING_DISABILITY, 4),
    (SupportNeed.OLD_AGE, 5),
    (SupportNeed.EDUCATION_EMPLOYMENT_TRAINING, 6),
)
SOURCES = (("housing_officer", 35), ("self", 15), ("gp", 10), ("probation", 8), ("outreach", 12))
CHANNELS = {
    Stage.STAGE_1: (("home_visit", 55), ("phone", 30), ("office", 10), ("video", 5)),
    Stage.STAGE_2: (("home_visit", 35), ("phone", 40), ("text", 15), ("office", 10)),
    Stage.STAGE_3: (("drop_in", 45), ("phone", 35), ("text", 20)),
}
# Days between contacts, and their minutes, per stage.
CONTACT_GAP = {Stage.STAGE_1: (3, 8), Stage.STAGE_2: (7, 16), Stage.STAGE_3: (18, 35)}
CONTACT_MINUTES = {Stage.STAGE_1: (30, 90), Stage.STAGE_2: (20, 60), Stage.STAGE_3: (15, 45)}
DOMAINS = {
    SupportNeed.BUDGETING_DEBT: "budgeting_and_arrears",
    SupportNeed.BENEFITS: "income_and_benefits",
    SupportNeed.MENTAL_HEALTH: "mental_health",
    SupportNeed.PHYSICAL_HEALTH: "physical_health",
    SupportNeed.ALCOHOL_DEPENDENCY: "substance_misuse",
    SupportNeed.DRUG_DEPENDENCY: "substance_misuse",
    SupportNeed.DOMESTIC_ABUSE: "safety",
    SupportNeed.OFFENDING: "offending",
    SupportNeed.EDUCATION_EMPLOYMENT_TRAINING: "employment_and_training",
}
# How a support case ends (a tenancy case; without a tenancy the outcome is not applicable).
FATES = (
    ("sustained", 72),
    ("moved_on", 8),
    ("evicted", 6),
    ("abandoned", 3),
    ("disengaged", 8),
    ("custody", 1),
    ("hospital", 2),
)
ESCALATED_FATES = (("sustained", 55), ("evicted", 25), ("abandoned", 8), ("disengaged", 12))
CLOSURE = {
    "sustained": (ClosureReason.TENANCY_SUSTAINED, TenancyOutcome.SUSTAINED),
    "moved_on": (ClosureReason.MOVED_ON, TenancyOutcome.MOVED_ON_PLANNED),
    "evicted": (ClosureReason.EVICTED, TenancyOutcome.EVICTED),
    "abandoned": (ClosureReason.ABANDONED, TenancyOutcome.ABANDONED),
    "disengaged": (ClosureReason.DISENGAGED, TenancyOutcome.UNKNOWN),
    "custody": (ClosureReason.CUSTODY, TenancyOutcome.UNKNOWN),
    "hospital": (ClosureReason.HOSPITAL, TenancyOutcome.UNKNOWN),
}
EARLY_FATES = frozenset({"evicted", "abandoned", "disengaged", "custody", "hospital"})
# Chance a person is referred again after a case that ended this way.
REPEAT_CHANCE = {"evicted": 0.4, "abandoned": 0.4, "disengaged": 0.3, "sustained": 0.04}
THEMES = tuple(LearningTheme)


@dataclass(frozen=True)
class Team:
    team_id: str
    route: Route  # support or reconnection
    caseworkers: tuple[str, ...]
    team_leader_id: str


@dataclass(frozen=True)
class OrganisationPlan:
    """One organisation's generated history: its referral rate, teams and landlord."""

    organisation: str
    referrals_per_month: float = 40.0
    landlord: str | None = None  # whose tenancies; default the organisation itself
    teams: tuple[Team, ...] = ()  # default: a support and a reconnection team of its size
    destination_areas: tuple[str, ...] = DESTINATIONS

    @property
    def tenancy_landlord(self) -> str:
        return self.landlord or self.organisation

    def all_teams(self) -> tuple[Team, ...]:
        return self.teams or default_teams(self.organisation, self.referrals_per_month)


def default_teams(organisation: str, referrals_per_month: float) -> tuple[Team, ...]:
    """A support team sized so it runs near its caseload in winter, and an outreach team."""
    support = max(3, round(referrals_per_month * 0.32))
    outreach = max(2, round(referrals_per_month * 0.06))

    def workers(team: str, n: int) -> tuple[str, ...]:
        return tuple(f"cw-{stable_id(organisation, team, str(i))[:10]}" for i in range(n))

    return (
        Team(
            f"{organisation}-support",
            Route.SUPPORT,
            workers("support", support),
            f"tl-{stable_id(organisation, 'support')[:10]}",
        ),
        Team(
            f"{organisation}-outreach",
            Route.RECONNECTION,
            workers("outreach", outreach),
            f"tl-{stable_id(organisation, 'outreach')[:10]}",
        ),
    )


def generate(
    plans: Sequence[OrganisationPlan], *, end: date, months: int = 12, seed: int = 1
) -> list[Envelope]:
    """Every event of `months` months before `end` (exclusive), in time order. Cases still
    open at `end` stop there, as they would on a live platform."""
    if months < 1:
        raise ValueError("months: at least 1")
    envelopes: list[Envelope] = []
    for plan in plans:
        envelopes += _Organisation(plan, end, months, seed).run()
    envelopes.sort(key=lambda e: (e.time, e.id))
    return envelopes


def seasonal_factor(day: date) -> float:
    """Referral demand relative to the year's mean: +30 % in mid-January, -30 % in mid-July."""
    return 1.0 + 0.3 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)


# --- one organisation ------------------------------------------------------------------------


@dataclass
class _Worker:
    caseworker_id: str
    team_id: str
    hours: float
    joined: date
    left: date | None = None
    closing: list[date] = field(default_factory=list)  # heap of open cases' closure days

    def active_on(self, day: date) -> bool:
        return self.joined <= day and (self.left is None or day < self.left)

    def load_on(self, day: date) -> int:
        while self.closing and self.closing[0] <= day:
            heapq.heappop(self.closing)
        return len(self.closing)


@dataclass
class _Case:
    case_id: str
    person_id: str
    received: datetime
    repeat: bool
    needs: list[SupportNeed]
    route: Route = Route.SUPPORT
    tenancy_id: str | None = None
    correlation: str = ""


class _Organisation:
    def __init__(self, plan: OrganisationPlan, end: date, months: int, seed: int) -> None:
        self.plan = plan
        self.org = plan.organisation
        self.landlord = plan.tenancy_landlord
        self.end = end
        self.start = add_months(end, -months)
        self.seed = str(seed)
        # One stream per organisation: adding an organisation never changes another's history.
        self.rng = random.Random(f"hearth-history:{seed}:{plan.organisation}")
        self.out: list[Envelope] = []
        self.workers: dict[str, list[_Worker]] = {}
        self.serial = 0
        teams = plan.all_teams()
        # A route without a team of its own goes to the first team.
        self.teams = {
            route: next((t for t in teams if t.route is route), teams[0]) for route in Route
        }

    # --- plumbing --------------------------------------------------------------------------

    def emit(
        self,
        data: EventData,
        at: datetime,
        key: str,
        *,
        organisation: str | None = None,
        correlation: str | None = None,
    ) -> str:
        """One envelope dated `at` (dropped when at or after the end); returns its id."""
        event_id = stable_id("history", self.seed, self.org, key)
        if self.start <= at.date() < self.end:
            self.out.append(
                make_event(
                    data,
                    source=SOURCE,
                    organisation=organisation or self.org,
                    correlation_id=correlation or event_id,
                    event_id=event_id,
                    time=at,
                )
            )
        return event_id

    def at(self, day: date, earliest: int = 9, latest: int = 17) -> datetime:
        """A moment in working hours on `day`."""
        minutes = self.rng.randrange(earliest * 60, latest * 60)
        return datetime.combine(day, time(minutes // 60, minutes % 60), UTC)

    def pick(self, weighted: Sequence[tuple[T, int]]) -> T:
        values = [v for v, _ in weighted]
        return self.rng.choices(values, weights=[w for _, w in weighted])[0]

    def days(self, low: float, high: float) -> timedelta:
        return timedelta(days=self.rng.uniform(low, high))

    def next_id(self, kind: str) -> str:
        self.serial += 1
        return stable_id(kind, self.seed, self.org, str(self.serial))

    # --- the year --------------------------------------------------------------------------

    def run(self) -> list[Envelope]:
        self.staff()
        arrivals: list[tuple[datetime, int, str | None]] = []
        day = self.start
        while day < self.end:
            rate = self.plan.referrals_per_month * 12 / 365.25 * seasonal_factor(day)
            rate *= 1.3 if day.weekday() < 5 else 0.25  # mostly on weekdays
            for _ in range(_poisson(self.rng, rate)):
                heapq.heappush(arrivals, (self.at(day, 8, 18), len(arrivals), None))
            day += timedelta(days=1)
        serial = 0
        while arrivals:
            received, _, person = heapq.heappop(arrivals)
            serial += 1
            again = self.case(received, person)
            if again is not None and again[0].date() < self.end:
                heapq.heappush(arrivals, (again[0], 10**9 + serial, again[1]))
        return self.out

    def staff(self) -> None:
        """Each team's caseworkers from the start; one leaves in month 5 and is replaced a
        month later; one cuts their hours in month 8 (capacity over time)."""
        for route in (Route.SUPPORT, Route.RECONNECTION):
            team = self.teams[route]
            if team.team_id in self.workers:
                continue
            workers = []
            for n, worker_id in enumerate(team.caseworkers):
                hours = self.rng.choice((37.0, 37.0, 30.0, 22.5))
                worker = _Worker(worker_id, team.team_id, hours, self.start)
                workers.append(worker)
                self.capacity(worker, self.start, hours, True, f"{n}")
            if len(workers) >= 3:
                leaver = workers[1]
                leaver.left = add_months(self.start, 5)
                self.capacity(leaver, leaver.left, 0.0, False, "left")
                joiner_id = f"cw-{stable_id(self.org, team.team_id, 'joiner')[:10]}"
                joiner = _Worker(joiner_id, team.team_id, 37.0, add_months(self.start, 6))
                workers.append(joiner)
                self.capacity(joiner, joiner.joined, joiner.hours, True, "joined")
                reduced = workers[2]
                reduced.hours = 22.5
                self.capacity(reduced, add_months(self.start, 8), 22.5, True, "hours")
            self.workers[team.team_id] = workers

    def capacity(self, worker: _Worker, day: date, hours: float, active: bool, key: str) -> None:
        at = datetime.combine(day, time(8, 0), UTC)
        data = CaseworkerCapacityChanged(
            caseworker_id=worker.caseworker_id,
            team_id=worker.team_id,
            hours_per_week=hours,
            active=active,
            changed_at=at,
        )
        self.emit(data, at, f"capacity:{worker.caseworker_id}:{key}")

    # --- a case ----------------------------------------------------------------------------

    def case(self, received: datetime, person: str | None) -> tuple[datetime, str] | None:
        """One referral's whole life; returns (when, person) of a repeat referral, if any."""
        case_id = f"ref-{self.next_id('case')}"
        repeat = person is not None
        person_id = person or f"p-{self.next_id('person')}"
        needs = self.needs(repeat)
        case = _Case(case_id, person_id, received, repeat, needs)
        case.route = self.pick(ROUTES)
        if repeat and case.route in (Route.SPECIALIST, Route.DECLINED):
            case.route = Route.SUPPORT
        automatic = False
        if case.route is Route.SUPPORT and self.rng.random() < 0.8:
            case.tenancy_id = f"{self.landlord}:t-{self.next_id('tenancy')[:24]}"
            automatic = self.rng.random() < 0.35
        balance = round(self.rng.lognormvariate(math.log(900), 0.6), 2)
        referrer = Referrer(organisation=self.org, source=self.pick(SOURCES))
        if automatic:  # the landlord's arrears alert raised the referral
            self.at_risk(case, received - timedelta(hours=2), balance, RiskLevel.HIGH, "raised")
        case.correlation = self.emit(
            ReferralReceived(
                case_id=case_id,
                person_id=person_id,
                referrer=referrer,
                received_at=received,
                support_needs=needs,
                tenancy_id=case.tenancy_id,
                automatic=automatic,
            ),
            received,
            f"{case_id}:received",
        )
        if case.tenancy_id:
            self.reading(case, received.date(), balance, "referral")
        assessed = received + timedelta(hours=self.rng.uniform(1, 60))
        entry = self.pick(ENTRY_STAGES) if case.route is Route.SUPPORT else Stage.STAGE_1
        self.emit(
            ReferralAssessed(
                case_id=case_id,
                person_id=person_id,
                route=case.route,
                reasons=[f"route_{case.route.value}"],
                referrer=referrer,
                received_at=received,
                support_needs=needs,
                legal_stage=LegalStage.NOTICE_SERVED if automatic else LegalStage.NONE,
                risk_level=RiskLevel.HIGH if automatic else RiskLevel.MEDIUM,
                repeat_cycle=repeat,
                tenancy_id=case.tenancy_id,
                referring_area=self.org if case.route is Route.RECONNECTION else None,
                entry_stage=entry,
            ),
            assessed,
            f"{case_id}:assessed",
            correlation=case.correlation,
        )
        if case.route is Route.SUPPORT:
            return self.support(case, assessed, entry, balance)
        if case.route is Route.RECONNECTION:
            self.reconnection(case, assessed)
        return None

    def needs(self, repeat: bool) -> list[SupportNeed]:
        chosen = {self.pick(NEEDS) for _ in range(self.rng.choice((1, 2, 2, 3)))}
        if repeat:
            chosen.add(SupportNeed.REPEAT_HOMELESSNESS)
        return sorted(chosen)

    def allocate(self, case: _Case, assessed: datetime, stage: Stage) -> tuple[_Worker, datetime]:
        """The least-loaded active caseworker of the route's team, after a wait that grows
        with the team's load."""
        team = self.teams[case.route]
        workers = self.workers[team.team_id]
        day = assessed.date()
        active = [w for w in workers if w.active_on(day)] or workers
        load = sum(w.load_on(day) for w in active) / (CASELOAD * len(active))
        low, high = (0.2, 4) if load < 0.8 else (3, 12) if load < 1 else (8, 30)
        wait = self.days(low, high)
        allocated = assessed + wait
        on = allocated.date()
        active = [w for w in workers if w.active_on(on)] or active
        worker = min(active, key=lambda w: (w.load_on(on), self.rng.random()))
        self.emit(
            CaseAllocated(
                case_id=case.case_id,
                person_id=case.person_id,
                route=case.route,
                lead_worker_id=worker.caseworker_id,
                team_id=team.team_id,
                team_leader_id=team.team_leader_id,
                stage=stage,
                target_hours_per_week=STAGE_HOURS[stage],
                allocated_at=allocated,
                support_needs=case.needs,
                tenancy_id=case.tenancy_id,
                referrer_organisation=self.org,
            ),
            allocated,
            f"{case.case_id}:allocated",
            correlation=case.correlation,
        )
        return worker, allocated

    def hand_over(self, case: _Case, worker: _Worker, closed_on: date) -> _Worker:
        """A case open when its caseworker leaves goes to the least-loaded colleague."""
        if worker.left is None or closed_on <= worker.left:
            heapq.heappush(worker.closing, closed_on)
            return worker
        left = worker.left
        heapq.heappush(worker.closing, left)
        team = self.teams[case.route]
        colleagues = [w for w in self.workers[worker.team_id] if w.active_on(left)]
        successor = min(colleagues, key=lambda w: (w.load_on(left), w.caseworker_id))
        heapq.heappush(successor.closing, closed_on)
        self.emit(
            CaseReallocated(
                case_id=case.case_id,
                previous_worker_id=worker.caseworker_id,
                lead_worker_id=successor.caseworker_id,
                team_leader_id=team.team_leader_id,
                reason="change_of_worker",
            ),
            self.at(left),
            f"{case.case_id}:reallocated",
            correlation=case.correlation,
        )
        return successor

    # --- support ---------------------------------------------------------------------------

    def support(
        self, case: _Case, assessed: datetime, entry: Stage, balance: float
    ) -> tuple[datetime, str] | None:
        worker, allocated = self.allocate(case, assessed, entry)
        started = allocated.date()
        escalated = case.tenancy_id is not None and self.rng.random() < 0.12
        fate = self.pick(ESCALATED_FATES if escalated else FATES)
        if case.tenancy_id is None and fate in ("evicted", "abandoned"):
            fate = "disengaged"
        first_contact = started + timedelta(days=self.pick(((0, 2), (1, 4), (3, 3), (6, 2))))
        first_contact += timedelta(days=self.rng.randrange(0, 4))
        plan_on = first_contact + timedelta(days=self.rng.randrange(3, 22))
        # A case that ends badly ends between reviews, some time after its plan was agreed.
        early_exit = plan_on + self.days(7, 220) if fate in EARLY_FATES else None

        stages, closed_on, reviews = self.stages(case, entry, started, plan_on, early_exit)
        worker = self.hand_over(case, worker, closed_on)
        self.plan_agreed(case, entry, plan_on, reviews)
        self.contacts(case, stages, first_contact, closed_on, fate)
        for stage, on, previous in stages[1:]:
            self.emit(
                StageChanged(
                    case_id=case.case_id,
                    previous_stage=previous or entry,
                    stage=stage,
                    target_hours_per_week=STAGE_HOURS[stage],
                    changed_on=on,
                ),
                self.at(on, 14, 17),
                f"{case.case_id}:stage:{on}",
                correlation=case.correlation,
            )
        if escalated:
            latest = max(started + timedelta(days=15), closed_on - timedelta(days=5))
            on = started + timedelta(days=self.rng.randrange(14, (latest - started).days + 1))
            self.escalate(case, worker, min(on, closed_on), balance)
        reason, outcome = CLOSURE[fate]
        if case.tenancy_id is None and fate != "moved_on":  # no tenancy to sustain or lose
            reason = ClosureReason.PLAN_ACHIEVED if fate == "sustained" else reason
            outcome = TenancyOutcome.NOT_APPLICABLE
        closed_at = self.at(closed_on, 15, 18)
        self.emit(
            CaseClosed(
                case_id=case.case_id,
                person_id=case.person_id,
                route=Route.SUPPORT,
                reason=reason,
                tenancy_outcome=outcome,
                closed_at=closed_at,
                lead_worker_id=worker.caseworker_id,
                tenancy_id=case.tenancy_id,
            ),
            closed_at,
            f"{case.case_id}:closed",
            correlation=case.correlation,
        )
        if case.tenancy_id:
            self.tenancy_after(case, fate, started, closed_on, balance)
        chance = REPEAT_CHANCE.get(fate, 0.1)
        if self.rng.random() < chance:
            return closed_at + self.days(20, 330), case.person_id
        return None

    def stages(
        self,
        case: _Case,
        entry: Stage,
        started: date,
        plan_on: date,
        early_exit: date | None,
    ) -> tuple[list[tuple[Stage, date, Stage | None]], date, list[date]]:
        """Walk the stages review by review until the case closes (or leaves early); emits
        the reviews, returns the stages entered (stage, on, previous), the closure day and
        the reviews' due days."""
        stage, since = entry, started
        entered: list[tuple[Stage, date, Stage | None]] = [(entry, started, None)]
        dues: list[date] = []
        stage_3_reviews = 0
        for n in range(12):
            if stage is Stage.STAGE_1:
                point, due = "stage_1_week_12", since + timedelta(weeks=12)
            elif stage is Stage.STAGE_2:
                after = max([since, *dues])  # the next review after the last one held
                months = next((m for m in (6, 12, 15, 18) if add_months(started, m) > after), 24)
                point, due = f"stage_2_month_{months}", add_months(started, months)
                point = point if months < 24 else "support_limit"
            else:
                stage_3_reviews += 1
                months = 6 * stage_3_reviews
                point, due = f"stage_3_month_{months}", add_months(since, months)
            early = self.rng.random() < 0.8
            done = due - timedelta(days=self.rng.randrange(0, 29 if stage is Stage.STAGE_1 else 15))
            if not early:
                done = due + timedelta(days=self.rng.randrange(1, 22))
            done = max(done, since + timedelta(days=21), plan_on + timedelta(days=1))
            if early_exit is not None and early_exit < done:
                return entered, max(early_exit, since + timedelta(days=1)), dues
            decision, next_stage = self.decide(stage, n, point)
            self.review(case, n, point, stage, due, done, decision)
            dues.append(due)
            if decision == "close":
                return entered, done, dues
            if next_stage is not stage:
                entered.append((next_stage, done, stage))
                stage, since = next_stage, done
        return entered, done, dues

    def decide(self, stage: Stage, n: int, point: str) -> tuple[str, Stage]:
        """A review's decision: most move on from Stage 2 by month 12 (the staged model's
        "move on within 12 months"); some step down to Stage 3 first."""
        roll = self.rng.random()
        if point == "support_limit":
            return "close", stage
        if stage is Stage.STAGE_1:
            return ("close", stage) if roll < 0.3 else ("step_down", Stage.STAGE_2)
        if stage is Stage.STAGE_2:
            if point == "stage_2_month_6":
                if roll < 0.55:
                    return "close", stage
                return ("step_down", Stage.STAGE_3) if roll < 0.8 else ("continue", stage)
            if point == "stage_2_month_12":
                return ("close", stage) if roll < 0.7 else ("step_down", Stage.STAGE_3)
            return "close", stage
        return ("close", stage) if roll < 0.75 or n > 4 else ("continue", stage)

    def review(
        self, case: _Case, n: int, point: str, stage: Stage, due: date, done: date, decision: str
    ) -> None:
        review_id = f"rv-{stable_id(case.case_id, point, str(n))[:16]}"
        for notice, on in (("reminder", due - timedelta(days=7)), ("due", due)):
            if on <= done:  # still pending then: the notice went out
                self.emit(
                    ReviewDue(
                        case_id=case.case_id,
                        review_id=review_id,
                        review_point=point,
                        due_on=due,
                        notice=notice,
                        stage=stage,
                    ),
                    datetime.combine(on, time(7, 0), UTC),
                    f"{case.case_id}:review:{review_id}:{notice}",
                    correlation=case.correlation,
                )
        self.emit(
            ReviewCompleted(
                case_id=case.case_id,
                review_id=review_id,
                review_point=point,
                due_on=due,
                completed_on=done,
                decision=decision,
                stage=stage,
            ),
            self.at(done, 10, 15),
            f"{case.case_id}:review:{review_id}:completed",
            correlation=case.correlation,
        )

    def plan_agreed(self, case: _Case, stage: Stage, on: date, dues: list[date]) -> None:
        domains = sorted({DOMAINS.get(need, "maintaining_the_tenancy") for need in case.needs})
        if case.tenancy_id and "maintaining_the_tenancy" not in domains:
            domains.append("maintaining_the_tenancy")
        self.emit(
            SupportPlanAgreed(
                case_id=case.case_id,
                plan_id=f"plan-{stable_id(case.case_id, 'plan')[:16]}",
                stage=stage,
                goal_domains=domains,
                agreed_on=on,
                next_review_on=dues[0] if dues else None,
            ),
            self.at(on),
            f"{case.case_id}:plan",
            correlation=case.correlation,
        )

    def contacts(
        self,
        case: _Case,
        stages: list[tuple[Stage, date, Stage | None]],
        first: date,
        closed_on: date,
        fate: str,
    ) -> None:
        on, n = first, 0
        while on <= closed_on and on < self.end:
            stage = next(s for s, since, _ in reversed(stages) if since <= on)
            low, high = CONTACT_GAP[stage]
            if not (fate == "disengaged" and n > 3 and self.rng.random() < 0.5):
                minutes = CONTACT_MINUTES[stage]
                self.emit(
                    ContactLogged(
                        case_id=case.case_id,
                        contact_id=f"ct-{stable_id(case.case_id, str(n))[:16]}",
                        contact_on=on,
                        channel=self.pick(CHANNELS[stage]),
                        duration_minutes=5 * (self.rng.randrange(*minutes) // 5),
                        first=n == 0,
                    ),
                    self.at(on),
                    f"{case.case_id}:contact:{n}",
                    correlation=case.correlation,
                )
                n += 1
            on += timedelta(days=self.rng.randrange(low, high + 1))

    def escalate(self, case: _Case, worker: _Worker, on: date, balance: float) -> None:
        critical = self.rng.random() < 0.5
        level = RiskLevel.CRITICAL if critical else RiskLevel.HIGH
        at = self.at(on, 8, 12)
        self.at_risk(case, at, round(balance * self.rng.uniform(1.1, 1.5), 2), level, "escalated")
        self.emit(
            CaseEscalated(
                case_id=case.case_id,
                risk_level=level,
                reasons=["arrears_rising", "legal_action"],
                crisis_worker_id=worker.caseworker_id,
                tenancy_id=case.tenancy_id,
            ),
            at + timedelta(hours=1),
            f"{case.case_id}:escalated",
            correlation=case.correlation,
        )

    # --- the landlord's feed -----------------------------------------------------------------

    def at_risk(
        self, case: _Case, at: datetime, balance: float, level: RiskLevel, key: str
    ) -> None:
        raised = key == "raised"
        legal = LegalStage.NOTICE_SERVED if raised else LegalStage.COURT_DATE_SET
        self.emit(
            TenancyAtRisk(
                tenancy_id=str(case.tenancy_id),
                landlord=self.landlord,
                alert_id=f"al-{stable_id(case.case_id, key)[:16]}",
                risk_level=level,
                reasons=["arrears_over_8_weeks" if raised else "legal_stage_advanced"],
                arrears_balance=balance,
                weekly_rent=110.0,
                weeks_in_arrears=round(balance / 110.0, 1),
                legal_stage=legal,
                case_id=None if raised else case.case_id,
                prevention_case_id=case.case_id if raised else None,
            ),
            at,
            f"{case.case_id}:at-risk:{key}",
            organisation=self.landlord,
        )

    def reading(self, case: _Case, on: date, balance: float, key: str) -> None:
        self.emit(
            TenancyArrearsReported(
                tenancy_id=str(case.tenancy_id),
                landlord=self.landlord,
                alert_id=f"al-{stable_id(case.case_id, 'reading', key)[:16]}",
                reported_on=on,
                arrears_balance=max(0.0, round(balance, 2)),
                weekly_rent=110.0,
                case_ids=[case.case_id],
            ),
            datetime.combine(on, time(6, 0), UTC),
            f"{case.case_id}:reading:{key}",
            organisation=self.landlord,
        )

    def tenancy_after(
        self, case: _Case, fate: str, started: date, closed_on: date, balance: float
    ) -> None:
        """Monthly readings during support, falling on average when support works; one at
        closure, at 3 and 6 months after; the tenancy's end, if it ends."""
        if fate in ("sustained", "moved_on"):
            at_close = balance * self.rng.uniform(0.05, 0.6)
        elif fate in ("evicted", "abandoned"):
            at_close = balance * self.rng.uniform(1.2, 1.8)
        else:
            at_close = balance * self.rng.uniform(0.8, 1.3)
        span = max(1, (closed_on - started).days)
        on, month = started + timedelta(days=30), 1
        while on < closed_on:
            share = (on - started).days / span
            wobble = self.rng.uniform(0.9, 1.1)
            self.reading(case, on, (balance + (at_close - balance) * share) * wobble, f"m{month}")
            on, month = on + timedelta(days=30), month + 1
        self.reading(case, closed_on, at_close, "closure")
        ended = self.tenancy_end(fate, closed_on)
        if ended is not None:
            reason, on = ended
            self.emit(
                TenancyEnded(
                    tenancy_id=str(case.tenancy_id),
                    landlord=self.landlord,
                    alert_id=f"al-{stable_id(case.case_id, 'ended')[:16]}",
                    ended_on=on,
                    reason=reason,
                    case_ids=[case.case_id],
                ),
                datetime.combine(on, time(6, 30), UTC),
                f"{case.case_id}:tenancy-ended",
                organisation=self.landlord,
            )
        later = at_close
        for months in (3, 6):
            on = add_months(closed_on, months)
            if ended is not None and ended[1] <= on:
                break
            low, high = (0.4, 1.05) if fate == "sustained" else (0.9, 1.4)
            later *= self.rng.uniform(low, high)
            self.reading(case, on, later, f"after{months}")
        if fate == "sustained" and ended is None and self.rng.random() < 0.05:
            on = closed_on + self.days(30, 300)  # a new signal at the highest level
            self.at_risk(case, self.at(on), round(later * 3 + 400, 2), RiskLevel.CRITICAL, "again")

    def tenancy_end(self, fate: str, closed_on: date) -> tuple[TenancyEndReason, date] | None:
        if fate == "evicted":  # possession carried out after the case closed
            return TenancyEndReason.EVICTION, closed_on + self.days(0, 15)
        if fate == "abandoned":  # found abandoned: the case closes once it is known
            return TenancyEndReason.ABANDONMENT, closed_on - self.days(0, 10)
        if fate == "moved_on":
            return TenancyEndReason.MOVED_ON, closed_on + self.days(0, 20)
        if fate == "sustained":
            roll = self.rng.random()
            later = closed_on + self.days(30, 360)
            if roll < 0.03:
                return TenancyEndReason.TRANSFER, later
            if roll < 0.05:
                return TenancyEndReason.SURRENDER, later
            if roll < 0.055:
                return TenancyEndReason.DECEASED, later
        return None

    # --- reconnection ----------------------------------------------------------------------

    def reconnection(self, case: _Case, assessed: datetime) -> None:
        """Safe Connections: identify, allocate, engage, plan, reconnect, support, step down,
        close; the three-month follow-up; learning points with their themes."""
        destination = self.rng.choice(self.plan.destination_areas)
        phase_at = {"identify": assessed + timedelta(minutes=5)}
        worker, allocated = self.allocate(case, assessed, Stage.STAGE_1)
        phase_at["allocate"] = allocated + timedelta(minutes=5)
        phase_at["engage"] = allocated + self.days(1, 7)
        planning = phase_at["engage"] + self.days(5, 20)
        phase_at["reconnection_planning"] = planning
        reconnects = self.rng.random() < 0.8
        if reconnects:
            reconnect_day = (planning + self.days(5, 15)).date()
            phase_at["reconnection"] = self.at(reconnect_day, 9, 11)
            phase_at["intensive_support"] = phase_at["reconnection"] + self.days(3, 4)
            phase_at["step_down"] = phase_at["intensive_support"] + self.days(14, 60)
            phase_at["case_closure_and_review"] = phase_at["step_down"] + self.days(7, 30)
            closed_at = phase_at["case_closure_and_review"] + self.days(1, 7)
            reason = ClosureReason.RECONNECTED
        else:
            closed_at = planning + self.days(3, 30)
            reason = self.rng.choice((ClosureReason.DISENGAGED, ClosureReason.DECLINED_SUPPORT))
        worker = self.hand_over(case, worker, closed_at.date())
        previous = None
        for phase, at in phase_at.items():
            known = destination if phase not in ("identify", "allocate", "engage") else None
            self.emit(
                ReconnectionPhaseChanged(
                    case_id=case.case_id,
                    previous_phase=previous,
                    phase=phase,
                    changed_on=at.date(),
                    destination_area=known,
                ),
                at,
                f"{case.case_id}:phase:{phase}",
                correlation=case.correlation,
            )
            previous = phase
        for n, gap in enumerate((1, 4, 9, 15)):
            on = phase_at["engage"].date() + timedelta(days=gap)
            if on < closed_at.date():
                self.emit(
                    ContactLogged(
                        case_id=case.case_id,
                        contact_id=f"ct-{stable_id(case.case_id, str(n))[:16]}",
                        contact_on=on,
                        channel="outreach",
                        duration_minutes=5 * self.rng.randrange(4, 13),
                        first=n == 0,
                    ),
                    self.at(on, 7, 11),
                    f"{case.case_id}:contact:{n}",
                    correlation=case.correlation,
                )
        if reconnects:
            day = phase_at["reconnection"].date()
            self.emit(
                PresentationPackDue(
                    case_id=case.case_id,
                    destination_area=destination,
                    reconnection_date=day,
                    deliver_by=datetime.combine(day, time(0, 0), UTC),
                ),
                datetime.combine(day - timedelta(days=1), time(9, 0), UTC),
                f"{case.case_id}:pack",
                correlation=case.correlation,
            )
        self.emit(
            CaseClosed(
                case_id=case.case_id,
                person_id=case.person_id,
                route=Route.RECONNECTION,
                reason=reason,
                tenancy_outcome=TenancyOutcome.NOT_APPLICABLE,
                closed_at=closed_at,
                lead_worker_id=worker.caseworker_id,
            ),
            closed_at,
            f"{case.case_id}:closed",
            correlation=case.correlation,
        )
        if reconnects or self.rng.random() < 0.5:
            themes = sorted(set(self.rng.sample(THEMES, self.rng.choice((1, 2, 2, 3)))))
            self.emit(
                LearningPointsRecorded(
                    entry_id=f"lp-{stable_id(case.case_id, 'learning')[:16]}",
                    case_id=case.case_id,
                    recorded_on=closed_at.date(),
                    points=len(themes) + self.rng.randrange(0, 2),
                    themes=themes,
                ),
                closed_at + timedelta(minutes=30),
                f"{case.case_id}:learning",
                correlation=case.correlation,
            )
        if reconnects:
            reconnected = phase_at["reconnection"].date()
            followed = add_months(reconnected, 3) + timedelta(days=self.rng.randrange(0, 10))
            held = self.rng.random() < 0.74
            returned = not held and self.rng.random() < 0.5
            self.emit(
                ReconnectionFollowedUp(
                    case_id=case.case_id,
                    destination_area=destination,
                    reconnected_on=reconnected,
                    followed_up_on=followed,
                    still_in_accommodation=held,
                    engaged=held and self.rng.random() < 0.9,
                    returned_to_rough_sleeping=returned,
                ),
                self.at(followed),
                f"{case.case_id}:followed-up",
                correlation=case.correlation,
            )


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small daily means here."""
    if mean <= 0:
        return 0
    if mean > 30:  # a benchmark's large rate: the normal approximation
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k
