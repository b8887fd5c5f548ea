"""Finding and telling apart the people referred (issue 17's referrer pages).

POST /v1/people/search                                      people by name, birth date, reference
POST /v1/referrals/{referral_id}/possible-matches/{person_id}  the same person, or not

A search is a POST so names and birth dates never sit in a URL or an access log. It looks
only at what `GET /v1/referrals` would list for the caller (the organisation's referrals
within their reach) and is audited as listing them. A possible match (`person_matching.py`:
the same name and birth date with a different NI number) is linked, never merged; a person
who has looked at both resolves it: confirmed stays linked, otherwise it is unlinked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.referral.person_matching import normalise_name_part
from services.referral.referral import REFERRED_BY, Referral
from services.referral.status import ReferralStatus
from services.referral.store import ReferralStore
from shared.auth import CallerDep, audit_listed
from shared.clock import Clock
from shared.codes import Route
from shared.events.referral_intake import REFERRAL_ID_PATTERN

ReferralId = Annotated[str, Path(min_length=1, max_length=200, pattern=REFERRAL_ID_PATTERN)]
PersonId = Annotated[str, Path(min_length=1, max_length=100, pattern=REFERRAL_ID_PATTERN)]
MAX_SEARCHED = 5000  # the newest referrals within reach that a search looks through
MAX_FOUND = 100


class PeopleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, max_length=200, description="any of the person's names")
    date_of_birth: date | None = None
    reference: str | None = Field(
        None,
        max_length=200,
        description="a referral id, the referrer's reference or a tenancy reference",
    )

    @model_validator(mode="after")
    def _something_to_find(self) -> PeopleQuery:
        if not (self.name or self.date_of_birth or self.reference):
            raise ValueError("name: give a name, a date of birth or a reference")
        return self


class PersonFound(BaseModel):
    referral_id: str
    person_id: str
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    status: ReferralStatus
    route: Route | None = None
    received_at: datetime
    possible_matches: int = Field(0, description="possible matches still to resolve")


class PeopleFound(BaseModel):
    people: list[PersonFound]


class MatchDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    same_person: bool = Field(description="true: confirmed as the same person; false: unlinked")


class MatchDecisionOut(BaseModel):
    referral_id: str
    person_id: str
    same_person: bool


def _tokens(text: str) -> list[str]:
    return [t for t in (normalise_name_part(part) for part in text.split()) if t]


def matches(referral: Referral, query: PeopleQuery) -> bool:
    """Every criterion given holds: each word of the name starts one of the person's names
    (case and accents ignored), the birth date is the same, the reference is one of theirs."""
    person = referral.submission.get("person") or {}
    if query.name:
        names = _tokens(f"{person.get('given_name') or ''} {person.get('family_name') or ''}")
        if not all(any(n.startswith(t) for n in names) for t in _tokens(query.name)):
            return False
    if query.date_of_birth and person.get("date_of_birth") != query.date_of_birth.isoformat():
        return False
    if query.reference:
        wanted = query.reference.strip().casefold()
        tenancy = referral.submission.get("tenancy") or {}
        references = (
            referral.referral_id,
            referral.referrer.reference,
            tenancy.get("tenancy_reference"),
        )
        if wanted not in {str(r).strip().casefold() for r in references if r}:
            return False
    return True


def found(referral: Referral) -> PersonFound:
    person = referral.submission.get("person") or {}
    return PersonFound(
        referral_id=referral.referral_id,
        person_id=referral.person_id,
        given_name=person.get("given_name"),
        family_name=person.get("family_name"),
        date_of_birth=person.get("date_of_birth"),
        status=referral.status,
        route=referral.route,
        received_at=referral.received_at,
        possible_matches=len(referral.possible_matches),
    )


def people_router(store: ReferralStore, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["people"])

    @router.post("/people/search", response_model=PeopleFound)
    async def search_people(request: Request, query: PeopleQuery, caller: CallerDep) -> PeopleFound:
        """The organisation's referrals within your reach whose person fits, newest first."""
        within = await store.list_for(
            caller.organisation, None, None, MAX_SEARCHED, caller.reach_filter(made_by=REFERRED_BY)
        )
        hits = [r for r in within if r.visible_to(caller) and matches(r, query)][:MAX_FOUND]
        audit_listed(request, "case", (r.referral_id for r in hits))
        return PeopleFound(people=[found(r) for r in hits])

    missing: dict[int | str, dict[str, Any]] = {
        404: {"description": "no such referral here, or not a possible match of it"}
    }

    @router.post(
        "/referrals/{referral_id}/possible-matches/{person_id}",
        response_model=MatchDecisionOut,
        responses=missing,
    )
    async def decide_possible_match(
        referral_id: ReferralId, person_id: PersonId, body: MatchDecisionIn, caller: CallerDep
    ) -> MatchDecisionOut | JSONResponse:
        """Resolve a possible match: the same person (kept linked as confirmed) or not
        (unlinked). Nothing is merged either way."""
        referral = await store.get_for(caller.organisation, referral_id)
        if referral is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "referral_id: not found")
        decided = await store.decide_match(
            referral_id, person_id, body.same_person, caller.principal.display, clock.now()
        )
        if not decided:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "person_id: not a possible match of this referral"
            )
        return MatchDecisionOut(
            referral_id=referral_id, person_id=person_id, same_person=body.same_person
        )

    return router
