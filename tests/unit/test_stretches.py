"""A batch cut into stretches keeps its order (no I/O)."""

from __future__ import annotations

from typing import Any

from shared.consumer import stretches


class Busy:
    pass


class Rare:
    pass


def is_busy(data: object) -> bool:
    return isinstance(data, Busy)


def test_stretches_alternate_in_batch_order() -> None:
    kinds = [Busy, Busy, Rare, Busy, Rare, Rare]
    batch: list[tuple[Any, Any]] = [(i, kind()) for i, kind in enumerate(kinds)]
    cut = [(busy, [i for i, _ in stretch]) for busy, stretch in stretches(batch, is_busy)]
    assert cut == [(True, [0, 1]), (False, [2]), (True, [3]), (False, [4, 5])]


def test_an_empty_batch_has_no_stretches() -> None:
    assert list(stretches([], is_busy)) == []
