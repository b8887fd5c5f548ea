"""Concurrent single webhooks are gathered into one pipeline run, results back to each."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.referral.arrears.alert import ArrearsAlert, submission_for
from services.referral.arrears.batcher import AlertBatcher
from services.referral.arrears.decision import Outcome
from services.referral.arrears.planning import AlertResult
from tests.tenancies import TENANCY_ID_KEY


class RecordingPipeline:
    """Stands in for the pipeline only: records the batches it is given."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[Any]] = []
        self.fail = fail

    async def process(self, subs: list[Any]) -> list[AlertResult]:
        self.batches.append(list(subs))
        if self.fail:
            raise ConnectionError("database down")
        return [AlertResult(position=s.position, status=Outcome.UNCHANGED) for s in subs]


def sub(i: int):
    alert = ArrearsAlert(tenancy_reference=f"T-{i}", arrears_balance=1)
    return submission_for(alert, "derby-homes", key=TENANCY_ID_KEY, position=i)


async def test_concurrent_submissions_share_one_run_and_get_their_own_result() -> None:
    pipeline = RecordingPipeline()
    batcher = AlertBatcher(pipeline, max_items=1000, max_wait_seconds=0.01)  # type: ignore[arg-type]
    results = await asyncio.gather(*(batcher.submit(sub(i)) for i in range(50)))
    assert [r.position for r in results] == list(range(50))
    assert len(pipeline.batches) == 1


async def test_a_full_batch_goes_at_once() -> None:
    pipeline = RecordingPipeline()
    batcher = AlertBatcher(pipeline, max_items=10, max_wait_seconds=5)  # type: ignore[arg-type]
    await asyncio.wait_for(asyncio.gather(*(batcher.submit(sub(i)) for i in range(20))), 2)
    assert [len(b) for b in pipeline.batches] == [10, 10]


async def test_a_failure_reaches_every_waiting_caller() -> None:
    batcher = AlertBatcher(RecordingPipeline(fail=True), max_wait_seconds=0.001)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *(batcher.submit(sub(i)) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionError) for o in outcomes)


@pytest.mark.parametrize("n", [1])
async def test_a_lone_submission_waits_only_briefly(n: int) -> None:
    batcher = AlertBatcher(RecordingPipeline(), max_wait_seconds=0.001)  # type: ignore[arg-type]
    assert (await asyncio.wait_for(batcher.submit(sub(n)), 1)).position == n
