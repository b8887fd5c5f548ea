"""An arrears batch of TenancyAtRisk over the real broker and database, handled per poll."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from services.allocation.store import RiskSignalWrite
from shared.clock import ManualClock
from shared.codes import LegalStage, RiskLevel, SupportNeed
from shared.events.catalogue import TenancyAtRisk
from shared.events.envelope import Envelope
from shared.kafka import ensure_topics
from tests.allocation.helpers import START, Service, assessed, collection, event
from tests.helpers import publish, wait_for

pytestmark = pytest.mark.integration


def alert(
    alert_id: str,
    level: RiskLevel,
    case_id: str | None = None,
    prevention_case_id: str | None = None,
    tenancy: str = "derby-homes:T-known",
) -> Envelope:
    return event(
        TenancyAtRisk(
            tenancy_id=tenancy,
            landlord="derby-homes",
            alert_id=alert_id,
            risk_level=level,
            reasons=[f"{alert_id}: arrears"],
            arrears_balance=900.0,
            legal_stage=LegalStage.NOTICE_SERVED,
            case_id=case_id,
            prevention_case_id=prevention_case_id,
        )
    )


async def test_an_arrears_batch_records_each_signal_once_in_order(make_settings) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    clock = ManualClock(START)

    async def cases() -> dict[str, dict[str, Any]]:
        return {d["_id"]: d for d in await collection(settings, "cases")}

    # No caseworkers: every assessed case stays waiting, so its placement fields stay live.
    first = await Service(settings, clock).start()
    earlier = alert("alert-0", RiskLevel.MEDIUM, case_id="known")
    try:
        await publish(settings, assessed("known", SupportNeed.BENEFITS, risk=RiskLevel.LOW))
        await wait_for(lambda: _waiting(first, "known"))
        await publish(settings, earlier)
        await wait_for(lambda: _signals(cases, "known", 1))
    finally:
        await first.stop()
    before = (await cases())["known"]
    assert before["hours"] == 2.0  # stage 1, not critical

    # Published while nobody consumes, so the next runtime's first poll brings them together.
    raised = alert("alert-1", RiskLevel.HIGH, case_id="known")
    await publish(
        settings,
        raised,
        alert("alert-2", RiskLevel.CRITICAL, case_id="known"),
        raised,  # redelivered within the batch
        earlier,  # redelivered from an earlier poll
        alert("alert-3", RiskLevel.HIGH, case_id="ghost", tenancy="derby-homes:T-ghost"),
        alert("alert-4", RiskLevel.HIGH, prevention_case_id="prevent", tenancy="derby-homes:T-p"),
    )
    second = Service(settings, clock)
    store = second.runtime.allocation_store
    calls: list[int] = []
    add_risk_signals = store.add_risk_signals

    async def counted(signals: Sequence[RiskSignalWrite]) -> None:
        await add_risk_signals(signals)
        calls.append(len(signals))  # once written, placements included

    store.add_risk_signals = counted
    await second.start()
    try:
        # 4 signals for "known", 1 for "ghost", 1 for "prevent"; one call per poll.
        await wait_for(lambda: _handled(calls, 6))
        assert max(calls) > 1, calls  # handled as a batch, not one event at a time
        docs = await cases()
        known = docs["known"]
        assert [s["alert_id"] for s in known["risk_signals"]] == ["alert-0", "alert-1", "alert-2"]
        assert known["hours"] == 3.0  # placement refreshed for the critical signal
        assert "ghost" not in docs  # an alert naming an unknown open case creates nothing
        stub = docs["prevent"]
        assert [s["alert_id"] for s in stub["risk_signals"]] == ["alert-4"]
        assert "status" not in stub  # kept for the ReferralAssessed still to come

        await publish(settings, assessed("prevent", SupportNeed.BENEFITS))
        entry = await wait_for(lambda: _waiting(second, "prevent"))
        assert any(r.startswith("risk high raised by") for r in entry["reasons"])
        merged = (await cases())["prevent"]
        assert merged["status"] == "waiting"
        assert [s["alert_id"] for s in merged["risk_signals"]] == ["alert-4"]
    finally:
        await second.stop()


async def _waiting(service: Service, case_id: str) -> dict[str, Any] | None:
    body = await service.get("/v1/waiting-list")
    return next((e for e in body["entries"] if e["case_id"] == case_id), None)


async def _signals(cases: Any, case_id: str, count: int) -> bool:
    doc = (await cases()).get(case_id) or {}
    return len(doc.get("risk_signals", [])) >= count


async def _handled(calls: list[int], count: int) -> bool:
    return sum(calls) >= count
