"""GET /v1/held-flows: what is held between organisations for want of a live data-sharing
agreement, for the admins (organisation admin, service manager) of either party."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.referral.held_flows import FlowKind, HeldFlows, HoldStatus
from shared.agreements import Purpose
from shared.auth import CallerDep
from shared.mongo import Document


class HeldFlowOut(BaseModel):
    id: str
    kind: FlowKind
    purpose: Purpose
    from_organisation: str = Field(description="whose data would flow (the landlord)")
    to_organisation: str = Field(description="where it would go")
    reason: str = Field(description="why it is held, naming the agreement it lacks")
    status: HoldStatus
    subject: str = Field(description="the held prevention referral, or the claiming case")
    tenancy_id: str | None = None
    held_at: datetime
    checked_at: datetime | None = None
    released_at: datetime | None = None


class HeldFlowList(BaseModel):
    held_flows: list[HeldFlowOut]


def held_flow_out(document: Document) -> HeldFlowOut:
    fields: dict[str, Any] = {k: document.get(k) for k in HeldFlowOut.model_fields if k != "id"}
    return HeldFlowOut(id=document["_id"], **fields)


def held_flows_router(held: HeldFlows) -> APIRouter:
    router = APIRouter(tags=["held flows"])

    @router.get("/held-flows", response_model=HeldFlowList)
    async def list_held_flows(
        caller: CallerDep,
        status: Annotated[HoldStatus | None, Query()] = HoldStatus.HELD,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> HeldFlowList:
        """Flows your organisation is party to that were held (default: still held), newest
        first, each with the reason; they go once the agreement named is live."""
        found = await held.visible_to(caller.organisation, status, limit)
        return HeldFlowList(held_flows=[held_flow_out(d) for d in found])

    return router
