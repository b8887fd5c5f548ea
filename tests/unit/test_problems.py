"""Issue 20: "error bodies come in three shapes (`{"detail","field"}`, `{"detail"}`,
`errors:[…]`) and some 422s leak validator wording ("Value error, end: is before start")".
One RFC 9457 problem shape from every handler, with the validator's own words only."""

from __future__ import annotations

from datetime import date

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, model_validator

from shared.http import install_problem_handlers
from shared.problems import (
    KINDS,
    PROBLEM_JSON,
    TYPE_BASE,
    Problem,
    errors_of,
    field_problem,
    validation_error,
)
from shared.unit_of_work import ConcurrentUpdate


class Period(BaseModel):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("end: is before start")
        return self


class Residence(BaseModel):
    residence: list[Period]


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/residence")
    async def residence(body: Residence) -> dict[str, int]:
        return {"periods": len(body.residence)}

    @app.get("/cases/{case_id}")
    async def case(case_id: str) -> None:
        raise HTTPException(404, f"case_id: no case {case_id} in your organisation")

    @app.get("/refused")
    async def refused() -> None:
        raise HTTPException(403, "your roles (auditor) do not allow casework")

    @app.get("/busy")
    async def busy() -> None:
        raise ConcurrentUpdate("case_id: the record changed concurrently; try again")

    return app


async def _call(method: str, path: str, **kw: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kw)  # type: ignore[arg-type]


async def test_a_validators_refusal_names_its_field_in_its_own_words() -> None:
    body = {
        "residence": [
            {"start": "2024-01-01", "end": "2025-01-01"},
            {"start": "2024-06-01", "end": "2024-01-01"},
        ]
    }
    answer = await _call("POST", "/residence", json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON
    problem = Problem.model_validate(answer.json())
    assert problem.type == f"{TYPE_BASE}validation" and problem.status == 422
    assert [(e.field, e.message) for e in problem.errors] == [
        ("residence.1.end", "is before start")
    ]
    assert problem.detail == "residence.1.end: is before start"
    assert "Value error" not in answer.text


async def test_every_refusal_has_the_one_shape() -> None:
    missing = await _call("GET", "/cases/c-9")
    refused = await _call("GET", "/refused")
    busy = await _call("GET", "/busy")
    unknown_route = await _call("GET", "/nowhere")
    for answer in (missing, refused, busy, unknown_route):
        assert answer.headers["content-type"] == PROBLEM_JSON
        assert set(answer.json()) <= {"type", "title", "status", "detail", "instance", "errors"}
        Problem.model_validate(answer.json())
    assert missing.json()["errors"] == [
        {"field": "case_id", "message": "no case c-9 in your organisation"}
    ]
    assert missing.json()["type"] == KINDS["not-found"].type
    assert refused.json()["errors"] == [] and refused.json()["status"] == 403
    assert busy.status_code == 409 and busy.json()["type"] == KINDS["concurrent-update"].type
    assert unknown_route.json()["type"] == KINDS["not-found"].type


def test_the_house_convention_is_read_as_one_field_error() -> None:
    assert [e.field for e in errors_of("Idempotency-Key: already used")] == ["Idempotency-Key"]
    assert [e.field for e in errors_of("0.tenancy_reference: another landlord's")] == [
        "0.tenancy_reference"
    ]
    assert errors_of("too many failed sign-ins from this client; try again later") == []
    checklist = errors_of("phase: engage cannot be completed: checklist item open: a; b")
    assert [(e.field, e.message) for e in checklist] == [
        ("phase", "engage cannot be completed: checklist item open: a; b")
    ]


def test_pydantic_wording_is_taken_off() -> None:
    assert validation_error(["email"], "Value error, must be one address").message == (
        "must be one address"
    )
    lifted = validation_error([], "Value error, person: required for a referral of a person")
    assert (lifted.field, lifted.message) == ("person", "required for a referral of a person")
    same = validation_error(["consent", "expires_on"], "Value error, expires_on: has passed")
    assert (same.field, same.message) == ("consent.expires_on", "has passed")
    plain = validation_error(["limit"], "Input should be less than or equal to 500")
    assert (plain.field, plain.message) == ("limit", "Input should be less than or equal to 500")


def test_a_field_problem_reads_as_a_sentence_naming_the_field() -> None:
    answer = field_problem("Idempotency-Key", "already used", 409, kind="idempotency-key-reused")
    assert answer.media_type == PROBLEM_JSON
    body = Problem.model_validate_json(answer.body)
    assert body.detail == "Idempotency-Key: already used"
    assert body.title == KINDS["idempotency-key-reused"].title


def test_a_subject_access_record_never_carries_a_services_bookkeeping() -> None:
    """`_outbox_token`, `_inbox` and the like are the service's, not the person's."""
    from shared.events.privacy_events import HeldRecord

    held = HeldRecord(
        kind="case",
        record_id="c-1",
        held_in="support/cases",
        data={
            "_id": "c-1",
            "_outbox_token": "t",
            "stage": "stage_1",
            "contacts": [{"_inbox": ["e"], "channel": "phone"}],
        },
    )
    assert held.data == {"stage": "stage_1", "contacts": [{"channel": "phone"}]}
