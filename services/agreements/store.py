"""The service's own collection: one document per agreement (with its outbox), the record's
fields beside `version` (kept by the unit of work, and the agreement's version too).

Both parties read an agreement, so lists are two top-level equality reads (`proposed_by`,
`counterparty`, each indexed) rather than an `$or`, which FerretDB would decode in Go."""

from __future__ import annotations

from typing import Any

from services.agreements.model import AgreementRecord
from shared.auth import RecordScope
from shared.mongo import Collection, Document
from shared.repository import VERSION, Loaded, Repository, bson_safe
from shared.runtime import ServiceRuntime

AGREEMENTS = "agreements"


class AgreementRepository(Repository[AgreementRecord]):
    def to_document(self, model: AgreementRecord) -> Document:
        # `version` is the unit of work's to write (1 on add, +1 on each guarded save).
        fields: Document = bson_safe(model.model_dump(mode="python", exclude={"version"}))
        return fields

    def from_document(self, document: Document) -> AgreementRecord:
        return AgreementRecord.model_validate({**document, "version": document.get(VERSION, 1)})


class AgreementStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.agreements: Collection = runtime.collection(AGREEMENTS, outbox=True)
        self.repository = AgreementRepository(self.agreements, AgreementRecord, "agreement_id")
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.agreements.create_index([("proposed_by", 1)])
        await self.agreements.create_index([("counterparty", 1)])

    async def get(self, agreement_id: str) -> Loaded[AgreementRecord] | None:
        return await self.repository.get(agreement_id)

    async def of_organisation(
        self, organisation: str, status: str | None = None, purpose: str | None = None
    ) -> list[AgreementRecord]:
        """Every agreement the organisation is party to, on either side, oldest first."""
        found: dict[str, AgreementRecord] = {}
        for side in ("proposed_by", "counterparty"):
            query: dict[str, Any] = {side: organisation}
            if status:
                query["status"] = status
            if purpose:
                query["purpose"] = purpose
            for loaded in await self.repository.find(query):
                found[loaded.id] = loaded.model
        return sorted(found.values(), key=lambda a: (a.proposed_at, a.agreement_id))

    async def scope(self, organisation: str, agreement_id: str) -> RecordScope | None:
        """For the access check: an agreement belongs to no team; to anyone not a party it
        does not exist."""
        loaded = await self.get(agreement_id)
        if loaded is None or organisation not in loaded.model.parties:
            return None
        return RecordScope(None)
