"""The presentation pack (Phase 5): what goes to Housing Options the day before the presentation.

ID, the address history and the covering letter (the basis of the Part VII application) are
always needed; the other items may not apply to a client, and the caseworker records why.
"""

from __future__ import annotations

from datetime import date, datetime

from services.reconnection.dates import at_working_start, day_before
from services.reconnection.model import ItemStatus, PackItem, PackItemRecord

ALWAYS_NEEDED = frozenset({PackItem.ID, PackItem.ADDRESS_HISTORY, PackItem.COVERING_LETTER})
DESCRIPTIONS = {
    PackItem.ID: "birth certificate or other ID",
    PackItem.PROOF_OF_BENEFITS: "proof of benefits entitlement",
    PackItem.MEDICAL_INFORMATION: "medical information",
    PackItem.ADDRESS_HISTORY: "proof of address history (basis of the local connection)",
    PackItem.PRIORITY_NEED_EVIDENCE: "evidence of priority need",
    PackItem.COVERING_LETTER: "covering letter signed by the caseworker: Part VII application "
    "and key information such as the basis of the local connection",
}


def missing_items(pack: dict[str, PackItemRecord]) -> list[PackItem]:
    return [
        item
        for item in PackItem
        if item.value not in pack or pack[item.value].status is ItemStatus.OPEN
    ]


def is_complete(pack: dict[str, PackItemRecord]) -> bool:
    return not missing_items(pack)


def may_not_apply(item: PackItem) -> bool:
    return item not in ALWAYS_NEEDED


def sent_at(reconnection_date: date) -> datetime:
    """Emailed to the Housing Options officer a day in advance of the presentation."""
    return at_working_start(day_before(reconnection_date))
