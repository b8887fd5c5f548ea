"""`python -m services.audit verify [--organisation ORG]`: check every audit chain (or one)
against the key and print each chain's result. Exit 0 when all are intact, 1 when any is
broken (naming its first altered or removed entry), 2 when it cannot check at all."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

from pymongo.errors import PyMongoError

from services.audit.store import AuditStore, Verification
from shared.mongo import make_mongo_client
from shared.settings import HearthSettings, get_settings

SERVICE = "audit"


def _settings() -> HearthSettings:
    settings = get_settings()
    if settings.service_name == "hearth":
        # The service's own database (hearth_audit), as `python -m services.audit` uses.
        settings = settings.model_copy(update={"service_name": SERVICE})
    return settings


def describe(result: Verification) -> str:
    if result.finding is not None:
        return f"BROKEN  {result.organisation}: {result.finding}"
    if result.head is None and result.entries == 0:
        return f"ok      {result.organisation}: no entries"
    head = f", head {result.head.hash[:16]}" if result.head else ""
    entries = "1 entry" if result.entries == 1 else f"{result.entries} entries"
    return f"ok      {result.organisation}: {entries} intact{head}"


async def verify_chains(settings: HearthSettings, organisation: str | None) -> list[Verification]:
    client = make_mongo_client(settings)
    try:
        store = AuditStore(client[settings.database_name], settings.audit_chain_key)
        names = [organisation] if organisation else await store.organisations()
        return [await store.verify(name) for name in names]
    finally:
        await client.close()


def main(
    argv: Sequence[str] | None = None,
    settings: HearthSettings | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m services.audit verify",
        description="Verify the audit hash chains (HEARTH_* settings name the database and key).",
    )
    parser.add_argument("--organisation", help="verify this organisation's chain only")
    args = parser.parse_args(argv)
    settings = settings or _settings()
    if not settings.audit_chain_key:
        print("HEARTH_AUDIT_CHAIN_KEY: required to verify the chains", file=out)
        return 2
    try:
        results = asyncio.run(verify_chains(settings, args.organisation))
    except PyMongoError as exc:
        print(f"cannot read the audit database {settings.database_name}: {exc}", file=out)
        return 2
    if not results:
        print("no audit chains found", file=out)
    for result in results:
        print(describe(result), file=out)
    return 0 if all(result.intact for result in results) else 1
