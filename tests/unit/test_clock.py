from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.clock import OffsetFileClock, SystemClock, clock_from_settings


def test_offset_file_moves_time_forward(tmp_path: Path) -> None:
    offset_file = tmp_path / "offset"
    clock = OffsetFileClock(offset_file, reread_seconds=0)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)  # no file: real time
    offset_file.write_text(str(timedelta(weeks=12).total_seconds()))
    ahead = clock.now() - datetime.now(UTC)
    assert timedelta(weeks=12) - timedelta(seconds=5) < ahead < timedelta(weeks=12, seconds=5)


def test_bad_offset_reads_as_none(tmp_path: Path) -> None:
    offset_file = tmp_path / "offset"
    offset_file.write_text("soon")
    clock = OffsetFileClock(offset_file, reread_seconds=0)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_without_a_file_setting_the_clock_is_the_system_clock() -> None:
    assert isinstance(clock_from_settings(""), SystemClock)
