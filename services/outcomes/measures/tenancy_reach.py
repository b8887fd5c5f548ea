"""Which landlord's readings a case may use. A landlord's data about a tenancy reaches another
organisation only through a case it was shared for: the tenancy's readings are used for a case
when the landlord's events name the case (`case_ids`), or when the landlord is the
organisation asking."""

from __future__ import annotations

from services.outcomes.histories import CaseHistory, TenancyHistory
from services.outcomes.measures.base import MeasureQuery, ReportingData


def tenancy_for(
    case: CaseHistory, data: ReportingData, query: MeasureQuery
) -> TenancyHistory | None:
    """The case's tenancy history, or None when it has none or its landlord did not share it."""
    if case.tenancy_id is None:
        return None
    tenancy = data.tenancies.get(case.tenancy_id)
    if tenancy is None:
        return None
    if case.case_id in tenancy.case_ids or tenancy.landlord == query.organisation:
        return tenancy
    return None
