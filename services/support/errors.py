"""What an HTTP caller is told when a case action cannot be done, and the checks that say so."""

from __future__ import annotations

from services.support.case import SupportCase
from services.support.store import SupportCaseRepository
from shared.unit_of_work import Committed


class CaseworkError(Exception):
    """A request that cannot be done: HTTP status, the field at fault, why."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field


def not_found(case_id: str) -> CaseworkError:
    return CaseworkError(404, "case_id", f"no case {case_id!r} in your organisation")


def changed() -> CaseworkError:
    return CaseworkError(409, "case_id", "the case changed meanwhile or is closed; reload")


def why(exc: ValueError) -> str:
    """The message of a rule error without its field prefix."""
    return str(exc).split(": ", 1)[-1]


def found(case: SupportCase | None, case_id: str) -> SupportCase:
    """The caller's case (a case of another organisation is not found)."""
    if case is None:
        raise not_found(case_id)
    return case


def still_open(case: SupportCase | None, case_id: str) -> SupportCase:
    case = found(case, case_id)
    if not case.is_open:
        raise CaseworkError(409, "case_id", f"case {case_id!r} is closed")
    return case


def written(committed: Committed, cases: SupportCaseRepository, case_id: str) -> SupportCase:
    """The case as a committed change left it; 409 when its guard no longer held (another
    writer changed the case meanwhile, or closed it)."""
    case = committed.model(cases, case_id)
    if case is None:
        raise changed()
    return case
