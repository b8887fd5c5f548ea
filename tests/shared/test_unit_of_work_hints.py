"""What the unit of work's round-trip savers keep: an upsert marked `likely_new` is inserted
without reading first, yet an id that exists is updated once, as any upsert; `created` tells
the documents a unit inserted from those it changed."""

from __future__ import annotations

from typing import Any

import pytest

from shared.unit_of_work import UnitOfWork
from tests.shared.test_spine import counted
from tests.shared.test_unit_of_work import Tally, built, published  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration


async def test_a_likely_new_upsert_of_an_existing_id_is_an_update_applied_once(
    built,  # noqa: F811
    topic_reader,
) -> None:
    stack, settings = built
    seed = UnitOfWork(stack.relay)
    seed.add(stack.tallies, Tally(tally_id="h-old", total=5))
    assert (await seed.commit()).created == {"h-old"}

    def poll() -> tuple[UnitOfWork, list[Any]]:
        uow = UnitOfWork(stack.relay)
        events = []
        for tally_id in ("h-old", "h-new", "h-new"):
            event = counted(tally_id)
            events.append(event)
            uow.upsert(
                stack.tallies,
                tally_id,
                {"$inc": {"total": 1}},
                {"tally_id": tally_id, "total": 1, "opened_on": "2026-11-30"},
                [event],
                event_id=f"alert-{tally_id}-{len(events)}",
                likely_new=True,
            )
        return uow, events

    uow, events = poll()
    committed = await uow.commit()
    assert committed.written == {"h-old", "h-new"}
    assert committed.created == {"h-new"}
    again, _ = poll()  # redelivered: the inserts find their ids taken, the updates repeats
    repeated = await again.commit()
    assert repeated.repeats == {"h-old", "h-new"}
    assert repeated.created == set()
    totals = {
        t: (await stack.tallies.get(t)).model.total  # type: ignore[union-attr]
        for t in ("h-old", "h-new")
    }
    assert totals == {"h-old": 6, "h-new": 2}
    sent = await published(topic_reader, settings, 3)
    assert sorted(sent) == sorted(e.id.encode() for e in events)
