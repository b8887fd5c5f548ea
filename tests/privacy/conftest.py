"""The privacy service in-process on the real broker and database, with real tokens; the
answers of the other services are published by the tests, as those services would."""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.privacy.app import PrivacyRuntime, create_app
from shared.clock import ManualClock
from shared.events.envelope import Envelope, follow_on, from_kafka
from shared.events.privacy_events import (
    PRIVACY_CONTRIBUTORS,
    ErasureCarriedOut,
    HeldRecord,
    SubjectDataContributed,
)
from shared.settings import HearthSettings
from tests.helpers import publish
from tests.identity import bearer

ORG = "derby-council"
OTHER = "leeds-council"
START = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
DPO = bearer(ORG, roles=["data-protection-officer"])
OTHER_DPO = bearer(OTHER, roles=["data-protection-officer"])
ADMIN = bearer(ORG, roles=["organisation-admin"])
AUDITOR = bearer(ORG, roles=["auditor"])
CASEWORKER = bearer(ORG, roles=["caseworker"], teams=["team-a"], caseworker_id="w1")


class PrivacyApp:
    def __init__(self, settings: HearthSettings, clock: ManualClock) -> None:
        self.settings = settings
        self.clock = clock
        self.app = create_app(settings, clock, manage_runtime=False)
        self.runtime: PrivacyRuntime = self.app.state.runtime
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://privacy"
        )

    async def stop(self) -> None:
        await self.http.aclose()
        await self.app.state.verifier.close()
        await self.runtime.mongo.drop_database(self.settings.database_name)
        await self.runtime.stop()

    async def call(
        self, method: str, path: str, headers: Any, status: int, json: Any = None
    ) -> Any:
        response = await self.http.request(method, f"/v1{path}", headers=headers, json=json)
        assert response.status_code == status, (method, path, response.text)
        return response.json() if "json" in response.headers.get("content-type", "") else response


@pytest.fixture
async def privacy(make_settings: Callable[..., HearthSettings]) -> AsyncIterator[PrivacyApp]:
    service = PrivacyApp(make_settings("privacy"), ManualClock(START))
    await service.runtime.start()
    try:
        yield service
    finally:
        await service.stop()


def envelopes(records: list[Any], short_type: str) -> list[Envelope]:
    found = [from_kafka(r.key, r.value, r.headers) for r in records]
    return [e for e in found if e.short_type == short_type]


async def answer_access(
    settings: HearthSettings,
    request: Envelope,
    records: dict[str, list[HeldRecord]],
    services: tuple[str, ...] = PRIVACY_CONTRIBUTORS,
) -> list[Envelope]:
    """Each service's answer, as `shared/privacy_answers.py` makes it."""
    answers = [
        follow_on(
            request,
            SubjectDataContributed(
                request_id=request.data["request_id"],
                organisation=request.organisation,
                person_id=request.data["person_id"],
                service=service,
                records=records.get(service, []),
            ),
            source=service,
        )
        for service in services
    ]
    await publish(settings, *answers)
    return answers


async def answer_erasure(
    settings: HearthSettings, request: Envelope, services: tuple[str, ...] = PRIVACY_CONTRIBUTORS
) -> None:
    await publish(
        settings,
        *[
            follow_on(
                request,
                ErasureCarriedOut(
                    request_id=request.data["request_id"],
                    organisation=request.organisation,
                    person_id=request.data["person_id"],
                    service=service,
                    erased={"record": index + 1},
                    deidentified={"case": 1},
                ),
                source=service,
            )
            for index, service in enumerate(services)
        ],
    )


def _unescape(literal: bytes) -> bytes:
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(match: re.Match[bytes]) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8)])
        return simple.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def pdf_text(pdf: bytes) -> str:
    """The text of an fpdf2 PDF set in a TrueType font: its glyph codes mapped back through
    the font's ToUnicode map (enough to see which characters survived)."""
    streams = []
    for chunk in pdf.split(b"stream")[1::2]:
        data = chunk.strip(b"\r\n").removesuffix(b"end").rstrip()
        try:
            streams.append(zlib.decompress(data))
        except zlib.error:
            streams.append(data)
    # One map per font (regular, bold), each numbering its own glyphs: the text is read
    # through each in turn, and the reading in the right font is among them.
    mappings = []
    for stream in streams:
        if b"beginbfchar" in stream:
            pairs = re.findall(
                rb"<([0-9A-F]{4})> <([0-9A-F]{4,8})>", stream.split(b"endcodespacerange")[-1]
            )
            mappings.append(
                {int(c, 16): bytes.fromhex(u.decode()).decode("utf-16-be") for c, u in pairs}
            )
    literals = [
        _unescape(literal)
        for stream in streams
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", stream, flags=re.S)
    ]
    text = []
    for mapping in mappings:
        for raw in literals:
            codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw) - 1, 2)]
            text.append("".join(mapping.get(c, "?") for c in codes))
    return "\n".join(text)
