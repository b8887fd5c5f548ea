"""Import generated history into the outcomes service (issue 18: the demo's year of events).

    python -m services.outcomes import-history --months 12 --seed 1 \
        --organisation demo-council [--organisation other-council ...] \
        [--landlord demo-council=demo-homes] [--team demo-council:support=demo-support] \
        [--referrals-per-month 40] [--end 2026-12-01]

Generates the history (services/outcomes/history_generator.py) and publishes it, in
`HistoryImported` batches, to the history topic only the outcomes service reads, so no other
service acts on it: nothing is sent, allocated or escalated. Run with the outcomes service's
own broker principal (it alone may write that topic). Importing the same history again
(same organisations, seed, months and end) changes nothing: the facts are keyed by event id.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from services.outcomes.history_batches import batches
from services.outcomes.history_generator import OrganisationPlan, default_teams, generate
from shared.codes import Route
from shared.events.envelope import Envelope
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.settings import HearthSettings, get_settings


@dataclass(frozen=True)
class ImportResult:
    events: int  # inner events generated
    records: int  # HistoryImported records published


def history_records(
    plans: Sequence[OrganisationPlan], *, end: date, months: int, seed: int, at: datetime
) -> tuple[list[Envelope], list[Envelope]]:
    """The generated events and the batches that carry them."""
    events = generate(plans, end=end, months=months, seed=seed)
    return events, batches(events, f"s{seed}-{end.isoformat()}-{months}m", at)


async def publish_history(settings: HearthSettings, records: Sequence[Envelope]) -> None:
    """Publish the batches to the history topic; returns once the broker has every one."""
    await ensure_topics(settings)
    broker = make_broker(settings)
    await broker.connect()
    try:
        await EventPublisher(broker, settings).publish_many(records)
    finally:
        await broker.stop()


async def import_history(
    settings: HearthSettings,
    plans: Sequence[OrganisationPlan],
    *,
    end: date,
    months: int = 12,
    seed: int = 1,
) -> ImportResult:
    events, records = history_records(
        plans, end=end, months=months, seed=seed, at=datetime.now(UTC)
    )
    await publish_history(settings, records)
    return ImportResult(len(events), len(records))


def plans_from(args: argparse.Namespace) -> list[OrganisationPlan]:
    """One plan per --organisation, with its landlord and team ids if given."""
    landlords = dict(_pair(text, "--landlord") for text in args.landlord)
    team_ids: dict[tuple[str, Route], str] = {}
    for text in args.team:
        key, team_id = _pair(text, "--team")
        organisation, _, route = key.partition(":")
        try:
            team_ids[(organisation, Route(route))] = team_id
        except ValueError:
            raise SystemExit(f"--team: {key!r} is not ORGANISATION:support|reconnection") from None
    plans = []
    for organisation in args.organisation:
        rate = args.referrals_per_month
        teams = tuple(
            replace(team, team_id=team_ids.get((organisation, team.route), team.team_id))
            for team in default_teams(organisation, rate)
        )
        plans.append(OrganisationPlan(organisation, rate, landlords.get(organisation), teams))
    return plans


def _pair(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise SystemExit(f"{option}: expected KEY=VALUE, got {text!r}")
    return key, value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.outcomes import-history")
    parser.add_argument("--organisation", action="append", required=True, help="repeatable")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--referrals-per-month", type=float, default=40.0)
    parser.add_argument("--end", type=date.fromisoformat, help="exclusive; default today (UTC)")
    parser.add_argument(
        "--landlord", action="append", default=[], help="ORGANISATION=LANDLORD (repeatable)"
    )
    parser.add_argument(
        "--team",
        action="append",
        default=[],
        help="ORGANISATION:support|reconnection=TEAM_ID, to use an existing team's id",
    )
    args = parser.parse_args(argv)
    settings = get_settings().model_copy(update={"service_name": "outcomes"})
    end = args.end or datetime.now(UTC).date()
    result = asyncio.run(
        import_history(settings, plans_from(args), end=end, months=args.months, seed=args.seed)
    )
    print(
        f"imported {result.events} events of {args.months} months before {end} "
        f"in {result.records} records to the history topic"
    )
    return 0
