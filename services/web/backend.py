"""The services' APIs, called on the signed-in user's behalf with the user's own token: the
web app holds no data of its own and reads no other service's collections, so every rule
of role, team and organisation, and every audit entry, is the API's."""

from __future__ import annotations

from typing import Any

import httpx

from shared.audit import REQUEST_ID_HEADER


class ApiError(Exception):
    """A refusal or failure of a service's API, kept whole for the page to explain."""

    def __init__(self, service: str, status: int, detail: Any) -> None:
        super().__init__(f"{service}: {status} {detail}")
        self.service = service
        self.status = status
        self.detail = detail

    def field_errors(self) -> dict[str, str]:
        """A 422's errors by field (the last part of each error's location)."""
        errors: dict[str, str] = {}
        detail = self.detail
        if isinstance(detail, dict):
            detail = detail.get("errors") or detail.get("detail") or []
        if isinstance(detail, list):
            for error in detail:
                if isinstance(error, dict):
                    where = error.get("field") or ".".join(
                        str(p) for p in error.get("loc", []) if p != "body"
                    )
                    errors.setdefault(str(where), str(error.get("msg") or error.get("message")))
        return errors

    @property
    def message(self) -> str:
        detail = self.detail
        if isinstance(detail, dict):
            detail = detail.get("detail", detail)
        return detail if isinstance(detail, str) else str(detail)


class Backend:
    """One request's view of the APIs: `await api.get("support", "/cases/c-1")`."""

    def __init__(
        self, http: httpx.AsyncClient, services: dict[str, str], token: str, request_id: str
    ) -> None:
        self.http = http
        self.services = services
        self.token = token
        self.request_id = request_id

    def _url(self, service: str, path: str) -> str:
        base = self.services.get(service)
        if not base:
            raise ApiError(service, 503, f"the {service} service is not configured")
        return f"{base.rstrip('/')}/v1{path}"

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", REQUEST_ID_HEADER: self.request_id}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = await self.http.request(
                method,
                self._url(service, path),
                params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                json=json,
                files=files,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise ApiError(service, 503, f"the {service} service did not answer") from exc
        if response.is_error:
            try:
                detail: Any = response.json()
            except ValueError:
                detail = response.text[:500]
            if isinstance(detail, dict) and set(detail) == {"detail"}:
                detail = detail["detail"]
            raise ApiError(service, response.status_code, detail)
        if not response.content:
            return None
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.content

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.call("GET", service, path, params=params)

    async def post(self, service: str, path: str, json: Any = None, *, key: str) -> Any:
        """POSTs create: each carries the form's own idempotency key, so a double-click or a
        resubmitted form is one action."""
        return await self.call("POST", service, path, json=json, idempotency_key=key)

    async def put(self, service: str, path: str, json: Any) -> Any:
        return await self.call("PUT", service, path, json=json)

    async def patch(self, service: str, path: str, json: Any) -> Any:
        return await self.call("PATCH", service, path, json=json)
