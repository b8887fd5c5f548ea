"""A consent as a stored document: the one repository the referral service (the record), and
notifications and support (their copies), keep consents with; `_id` is the case id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.consent import Consent
from shared.mongo import Document
from shared.repository import Repository, bson_safe

STORED_VERSION = "consent_version"  # a store's documents have their own `version` already


def stored(consent: Consent) -> dict[str, Any]:
    """The consent as a document's fields (no `_id`: the case id is the document's id)."""
    fields = consent.model_dump(mode="python", exclude={"case_id"})
    fields[STORED_VERSION] = fields.pop("version")
    return fields


def from_stored(document: Mapping[str, Any]) -> Consent:
    fields = {k: v for k, v in document.items() if not k.startswith("_") and k != "version"}
    fields["version"] = fields.pop(STORED_VERSION, 1)
    return Consent.model_validate({**fields, "case_id": document["_id"]})


class ConsentRepository(Repository[Consent]):
    def __init__(self, collection: Any) -> None:
        super().__init__(collection, Consent, "case_id")

    def to_document(self, model: Consent) -> Document:
        fields: Document = bson_safe(stored(model))
        return fields

    def from_document(self, document: Document) -> Consent:
        return from_stored(document)
