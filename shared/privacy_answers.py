"""Answering the privacy service: one way every service reads `privacy.requests` and publishes
its answer on `privacy.responses` (`shared/events/privacy_events.py`).

A service hands `answer_privacy_requests` two functions of its own: what it holds about the
person (subject access) and how it erases or de-identifies it (erasure). The answer is written
with its event in one new document of the service's `privacy_answers` collection (its outbox),
so it is published by the one relay like every other event and never lost; the document then
keeps only ids, kinds and counts. Its id is derived from the request's envelope, so a
redelivered request does its (idempotent) work again but answers once; a new request (a new
request id) is always answered, even when nothing is held.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.consumer import EventConsumer, PermanentError
from shared.events.envelope import Envelope, follow_on
from shared.events.privacy_events import (
    ErasureCarriedOut,
    ErasureRequested,
    HeldRecord,
    SubjectAccessRequested,
    SubjectDataContributed,
)
from shared.ids import stable_id
from shared.logging import get_logger
from shared.repository import Repository
from shared.runtime import ServiceRuntime
from shared.topics import Topic
from shared.unit_of_work import UnitOfWork

ANSWERS = "privacy_answers"
GROUP_SUFFIX = "privacy"

log = get_logger(__name__)

Access = Callable[[SubjectAccessRequested], Awaitable[list[HeldRecord]]]
# -> (erased per kind, de-identified per kind)
Erase = Callable[[ErasureRequested], Awaitable[tuple[dict[str, int], dict[str, int]]]]


class AnswerRecord(BaseModel):
    """What stays of an answer once published: which request, what kind, the counts."""

    answer_id: str
    request_id: str
    kind: str  # subject-access | erasure
    organisation: str
    person_id: str
    answered_at: datetime
    records: int = 0
    erased: dict[str, int] = {}
    deidentified: dict[str, int] = {}


class PrivacyAnswers:
    def __init__(self, runtime: ServiceRuntime, service: str) -> None:
        self.runtime = runtime
        self.service = service
        collection = runtime.collection(ANSWERS, outbox=True)
        self.repository = Repository(collection, AnswerRecord, "answer_id")

    async def send(self, cause: Envelope, record: AnswerRecord, answer: Envelope) -> bool:
        """Store the answer with its event; False when this request was answered already."""
        uow = UnitOfWork(self.runtime.relay)
        uow.add(self.repository, record, [answer], event_id=cause.id)
        committed = await uow.commit()
        return record.answer_id in committed.written


def _checked(envelope: Envelope, organisation: str) -> None:
    # A request names the organisation it is for; the envelope says who published it.
    if organisation != envelope.organisation:
        raise PermanentError("organisation: differs from the envelope's organisation")


def answer_privacy_requests(
    runtime: ServiceRuntime, service: str, access: Access, erase: Erase
) -> EventConsumer:
    """Read privacy.requests in a consumer group of the service's own and answer each."""
    answers = PrivacyAnswers(runtime, service)
    consumer = runtime.consumer([Topic.PRIVACY_REQUESTS], group=f"{service}-{GROUP_SUFFIX}")

    def record(
        cause: Envelope, kind: str, data: SubjectAccessRequested | ErasureRequested, **counts: Any
    ) -> AnswerRecord:
        return AnswerRecord(
            answer_id=stable_id(cause.id, service, kind),
            request_id=data.request_id,
            kind=kind,
            organisation=data.organisation,
            person_id=data.person_id,
            answered_at=runtime.clock.now(),
            **counts,
        )

    @consumer.on(SubjectAccessRequested)
    async def on_access(envelope: Envelope, data: SubjectAccessRequested) -> None:
        _checked(envelope, data.organisation)
        held = await access(data)
        answer = SubjectDataContributed(
            request_id=data.request_id,
            organisation=data.organisation,
            person_id=data.person_id,
            service=service,
            records=held,
        )
        done = record(envelope, "subject-access", data, records=len(held))
        sent = await answers.send(envelope, done, follow_on(envelope, answer, source=service))
        log.info("privacy.access_answered", request_id=data.request_id, records=len(held),
                 repeat=not sent)  # fmt: skip

    @consumer.on(ErasureRequested)
    async def on_erasure(envelope: Envelope, data: ErasureRequested) -> None:
        _checked(envelope, data.organisation)
        erased, deidentified = await erase(data)
        answer = ErasureCarriedOut(
            request_id=data.request_id,
            organisation=data.organisation,
            person_id=data.person_id,
            service=service,
            erased=erased,
            deidentified=deidentified,
        )
        done = record(envelope, "erasure", data, erased=erased, deidentified=deidentified)
        sent = await answers.send(envelope, done, follow_on(envelope, answer, source=service))
        log.info("privacy.erasure_answered", request_id=data.request_id, erased=erased,
                 deidentified=deidentified, repeat=not sent)  # fmt: skip

    return consumer
