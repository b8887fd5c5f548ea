"""`?as_of=YYYY-MM-DD` for the rule endpoints that answer "as of" a day: the business date a
rule is decided on (a local connection's months of residence, eligibility's rough-sleeping
window, Tool 4's months since reconnection).

A route takes it as a parameter:

    from shared.as_of import AsOf

    @router.put("/{case_id}/local-connection")
    async def local_connection(case_id: CaseId, body: Evidence, as_of: AsOf, ...) -> CaseView:
        result = assess_local_connection(body, as_of, ...)

Without the parameter it is the service clock's today (a scenario clock's, where one runs:
shared/scenario_clock.py). With it, a deployment that is not production decides on that day;
production refuses it with a 422 naming `as_of`, as it refuses every other way to move time.
A day more than ten years from today is refused everywhere, naming `as_of`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from shared.scenario_clock import REACH, scenario_refusal

AS_OF = "as_of"


def _refused(given: date, message: str) -> RequestValidationError:
    error: dict[str, Any] = {
        "type": "value_error",
        "loc": ("query", AS_OF),
        "msg": message,
        "input": given.isoformat(),
    }
    return RequestValidationError([error])


def as_of_date(
    request: Request,
    as_of: Annotated[
        date | None,
        Query(
            description="not in production: decide as of this day (YYYY-MM-DD) instead of "
            "today, for scenarios and acceptance tests",
        ),
    ] = None,
) -> date:
    """The day the route decides on: `as_of` where allowed, else the service's today."""
    runtime = request.app.state.runtime
    today: date = runtime.clock.now().date()
    if as_of is None:
        return today
    refusal = scenario_refusal(runtime.settings, AS_OF)
    if refusal:
        raise _refused(as_of, refusal.removeprefix(f"{AS_OF}: "))
    if abs(as_of - today) > REACH:
        raise _refused(as_of, "must be within ten years of today")
    return as_of


AsOf = Annotated[date, Depends(as_of_date)]
