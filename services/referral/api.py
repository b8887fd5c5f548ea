"""Referral routes (prefix /v1 added by the app). Every route sees only the caller's
organisation's referrals; another organisation's referral is simply not found (404).

A retried POST /referrals with an `Idempotency-Key` is answered by the shared mechanism
(shared/idempotency.py: the stored answer, or 409 for another body). The referral id is also
derived from the key, so a retry after the stored answer expired (24 h) or was never stored
(a crash after the insert) still finds the one referral instead of making a second."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import StringConstraints

from services.referral.intake import ReferralIntake
from services.referral.referral import REFERRED_BY, Referral
from services.referral.status import ReferralStatus
from services.referral.store import ReferralStore
from services.referral.views import (
    ErrorBody,
    ReferralAccepted,
    ReferralDetail,
    ReferralList,
    accepted,
    detail,
    linked_ids,
    summary,
)
from shared.auth import Caller, CallerDep, audit_listed, audit_record
from shared.consent import ConsentError, check_expiry
from shared.events.referral_intake import REFERRAL_ID_PATTERN, ReferralSubmission
from shared.http import body_limit
from shared.idempotency import HEADER as IDEMPOTENCY_KEY
from shared.ids import new_id, stable_id
from shared.policy import Reach
from shared.problems import field_problem

# A referral's body, refused before it is read when larger (shared/http.py counts the bytes).
MAX_SUBMISSION_BYTES = 256_000
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the body is not JSON"},
    401: {"model": ErrorBody, "description": "no bearer token, or one that cannot be trusted"},
    403: {"model": ErrorBody, "description": "your roles do not allow this"},
    422: {"model": ErrorBody, "description": "a field is wrong; the error names it"},
}

ReferralId = Annotated[str, Path(min_length=1, max_length=200, pattern=REFERRAL_ID_PATTERN)]


def _field_error(field: str, message: str, code: int = 422) -> JSONResponse:
    return field_problem(field, message, code)


async def _visible_links(
    store: ReferralStore, caller: Caller, referrals: list[Referral]
) -> set[str]:
    """The linked referrals the caller may know of: all of them for the organisation's reach,
    else those within the caller's teams (one query for a whole list)."""
    ids = linked_ids(referrals)
    if not ids or caller.reach >= Reach.ORGANISATION:
        return ids
    linked = await store.get_many(ids)
    return {
        rid
        for rid, referral in linked.items()
        if referral.organisation == caller.organisation and referral.visible_to(caller)
    }


def referrals_router(store: ReferralStore, intake: ReferralIntake) -> APIRouter:
    router = APIRouter(prefix="/referrals", tags=["referrals"], responses=ERRORS)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=ReferralAccepted,
        responses={
            409: {"model": ErrorBody, "description": "Idempotency-Key reused, different body"},
            413: {"model": ErrorBody, "description": "submission too large"},
        },
        openapi_extra=body_limit(MAX_SUBMISSION_BYTES),
    )
    async def submit_referral(
        request: Request, body: ReferralSubmission, caller: CallerDep
    ) -> ReferralAccepted | JSONResponse:
        """Refer a person. Screening happens at once: the answer carries the route and reasons.
        A person with an open referral here already is referred all the same (never dropped)
        but flagged `possible_duplicate_of` it, with a warning, for a team leader to merge.

        `referrer.organisation` is the caller's own organisation (it is what notices about the
        referral are addressed by): left out, it is filled in; another is refused. Someone
        outside it is a named contact: `referrer.name`, one `referrer.email` and a free-text
        `referrer.agency`."""
        idempotency_key = request.headers.get(IDEMPOTENCY_KEY)  # checked by the shared guard
        if body.automatic:
            return _field_error("automatic", "automatic referrals come only from arrears alerts")
        if body.referrer.organisation not in (None, caller.organisation):
            return _field_error(
                "referrer.organisation",
                f"must be your own organisation ({caller.organisation}); name a referrer "
                "outside it as a contact with referrer.name, referrer.email and referrer.agency",
            )
        consent = body.consent
        if consent is not None:
            # The consent PUT's own check, by the service clock: an expiry already passed
            # would record a consent that covers nothing from the start.
            try:
                check_expiry(consent.expires_on, intake.clock.now().date())
            except ConsentError as exc:
                return _field_error(f"consent.{exc.field}", exc.message)
        payload = body.model_dump_json()
        request_hash = stable_id(payload)
        referral_id = (
            f"ref-{stable_id(caller.organisation, 'idempotency-key', idempotency_key)}"
            if idempotency_key
            else new_id("ref")
        )
        result = await intake.submit(
            referral_id=referral_id,
            organisation=caller.organisation,
            submission=body,
            channel="http",
            extra={
                "idempotency_key": idempotency_key,
                "request_hash": request_hash,
                REFERRED_BY: caller.principal.subject,
            },
        )
        existing = result.referral
        audit_record(request, "case", existing.referral_id)
        if not result.created and (
            existing.organisation != caller.organisation or existing.request_hash != request_hash
        ):
            return _field_error(IDEMPOTENCY_KEY, "already used for a different referral", 409)
        return accepted(existing, await _visible_links(store, caller, [existing]))

    @router.get("", response_model=ReferralList)
    async def list_referrals(
        request: Request,
        caller: CallerDep,
        status_filter: Annotated[ReferralStatus | None, Query(alias="status")] = None,
        person_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        ids: Annotated[
            list[Annotated[str, StringConstraints(pattern=REFERRAL_ID_PATTERN)]] | None,
            Query(alias="id", max_length=500, description="only these referrals (repeatable)"),
        ] = None,
    ) -> ReferralList:
        """The caller's organisation's referrals, newest first; `id` names the ones wanted
        (a caseload's names in one call rather than one call per case)."""
        found = await store.list_for(
            caller.organisation,
            status_filter,
            person_id,
            limit,
            caller.reach_filter(made_by=REFERRED_BY),
            ids,
        )
        visible = [r for r in found if r.visible_to(caller)]
        audit_listed(request, "case", (r.referral_id for r in visible))
        links = await _visible_links(store, caller, visible)
        return ReferralList(referrals=[summary(r, links) for r in visible])

    @router.get(
        "/{referral_id}",
        response_model=ReferralDetail,
        responses={404: {"model": ErrorBody, "description": "no such referral here"}},
    )
    async def get_referral(referral_id: ReferralId, caller: CallerDep) -> ReferralDetail:
        """Status (received, assessed with route and reasons, allocated, closed) and details."""
        referral = await store.get_for(caller.organisation, referral_id)
        if referral is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "referral_id: not found")
        return detail(referral, await _visible_links(store, caller, [referral]))

    return router
