"""An `AgreementBook` replica in another service's database follows the agreements service's
changes from the real broker, and answers `check()` as the agreement's life goes: refused
while proposed, allowed once accepted, refused again once ended."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from shared.agreement_book import AgreementBook
from shared.agreements import DataCategory, Purpose, SharingDecision
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic
from tests.agreements.conftest import ADMIN, COUNCIL, LANDLORD, AgreementsApp
from tests.agreements_helper import end_agreement, grant_agreement
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


async def _replica(settings: HearthSettings) -> tuple[ServiceRuntime, AgreementBook]:
    runtime = ServiceRuntime(settings, configure_logs=False)
    book = AgreementBook(runtime.collection("agreements"))
    book.follow(runtime.consumer([Topic.AGREEMENTS]))
    await runtime.start(background_loops=False)
    return runtime, book


async def _decision(book: AgreementBook) -> SharingDecision:
    return await book.check(
        from_organisation=LANDLORD,
        to_organisation=COUNCIL,
        purpose=Purpose.ARREARS_PREVENTION,
        categories=[DataCategory.TENANCY],
        at=datetime.now(UTC),
    )


async def test_a_replica_follows_accepting_and_ending(
    agreements: AgreementsApp, make_settings: Callable[..., HearthSettings]
) -> None:
    runtime, book = await _replica(make_settings("referral"))
    try:
        created = await agreements.propose()
        agreement_id = created["agreement_id"]
        await wait_for(lambda: book.snapshot(COUNCIL))
        refused = await _decision(book)
        assert not refused and "no live arrears-prevention agreement" in refused.reason

        base = f"/agreements/{agreement_id}"
        await agreements.call("POST", f"{base}/accept", ADMIN[COUNCIL], 200, {})

        async def allowed() -> SharingDecision | None:
            decision = await _decision(book)
            return decision if decision.allowed else None

        decision = await wait_for(allowed)
        assert decision.agreement_id == agreement_id

        await agreements.call("POST", f"{base}/end", ADMIN[LANDLORD], 200, {})

        async def refused_again() -> str | None:
            decision = await _decision(book)
            return None if decision.allowed else decision.reason  # a refusal is falsy

        assert "no live" in await wait_for(refused_again)
        held = await book.snapshot(LANDLORD)
        assert [(a.agreement_id, a.status.value, a.version) for a in held] == [
            (agreement_id, "ended", 3)
        ]
    finally:
        await runtime.mongo.drop_database(runtime.settings.database_name)
        await runtime.stop()


async def test_the_helper_grants_and_ends_without_the_service(
    make_settings: Callable[..., HearthSettings],
) -> None:
    settings = make_settings("support")
    runtime, book = await _replica(settings)
    try:
        granted = await grant_agreement(
            settings, LANDLORD, COUNCIL, Purpose.ARREARS_PREVENTION, [DataCategory.TENANCY]
        )

        async def allowed() -> bool:
            return bool(await _decision(book))

        await wait_for(allowed)
        await end_agreement(settings, granted)

        async def refused() -> bool:
            return not await _decision(book)

        await wait_for(refused)
    finally:
        await runtime.mongo.drop_database(settings.database_name)
        await runtime.stop()
