"""Every request to a Hearth API: a verified identity, a permission from the policy table
(`shared/policy.py`) for this very route, the record within the caller's reach, and an audit
entry for what was seen, changed or refused (`shared/audit.py`).

Refusals, in order: too many failed sign-ins from this client (429), no or bad token (401),
a role that may not do this (403), a record outside the caller's teams (404, as if absent).
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.identity import Principal, TokenRejected, TokenVerifier
from shared.policy import Permission, Policy, Reach, policy_for, reach

MAX_LISTED = 500

_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="An access token from the organisation's identity provider (OpenID Connect): "
    "authorisation-code flow for people, client-credentials grant for machine clients.",
)


@dataclass(frozen=True)
class RecordScope:
    """Who a record belongs to within its organisation: its team and the workers leading it."""

    team_id: str | None
    worker_ids: tuple[str, ...] = ()
    made_by: str | None = None  # who created it (a referrer keeps sight of their referral)


RecordScopeLookup = Callable[[str, str], Awaitable[RecordScope | None]]
"""(organisation, record id) -> the record's scope, or None when there is no such record."""


@dataclass(frozen=True)
class Caller:
    """The verified caller of one route, with how far its roles reach for this route."""

    principal: Principal
    policy: Policy
    reach: Reach

    @property
    def organisation(self) -> str:
        return self.principal.organisation

    def sees(
        self, team_id: str | None, *worker_ids: str | None, made_by: str | None = None
    ) -> bool:
        """Whether a record of the caller's organisation is within the caller's reach: their
        teams' records, those they lead, and those they made themselves."""
        if self.reach >= Reach.ORGANISATION:
            return True
        if made_by is not None and made_by == self.principal.subject:
            return True
        me = self.principal.caseworker_id
        if me is not None and me in worker_ids:
            return True
        if team_id is None:
            # Not yet any team's (a waiting referral): for those who allocate.
            return self.policy.unallocated and self.may(Permission.WAITING_LIST)
        return team_id in self.principal.teams

    def reach_filter(
        self,
        team: str = "team_id",
        workers: tuple[str, ...] = ("lead_worker_id",),
        made_by: str | None = None,
    ) -> dict[str, Any] | None:
        """The same rule as `sees`, as a query condition (None: the whole organisation), so a
        page of a list holds `limit` records the caller may see, not fewer. `made_by`: the
        field naming who created the record, where creators keep sight of it."""
        if self.reach >= Reach.ORGANISATION:
            return None
        alternatives: list[dict[str, Any]] = [{team: {"$in": sorted(self.principal.teams)}}]
        if made_by is not None:
            alternatives.append({made_by: self.principal.subject})
        if self.principal.caseworker_id is not None:
            alternatives += [{field: self.principal.caseworker_id} for field in workers]
        if self.policy.unallocated and self.may(Permission.WAITING_LIST):
            alternatives.append({team: None})
        return {"$or": alternatives}

    def may(self, permission: Permission) -> bool:
        return reach(self.principal.roles, permission) is not None


class FailedSignIns:
    """Failed sign-ins per client address in a sliding window; past the limit the client is
    refused (429) until its failures age out, whatever it presents."""

    def __init__(
        self, limit: int, window_seconds: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.now = now
        self._failures: dict[str, deque[float]] = {}
        self._announced: set[str] = set()

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        horizon = self.now() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return deque()
        return failures

    def blocked(self, client: str) -> float | None:
        """Seconds until the client may try again, or None when it is not blocked."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            self._announced.discard(client)
            return None
        return max(1.0, failures[-self.limit] + self.window - self.now())

    def first_refusal(self, client: str) -> bool:
        """True once per lockout: that refusal is audited, the rest only counted, so a
        client hammering away cannot flood the audit trail."""
        if client in self._announced:
            return False
        self._announced.add(client)
        return True

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, deque()).append(self.now())
        if len(self._failures) > 100_000:  # bounded memory under a spray of addresses
            self._failures.pop(next(iter(self._failures)))


@dataclass
class AccessState:
    """What the audit needs to know of a request, left on `request.state.access`."""

    principal: Principal | None = None
    policy: Policy | None = None
    refusal: str | None = None
    quiet: bool = False  # refused, but already audited (a blocked client's repeats)
    record_kind: str | None = None
    record_id: str | None = None
    listed_ids: list[str] = field(default_factory=list)


def access_of(request: Request) -> AccessState:
    state: AccessState | None = getattr(request.state, "access", None)
    if state is None:
        state = AccessState()
        request.state.access = state
    return state


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refuse(
    request: Request, code: int, reason: str, headers: dict[str, str] | None = None
) -> HTTPException:
    access_of(request).refusal = reason
    return HTTPException(code, reason, headers)


async def require_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    access = access_of(request)
    app_state = request.app.state
    limiter: FailedSignIns = app_state.failed_sign_ins
    client = client_address(request)
    wait = limiter.blocked(client)
    if wait is not None:
        access.quiet = not limiter.first_refusal(client)
        raise _refuse(
            request,
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed sign-ins from this client; try again later",
            {"Retry-After": str(int(wait) + 1)},
        )
    principal = await _authenticate(request, credentials, limiter, client)
    access.principal = principal

    route = request.scope.get("route")
    service = app_state.settings.service_name
    policy = policy_for(service, request.method, getattr(route, "path", ""))
    if policy is None:
        raise _refuse(request, status.HTTP_403_FORBIDDEN, "this route has no access policy")
    access.policy = policy
    caller_reach = reach(principal.roles, policy.permission)
    if caller_reach is None:
        roles = ", ".join(sorted(principal.roles)) or "none"
        raise _refuse(
            request,
            status.HTTP_403_FORBIDDEN,
            f"your roles ({roles}) do not allow {policy.permission.value}",
        )
    caller = Caller(principal, policy, caller_reach)
    if policy.record is not None:
        record_id = request.path_params.get(policy.record.param)
        access.record_kind, access.record_id = policy.record.kind, record_id
        if record_id is not None and caller_reach < Reach.ORGANISATION:
            await _check_record(request, caller, policy.record.kind, policy.record.param, record_id)
    return caller


async def _authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    limiter: FailedSignIns,
    client: str,
) -> Principal:
    challenge = {"WWW-Authenticate": 'Bearer realm="hearth"'}
    if credentials is None or credentials.scheme.lower() != "bearer":
        # No token at all is not an attempt at a sign-in, so it does not count to the limit.
        reason = "Authorization: a bearer token is required"
        raise _refuse(request, status.HTTP_401_UNAUTHORIZED, reason, challenge)
    verifier: TokenVerifier = request.app.state.verifier
    try:
        return await verifier.verify(credentials.credentials)
    except TokenRejected as exc:
        limiter.failed(client)
        reason = f"Authorization: {exc}"
        challenge = {
            "WWW-Authenticate": f'Bearer realm="hearth", error="invalid_token", '
            f'error_description="{exc}"'
        }
        raise _refuse(request, status.HTTP_401_UNAUTHORIZED, reason, challenge) from exc


async def _check_record(
    request: Request, caller: Caller, kind: str, param: str, record_id: str
) -> None:
    lookups: dict[str, RecordScopeLookup] = request.app.state.runtime.record_scopes
    lookup = lookups.get(kind)
    if lookup is None:
        raise _refuse(request, status.HTTP_403_FORBIDDEN, f"no reach rule for {kind} records")
    scope = await lookup(caller.organisation, record_id)
    if scope is None:
        return  # no such record: the route answers its own 404
    if not caller.sees(scope.team_id, *scope.worker_ids, made_by=scope.made_by):
        raise _refuse(
            request,
            status.HTTP_404_NOT_FOUND,
            f"{param}: no such {kind} in your organisation",
        )


def audit_record(request: Request, kind: str, record_id: str) -> None:
    """For routes that create a record: name it in the request's audit entry."""
    access = access_of(request)
    access.record_kind, access.record_id = kind, record_id


def audit_listed(request: Request, kind: str, record_ids: Iterable[str]) -> None:
    """For routes that list records: name what the answer showed, so "who has seen this
    person's record" finds list views too (a caseload shows names)."""
    access = access_of(request)
    access.record_kind = kind
    access.listed_ids = list(itertools.islice(record_ids, MAX_LISTED))


CallerDep = Annotated[Caller, Depends(require_caller)]
