"""Reading arrears CSVs: bad rows named by line and column; good rows always go on."""

from __future__ import annotations

import pytest

from services.referral.arrears.csv_rows import CsvFileError, read_csv
from shared.codes import LegalStage


def rows_of(text: str):
    return read_csv(text.encode()).rows


def test_good_rows_with_human_spellings() -> None:
    parsed = read_csv(
        "\ufeffTenancy Ref,Balance,Weekly Rent,Trend,Legal Stage,Eviction Date,ASB,Notes\n"
        'T-1,"£1,234.50",95.5,Increasing,Possession order,14/02/2026,yes,ignored\n'
        "T-2,0,100,,,,no,\n".encode()
    )
    first, second = parsed.rows
    assert parsed.ignored_columns == ["Notes"]
    assert first.error is None and first.line == 2
    assert first.alert.arrears_balance == 1234.5
    assert first.alert.legal_stage == LegalStage.POSSESSION_ORDER
    assert first.alert.eviction_date.isoformat() == "2026-02-14"
    assert first.alert.asb_issues is True
    assert second.alert.arrears_balance == 0 and second.line == 3


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("T-1,lots,100,", "balance: Input should be a valid number"),
        (",200,100,", "tenancy_reference: Field required"),
        ("T-1,200,-5,", "weekly rent: must be between £0.01 and £10,000"),
        ("T-1,200,100,31/02/2026", "eviction_date: "),
        ("T-1,200,100,soon", "eviction_date: "),
        ("T-1,200,100,,extra", "row: 5 values for 4 columns"),
    ],
)
def test_bad_row_names_its_column(row: str, reason: str) -> None:
    (parsed,) = rows_of(f"tenancy_reference,balance,weekly rent,eviction_date\n{row}\n")
    assert parsed.alert is None
    assert parsed.error.startswith(reason), parsed.error
    assert parsed.line == 2


def test_line_numbers_count_blank_lines_and_the_header() -> None:
    rows = rows_of("tenancy_reference,arrears_balance\nA,1\n\nB,x\nC,3\n")
    assert [(r.line, r.error is None) for r in rows] == [(2, True), (4, False), (5, True)]


def test_trend_words_and_unknown_ones() -> None:
    rows = rows_of("tenancy_reference,arrears_balance,trend\nA,1,Rising\nB,1,sideways\n")
    assert rows[0].alert.trend == "worsening"
    assert rows[1].error.startswith("trend: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file: empty"),
        (b"tenancy_reference,weekly_rent\nA,1\n", "arrears_balance: required column missing"),
        (b"tenancy_reference,balance,arrears_balance\nA,1,1\n", "arrears_balance: column appears"),
        (b"tenancy_reference,arrears_balance\n\xff\xfe,1\n", "file: not UTF-8"),
    ],
)
def test_unreadable_files_are_refused_whole(content: bytes, message: str) -> None:
    with pytest.raises(CsvFileError, match=message):
        read_csv(content)
