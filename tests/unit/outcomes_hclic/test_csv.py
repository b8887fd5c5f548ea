"""The extract as CSV: one file per section, headed by its column names (H-CLIC's variable
where a source named it, else Hearth's), one line per case ordered by the case identifier."""

from __future__ import annotations

import csv
import io
from datetime import date

from services.outcomes.hclic.extract import extract
from services.outcomes.hclic.fields import COLUMNS, HCLIC_SUPPORT_NEEDS, Section
from shared.codes import ClosureReason as R
from shared.codes import TenancyOutcome as T
from tests.unit.outcomes_hclic.cases import COUNCIL_A, KEY, Q1, case

HEADERS = {
    Section.MAIN: [
        "case_ref",
        "local_authority",
        "referral_date",
        "ASSESS_DATE",
        "duty_start_date",
        "date_facing_homelessness",
        "referral_source",
        "duty_to_refer",
    ],
    Section.SUPPORT: ["case_ref", *(need.value for need in HCLIC_SUPPORT_NEEDS)],
    Section.PREVENTION: [
        "case_ref",
        "duty_start_date",
        "activity",
        "duty_end_date",
        "reason_duty_ended",
        "closure_reason",
        "tenancy_outcome",
    ],
    Section.RELIEF: [
        "case_ref",
        "duty_start_date",
        "activity",
        "duty_end_date",
        "reason_duty_ended",
        "closure_reason",
        "tenancy_outcome",
        "destination_area",
    ],
    Section.ASSISTANCE: [
        "case_ref",
        "support_provided",
        "support_start_date",
        "first_contact_date",
        "days_to_first_contact",
        "plan_agreed_date",
        "reviews_completed",
        "support_end_date",
    ],
}


def sample() -> list:  # type: ignore[type-arg]
    return [
        case(
            f"c{n}",
            referred=date(2026, 4, 1 + n),
            allocated=date(2026, 4, 2 + n),
            first_contact=date(2026, 4, 3 + n),
            closed=date(2026, 6, 1),
            reason=R.EVICTED,
            outcome=T.EVICTED,
            needs=("offending",),
            tenancy_id="t-1",
        )
        for n in range(4)
    ]


def test_every_section_is_headed_by_its_columns() -> None:
    out = extract(sample(), COUNCIL_A, Q1, key=KEY)
    for section, header in HEADERS.items():
        assert [c.name for c in COLUMNS[section]] == header
        text = out.to_csv(section)
        assert text.splitlines()[0] == ",".join(header)
    assert len(HEADERS[Section.SUPPORT]) == 21


def test_one_line_per_case_in_the_order_of_the_case_identifier() -> None:
    out = extract(sample(), COUNCIL_A, Q1, key=KEY)
    text = out.to_csv(Section.PREVENTION)
    assert text.endswith("\r\n") and text.count("\r\n") == 5
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["case_ref"] for r in rows] == sorted(r["case_ref"] for r in rows)
    assert rows[0] == {
        "case_ref": rows[0]["case_ref"],
        "duty_start_date": rows[0]["duty_start_date"],
        "activity": "tenancy_support",
        "duty_end_date": "2026-06-01",
        "reason_duty_ended": "homeless",
        "closure_reason": "evicted",
        "tenancy_outcome": "evicted",
    }
    assert out.to_csv(Section.RELIEF) == ",".join(HEADERS[Section.RELIEF]) + "\r\n"


def test_a_support_line_flags_each_need() -> None:
    out = extract(sample()[:1], COUNCIL_A, Q1, key=KEY)
    line = out.to_csv(Section.SUPPORT).splitlines()[1].split(",")
    flags = dict(zip(HEADERS[Section.SUPPORT][1:], line[1:], strict=True))
    assert {k for k, v in flags.items() if v == "1"} == {"offending"}
