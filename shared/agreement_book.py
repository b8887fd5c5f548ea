"""Each service's own copy of the data-sharing agreements, kept from `AgreementChanged` events.

The agreements service owns the records; a service that must check one before a flow crosses
organisations keeps this copy in its own database (services never read each other's
collections) and asks it at the moment the flow happens. Versions only grow, so a repeated or
late event never turns an ended agreement back on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.agreements import Agreement, DataCategory, Purpose, SharingDecision, check
from shared.consumer import EventConsumer
from shared.events.agreement_events import AgreementChanged
from shared.events.envelope import Envelope
from shared.mongo import Collection


class AgreementBook:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    def follow(self, consumer: EventConsumer) -> None:
        """Keep this copy from the consumer's stream (its topics must include AGREEMENTS)."""

        @consumer.on(AgreementChanged)
        async def on_agreement_changed(envelope: Envelope, data: AgreementChanged) -> None:
            await self.apply(data.agreement())

    async def apply(self, agreement: Agreement) -> bool:
        """Store this version unless a newer one is already held; True when stored."""
        document = agreement.model_dump(mode="json")
        document["categories"] = sorted(document["categories"])
        try:
            result = await self.collection.update_one(
                {"_id": agreement.agreement_id, "version": {"$lt": agreement.version}},
                {"$set": document},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # a newer version is held: the filter missed and the insert collided
        return bool(result.modified_count or result.upserted_id)

    async def snapshot(self, organisation: str | None = None) -> list[Agreement]:
        """Every agreement held (or those `organisation` is party to): one read, for a batch."""
        query: dict[str, Any] = {}
        if organisation:
            query = {"$or": [{"proposed_by": organisation}, {"counterparty": organisation}]}
        return [_agreement(doc) async for doc in self.collection.find(query)]

    async def check(
        self,
        *,
        from_organisation: str,
        to_organisation: str,
        purpose: Purpose,
        categories: Iterable[DataCategory] = (),
        at: datetime,
    ) -> SharingDecision:
        if from_organisation == to_organisation:
            return SharingDecision(True, "")
        return check(
            await self.snapshot(from_organisation),
            from_organisation=from_organisation,
            to_organisation=to_organisation,
            purpose=purpose,
            categories=categories,
            at=at,
        )


def _agreement(document: dict[str, Any]) -> Agreement:
    document = {k: v for k, v in document.items() if k != "_id"}
    return Agreement.model_validate(document)
