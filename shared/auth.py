"""Organisation-scoped API keys: each key belongs to one organisation; no key, no access."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

API_KEY_HEADER = "X-API-Key"
_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


@dataclass(frozen=True)
class Caller:
    organisation: str


def organisation_for_key(api_keys: dict[str, str], presented: str) -> str | None:
    for key, organisation in api_keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            return organisation
    return None


async def require_caller(
    request: Request, api_key: Annotated[str | None, Depends(_scheme)]
) -> Caller:
    if not api_key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"{API_KEY_HEADER}: header required",
            {"WWW-Authenticate": "ApiKey"},
        )
    organisation = organisation_for_key(request.app.state.settings.api_keys, api_key)
    if organisation is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"{API_KEY_HEADER}: unknown key")
    return Caller(organisation=organisation)


CallerDep = Annotated[Caller, Depends(require_caller)]
