"""Reading a landlord's nightly arrears CSV into alerts, row by row. Pure.

A bad row never spoils the file: it is reported with its line number and a reason that names
its column (as spelt in the file's header), and every good row goes on. Only a file that cannot
be read at all (not UTF-8, no header, a required column missing) is refused whole.
Columns are the JSON field names; a few common spellings are accepted too (`balance`,
`tenancy_ref`, `asb`, …), with `£` and thousands separators in amounts and dates as
YYYY-MM-DD or DD/MM/YYYY. A tenancy's end is the columns `tenancy_ended_on` and
`tenancy_end_reason` (both or neither, as in JSON).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from services.referral.arrears.alert import ArrearsAlert
from shared.validation import TODAY_CONTEXT, printable

REQUIRED = ("tenancy_reference", "arrears_balance")
ALIASES = {
    "tenancy_ref": "tenancy_reference",
    "tenancy": "tenancy_reference",
    "reference": "tenancy_reference",
    "balance": "arrears_balance",
    "arrears": "arrears_balance",
    "rent": "weekly_rent",
    "weeks": "weeks_in_arrears",
    "last_payment": "last_payment_date",
    "asb": "asb_issues",
    "neighbour": "neighbour_issues",
    "neighbour_issue": "neighbour_issues",
    "notice_date": "notice_served_date",
    "possession_date": "possession_order_date",
    "tenancy_end_date": "tenancy_ended_on",
    "ended_on": "tenancy_ended_on",
    "end_reason": "tenancy_end_reason",
}
FIELDS = set(ArrearsAlert.model_fields)
MONEY = {"arrears_balance", "weekly_rent", "last_payment_amount"}
DATES = {
    "last_payment_date",
    "notice_served_date",
    "court_date",
    "possession_order_date",
    "eviction_date",
    "reported_on",
    "tenancy_ended_on",
}
UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class CsvFileError(ValueError):
    """The file as a whole cannot be read; the message names what is wrong."""


@dataclass
class CsvRow:
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    alert: ArrearsAlert | None = None
    error: str | None = None

    @property
    def tenancy_reference(self) -> str | None:
        value = self.values.get("tenancy_reference")
        return printable(str(value))[:100] if value else None


@dataclass
class CsvFile:
    rows: list[CsvRow]
    ignored_columns: list[str]


def _column_key(header: str) -> str:
    key = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return ALIASES.get(key, key)


def _clean(name: str, raw: str) -> Any:
    value = raw.strip()
    if name in MONEY:
        value = value.replace("£", "").replace(",", "").strip()
    elif name in DATES:
        match = UK_DATE.match(value)
        if match:
            day, month, year = (int(part) for part in match.groups())
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                return value  # the model names it as an invalid date
    elif name in ("legal_stage", "trend", "tenancy_end_reason"):
        value = re.sub(r"[\s\-]+", "_", value.lower())
    return value


MAX_ROWS = 200_000


def read_csv(content: bytes, max_rows: int = MAX_ROWS, today: date | None = None) -> CsvFile:
    """A whole file in memory (small files and tests); uploads stream through `CsvReader`."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(f"file: not UTF-8 text (byte {exc.start})") from exc
    reader = CsvReader(io.StringIO(text, newline=""), today=today, max_rows=max_rows)
    return CsvFile(rows=list(reader.rows()), ignored_columns=reader.ignored_columns)


class CsvReader:
    """A CSV text stream read one row at a time, so a large file is never held whole. The
    header is read (and judged) at construction; `today` is the service's business date the
    alerts' dates are judged against (shared/validation.py)."""

    def __init__(
        self, lines: Iterable[str], today: date | None = None, max_rows: int = MAX_ROWS
    ) -> None:
        self.today = today
        self.max_rows = max_rows
        self._reader = csv.reader(lines)
        try:
            header = next(self._reader)
        except StopIteration:
            raise CsvFileError("file: empty; expected a header row") from None
        except csv.Error as exc:
            raise CsvFileError(f"file: line 1: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise CsvFileError(f"file: not UTF-8 text (byte {exc.start})") from exc
        self.keys = [_column_key(h) for h in header]
        self.spelt = {
            key: original.strip() for key, original in zip(self.keys, header, strict=True)
        }
        missing = [name for name in REQUIRED if name not in self.keys]
        if missing:
            raise CsvFileError(f"{missing[0]}: required column missing from the header")
        duplicated = sorted({k for k in self.keys if self.keys.count(k) > 1 and k in FIELDS})
        if duplicated:
            raise CsvFileError(f"{self.spelt[duplicated[0]]}: column appears more than once")
        self.ignored_columns = [self.spelt[k] for k in self.keys if k not in FIELDS]

    def rows(self, validate: bool = True) -> Iterator[CsvRow]:
        """Each non-blank row with its line; `validate=False` only splits (to count them)."""
        reader, count = self._reader, 0
        last_line = reader.line_num
        while True:
            start = last_line + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                last_line = reader.line_num
                count += 1
                yield CsvRow(line=start, error=f"row: {exc}")
                continue
            except UnicodeDecodeError as exc:
                raise CsvFileError(f"file: not UTF-8 text (line {start})") from exc
            last_line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            count += 1
            if count > self.max_rows:
                raise CsvFileError(
                    f"file: more than {self.max_rows} rows; split it into smaller files"
                )
            yield (
                _read_row(start, cells, self.keys, self.spelt, self.today)
                if validate
                else (CsvRow(line=start))
            )


def _read_row(
    line: int, cells: list[str], keys: list[str], spelt: dict[str, str], today: date | None
) -> CsvRow:
    if len(cells) > len(keys):
        return CsvRow(line=line, error=f"row: {len(cells)} values for {len(keys)} columns")
    values = {
        key: _clean(key, cell)
        for key, cell in zip(keys, cells, strict=False)
        if key in FIELDS and cell.strip()
    }
    row = CsvRow(line=line, values=values)
    try:
        context = {TODAY_CONTEXT: today} if today else None
        row.alert = ArrearsAlert.model_validate(values, context=context)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else "row"
            problems.append(f"{printable(spelt.get(key, key))}: {error['msg']}")
        row.error = "; ".join(problems)
    return row
