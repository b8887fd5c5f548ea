"""A referral's consent over HTTP (issue 16): read it, give or vary it, withdraw it.

GET    /v1/referrals/{referral_id}/consent           the consent as it stands now
PUT    /v1/referrals/{referral_id}/consent           give (anew, after a withdrawal) or vary
POST   /v1/referrals/{referral_id}/consent/withdraw  withdrawn from this moment

Each is a personal route of the policy table (audited, record-scoped: another organisation's
referral is 404). A change publishes ConsentChanged; the rules are `shared/consent.py`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.referral.consent_records import ConsentRecords
from services.referral.referral import Referral
from services.referral.store import ReferralStore
from shared.auth import Caller, CallerDep
from shared.clock import Clock
from shared.codes import Channel
from shared.consent import (
    ALL_PURPOSES,
    Consent,
    ConsentError,
    ConsentPurpose,
    ConsentScope,
    ConsentState,
    give,
    withdraw,
)
from shared.events.referral_intake import REFERRAL_ID_PATTERN
from shared.problems import field_problem

ReferralId = Annotated[str, Path(min_length=1, max_length=200, pattern=REFERRAL_ID_PATTERN)]
ORGANISATION_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsentIn(_Strict):
    """The consent's whole scope (a PUT replaces it)."""

    organisations: list[Annotated[str, Field(pattern=ORGANISATION_ID)]] = Field(
        default=[], max_length=50, description="other organisations the consent covers"
    )
    purposes: list[ConsentPurpose] = Field(
        default=list(ALL_PURPOSES),
        max_length=len(ConsentPurpose),
        description="contact (messages to the person) and the sharing purposes covered",
    )
    channels: list[Channel] = Field(default=[], description="channels the person allows")
    expires_on: date | None = Field(None, description="from this day nothing is covered")


class WithdrawalIn(_Strict):
    reason: str | None = Field(None, max_length=500, description="why, in your words")
    recorded_on: date | None = Field(
        None, description="the day the person withdrew (default today; not in the future)"
    )


class ConsentView(BaseModel):
    """The consent of one referral, as it stands at the moment asked."""

    referral_id: str
    state: ConsentState = Field(description="given, varied, withdrawn or expired (now)")
    organisations: list[str]
    purposes: list[ConsentPurpose]
    channels: list[Channel]
    expires_on: date | None
    given_at: datetime
    given_by: str
    varied_at: datetime | None = None
    varied_by: str | None = None
    withdrawn_at: datetime | None = None
    withdrawn_on: date | None = None
    withdrawn_by: str | None = None
    reason: str | None = None
    version: int


def view(consent: Consent, now: datetime) -> ConsentView:
    scope = consent.scope
    return ConsentView(
        referral_id=consent.case_id,
        state=consent.state_at(now),
        organisations=list(scope.organisations),
        purposes=list(scope.purposes),
        channels=list(scope.channels),
        expires_on=scope.expires_on,
        given_at=consent.given_at,
        given_by=consent.given_by,
        varied_at=consent.varied_at,
        varied_by=consent.varied_by,
        withdrawn_at=consent.withdrawn_at,
        withdrawn_on=consent.withdrawn_on,
        withdrawn_by=consent.withdrawn_by,
        reason=consent.reason,
        version=consent.version,
    )


def _refusal(exc: ConsentError) -> JSONResponse:
    code = status.HTTP_409_CONFLICT if exc.conflict else 422  # the field is wrong
    return field_problem(exc.field, exc.message, code)


def consent_router(store: ReferralStore, consents: ConsentRecords, clock: Clock) -> APIRouter:
    router = APIRouter(prefix="/referrals/{referral_id}/consent", tags=["consent"])
    missing: dict[int | str, dict[str, Any]] = {404: {"description": "no such referral here"}}

    async def referral_of(caller: Caller, referral_id: str) -> Referral:
        referral = await store.get_for(caller.organisation, referral_id)
        if referral is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "referral_id: not found")
        return referral

    async def changed(
        referral: Referral, decide: Any, caller: Caller
    ) -> ConsentView | JSONResponse:
        now = clock.now()
        try:
            change = await consents.change(referral, decide, now)
        except ConsentError as exc:
            return _refusal(exc)
        if not change.written:  # another change landed first: the caller decides again
            raise HTTPException(status.HTTP_409_CONFLICT, "consent: changed meanwhile; try again")
        return view(change.consent, now)

    @router.get("", response_model=ConsentView, responses=missing)
    async def get_consent(referral_id: ReferralId, caller: CallerDep) -> ConsentView:
        """The consent now: given, varied, withdrawn, or expired by the clock."""
        await referral_of(caller, referral_id)
        loaded = await consents.get(referral_id)
        if loaded is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "consent: none recorded")
        return view(loaded.model, clock.now())

    @router.put("", response_model=ConsentView, responses={**missing, 422: {}})
    async def put_consent(
        referral_id: ReferralId, body: ConsentIn, caller: CallerDep
    ) -> ConsentView | JSONResponse:
        """Give consent (anew, after a withdrawal or expiry) or vary a live one's scope."""
        referral = await referral_of(caller, referral_id)
        scope = ConsentScope(
            organisations=tuple(body.organisations),
            purposes=tuple(body.purposes),
            channels=tuple(body.channels),
            expires_on=body.expires_on,
        )

        def decide(current: Consent | None) -> Consent:
            return give(
                current,
                case_id=referral.referral_id,
                person_id=referral.person_id,
                organisation=referral.organisation,
                scope=scope,
                by=caller.principal.display,
                at=clock.now(),
            )

        return await changed(referral, decide, caller)

    @router.post("/withdraw", response_model=ConsentView, responses={**missing, 409: {}})
    async def withdraw_consent(
        referral_id: ReferralId, caller: CallerDep, body: WithdrawalIn | None = None
    ) -> ConsentView | JSONResponse:
        """Withdraw consent: from this moment nothing more is shared or sent, everywhere."""
        referral = await referral_of(caller, referral_id)
        given = body or WithdrawalIn.model_validate({})

        def decide(current: Consent | None) -> Consent:
            return withdraw(
                current,
                by=caller.principal.display,
                at=clock.now(),
                withdrawn_on=given.recorded_on,
                reason=given.reason,
            )

        return await changed(referral, decide, caller)

    return router
