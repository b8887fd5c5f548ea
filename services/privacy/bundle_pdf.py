"""The subject-access bundle as a readable PDF (fpdf2): a cover page with the person id, the
organisation and the dates, who the data was shared with, then one section per service."""

from __future__ import annotations

import json
from typing import Any

from services.privacy.bundle import Bundle
from shared.events.privacy_events import HeldRecord
from shared.pdf_writer import PdfWriter

MAX_VALUE = 2000  # characters of one field shown; the JSON bundle has it whole


class _Writer(PdfWriter):
    def pair(self, label: str, value: Any) -> None:
        self.line(f"{label}: {value if value not in (None, '', []) else '-'}")


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE else f"{text[:MAX_VALUE]}… (in full in the JSON bundle)"


def _record(out: _Writer, record: HeldRecord) -> None:
    out.pdf.ln(2)
    out.line(f"{record.kind} {record.record_id}", size=10, bold=True)
    out.pair("Held in", record.held_in)
    out.pair("Held since", record.held_since.isoformat() if record.held_since else None)
    out.pair("Last changed", record.last_changed.isoformat() if record.last_changed else None)
    out.pair("Shared with", ", ".join(record.shared_with))
    for key, value in record.data.items():
        out.line(f"  {key}: {_value(value)}", size=9, height=4.5)


def render_bundle_pdf(bundle: Bundle) -> bytes:
    out = _Writer()
    out.pdf.set_title(out.text(f"Subject access bundle {bundle.request_id}"))
    out.pdf.set_author(out.text(bundle.organisation))
    out.pdf.add_page()
    out.line("Subject access bundle", size=20, bold=True, height=10)
    out.line("Everything Hearth holds about the person, as every service answered it.", size=10)
    out.pdf.ln(6)
    out.pair("Person id", bundle.person_id)
    out.pair("Organisation", bundle.organisation)
    out.pair("Request", bundle.request_id)
    out.pair("Received on", bundle.received_on.isoformat())
    out.pair("Due on", bundle.due_on.isoformat())
    out.pair("Fulfilled at", bundle.fulfilled_at.isoformat() if bundle.fulfilled_at else None)
    out.pair("Produced at", bundle.produced_at.isoformat())
    out.pair("Records", bundle.records)
    out.pdf.ln(4)
    out.line("Contents", size=12, bold=True, height=7)
    for section in bundle.services:
        out.line(f"{section.service}: {section.count} record(s)")
    out.pdf.ln(4)
    out.line("Shared with", size=12, bold=True, height=7)
    out.pair("Organisations named on the records", ", ".join(bundle.shared_with.organisations))
    out.pair("Entries of who saw or changed the records", len(bundle.shared_with.seen_or_changed))
    out.pair("Data-sharing agreements", len(bundle.shared_with.agreements))
    for section in bundle.services:
        out.pdf.add_page()
        out.line(f"{section.service}", size=16, bold=True, height=9)
        out.line(f"{section.count} record(s), answered {section.answered_at.isoformat()}")
        if not section.records:
            out.line("Nothing held about the person.")
        for record in section.records:
            _record(out, record)
    return out.output()
