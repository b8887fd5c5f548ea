"""Operators' command for dead letters: list, open and replay a service's quarantine.

    python -m shared.quarantine_cli --service referral list [--pending]
    python -m shared.quarantine_cli --service referral show <quarantine-id>
    python -m shared.quarantine_cli --service referral replay <id>... | --all [--again]
                                                                        [--delete-after]
    (or `./hearth dead-letters --service referral ...`)

Settings come from the service's HEARTH_* environment (`shared/settings.py`): its database
(`HEARTH_MONGO_URL`, `HEARTH_MONGO_DB`), the broker with an admin principal's credentials
(`HEARTH_KAFKA_USERNAME`/`_PASSWORD`: a replay writes to topics the service only reads), and
`HEARTH_QUARANTINE_KEYS`.

`list` prints what is kept in clear (no personal value). `show` opens an entry and prints the
original record as JSON: it holds personal data. Holding the quarantine key is the
authorisation to read it; only operators who may see the service's records are given it.
`replay`, after the fix is deployed, re-publishes each original record (value, key, original
headers without the hearth_dlq_* ones) to the topic it came from and marks the entry
replayed; a replayed entry is not replayed again unless `--again`. Exit status: 0 done,
1 something was not found or not replayed, 2 bad arguments or keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from aiokafka import AIOKafkaProducer

from shared.kafka import settings_security
from shared.mongo import make_mongo_client
from shared.quarantine import COLLECTION, Publish, Quarantine, QuarantineKeyError
from shared.settings import HearthSettings


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="dead-letters", description="List, open and replay a service's dead letters."
    )
    root.add_argument("--service", required=True, help="the service whose quarantine to use")
    commands = root.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="entries, in clear only what names no one")
    listing.add_argument("--pending", action="store_true", help="only those not replayed")
    listing.add_argument("--limit", type=int, default=200)
    show = commands.add_parser("show", help="open one entry (needs the key; personal data)")
    show.add_argument("quarantine_id")
    replay = commands.add_parser("replay", help="re-publish to the original topic")
    replay.add_argument("quarantine_ids", nargs="*")
    replay.add_argument("--all", action="store_true", help="every entry not replayed yet")
    replay.add_argument("--again", action="store_true", help="also entries replayed before")
    replay.add_argument("--delete-after", action="store_true", help="delete once re-published")
    return root


def _clear(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "quarantine_id": document["_id"],
        **{k: v for k, v in document.items() if k not in ("_id", "sealed")},
    }


async def run(settings: HearthSettings, argv: Sequence[str], out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    if args.command == "replay" and bool(args.all) == bool(args.quarantine_ids):
        print("replay: name quarantine ids or --all (not both)", file=sys.stderr)
        return 2
    client = make_mongo_client(settings)
    quarantine = Quarantine(
        client[settings.database_name][COLLECTION], args.service, settings.quarantine_keys
    )
    try:
        if args.command == "list":
            for document in await quarantine.entries(not args.pending, args.limit):
                print(json.dumps(_clear(document), default=str), file=out)
            return 0
        if args.command == "show":
            opened = await quarantine.open(args.quarantine_id)
            print(json.dumps(opened.as_json(), indent=2, ensure_ascii=False), file=out)
            return 0
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka,
            **settings_security(settings),
            acks="all",
            enable_idempotence=True,
            client_id=f"hearth-dead-letters-{args.service}",
        )
        await producer.start()
        try:
            outcome = await quarantine.replay(
                _sender(producer),
                None if args.all else args.quarantine_ids,
                again=args.again,
                delete_after=args.delete_after,
            )
        finally:
            await producer.stop()
        for entry_id, what in outcome.items():
            print(f"{entry_id}: {what}", file=out)
        return 0 if all(what.startswith("replayed") for what in outcome.values()) else 1
    except QuarantineKeyError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyError as exc:
        print(exc.args[0] if exc.args else str(exc), file=sys.stderr)
        return 1
    finally:
        await client.close()


def _sender(producer: AIOKafkaProducer) -> Publish:
    async def send(
        topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)

    return send


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    service = parser().parse_args(args).service
    return asyncio.run(run(HearthSettings(service_name=service), args))


if __name__ == "__main__":
    sys.exit(main())
