"""The reconnection budget (travel, food and other expenses) and the spend against it.

An overspend is refused unless the caseworker gives the reason it was approved; then it is
accepted and flagged, so a manager sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.reconnection.model import Budget


@dataclass(frozen=True)
class SpendCheck:
    allowed: bool
    overspend: bool
    remaining_after_pence: int
    reason: str = ""


def check_spend(
    budget: Budget, amount_pence: int, approved_overspend_reason: str | None
) -> SpendCheck:
    if budget.allocated_pence is None:
        return SpendCheck(False, False, 0, "no reconnection budget has been set")
    remaining = budget.allocated_pence - budget.spent_pence - amount_pence
    if remaining >= 0:
        return SpendCheck(True, False, remaining)
    if approved_overspend_reason and approved_overspend_reason.strip():
        return SpendCheck(True, True, remaining, "overspend approved")
    return SpendCheck(
        False,
        True,
        remaining,
        f"spend exceeds the remaining budget by {-remaining} pence; give approved_overspend_reason",
    )
