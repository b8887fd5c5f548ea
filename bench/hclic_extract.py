"""A quarter's H-CLIC extract for 50,000 cases, in memory: extract, validate, CSV.

    nice -n 10 .venv/bin/python -m bench.hclic_extract [--cases N] [--runs R]

Makes N synthetic case histories of one council, all active in the quarter (referred over
the year before its end, a third closed in it, a few with the mistakes validation finds),
then times `extract`, `validate` and the CSV of every section, and prints the medians over R
runs. Issue 18 wants a quarter for 50,000 cases under a minute; the database read of the
histories comes on top.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta

from bench.common import machine, median, print_table
from services.outcomes.hclic.extract import extract
from services.outcomes.hclic.fields import HCLIC_SUPPORT_NEEDS, Section
from services.outcomes.hclic.validation import validate
from services.outcomes.histories import CaseHistory, ReviewRecord
from shared.codes import ClosureReason, SupportNeed, TenancyOutcome
from shared.events.referral_intake import ReferralSource

COUNCIL = "bench-council"
QUARTER_START = date(2026, 4, 1)
QUARTER_END = date(2026, 6, 30)
KEY = "bench-hclic-case-ref-key-0123456789abcdef"
NEEDS = [n.value for n in SupportNeed]
SOURCES = [s.value for s in ReferralSource]
CLOSURES = [
    (ClosureReason.TENANCY_SUSTAINED, TenancyOutcome.SUSTAINED),
    (ClosureReason.PLAN_ACHIEVED, TenancyOutcome.MOVED_ON_PLANNED),
    (ClosureReason.EVICTED, TenancyOutcome.EVICTED),
    (ClosureReason.DISENGAGED, TenancyOutcome.UNKNOWN),
    (ClosureReason.CUSTODY, TenancyOutcome.UNKNOWN),  # no H-CLIC reason: an error
]


def moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def synthetic(count: int, seed: int = 18) -> list[CaseHistory]:
    rng = random.Random(seed)
    cases = []
    for n in range(count):
        referred = QUARTER_END - timedelta(days=rng.randrange(365))
        allocated = referred + timedelta(days=rng.randrange(1, 15))
        route = "reconnection" if n % 10 == 0 else "support"
        plan = allocated + timedelta(days=rng.randrange(3, 30))
        case = CaseHistory(
            case_id=f"ref-{n:06d}",
            organisation=COUNCIL,
            referral_organisation=COUNCIL,
            person_id=f"p-{n}",
            referred_at=moment(referred),
            referral_source=rng.choice(SOURCES),
            support_needs=rng.sample(NEEDS, rng.randrange(4)),
            tenancy_id=None if route == "reconnection" or n % 3 == 0 else f"t-{n}",
            route=route,
            assessed_at=moment(referred),
            allocated_at=moment(allocated),
            first_contact_on=None if n % 50 == 0 else allocated + timedelta(days=2),
            plan_agreed_on=plan,
            destination_area="leeds" if route == "reconnection" else None,
        )
        case.reviews = [ReviewRecord(f"r{n}", "6_weeks", completed_on=plan + timedelta(42))]
        if n % 3 == 0:  # closed in the quarter, so every case is in its extract
            reason, outcome = rng.choice(CLOSURES)
            closed = max(QUARTER_START + timedelta(days=rng.randrange(91)), allocated)
            case.closed_at = moment(closed)
            case.closure_reason, case.tenancy_outcome = reason.value, outcome.value
        cases.append(case)
    return cases


def run(cases: list[CaseHistory]) -> dict[str, float | int]:
    started = time.perf_counter()
    out = extract(cases, COUNCIL, QUARTER_START, key=KEY, made_on=date(2026, 7, 20))
    extracted = time.perf_counter()
    errors = validate(out)
    validated = time.perf_counter()
    size = sum(len(out.to_csv(section)) for section in Section)
    written = time.perf_counter()
    return {
        "extract": extracted - started,
        "validate": validated - extracted,
        "csv": written - validated,
        "total": written - started,
        "cases": len(out.cases),
        "errors": len(errors),
        "csv_bytes": size,
        **{f"rows_{s.value}": len(out.rows(s)) for s in Section},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    made = time.perf_counter()
    cases = synthetic(args.cases)
    print(f"{len(cases):,} synthetic histories made in {time.perf_counter() - made:.1f} s")
    runs = [run(cases) for _ in range(args.runs)]
    last = runs[-1]
    print_table(
        f"H-CLIC extract, {QUARTER_START} quarter, median of {args.runs} ({machine()})",
        [
            ("histories read", f"{len(cases):,}"),
            ("cases in the extract", f"{last['cases']:,}"),
            *((f"rows: {s.value}", f"{last[f'rows_{s.value}']:,}") for s in Section),
            ("support-need columns", str(len(HCLIC_SUPPORT_NEEDS))),
            ("errors found", f"{last['errors']:,}"),
            ("CSV, all sections", f"{last['csv_bytes'] / 1e6:.1f} MB"),
            *(
                (step, f"{median([float(r[step]) for r in runs]):.2f} s")
                for step in ("extract", "validate", "csv", "total")
            ),
            ("goal", "a quarter for 50,000 cases under 60 s (the database read on top)"),
        ],
    )


if __name__ == "__main__":
    main()
