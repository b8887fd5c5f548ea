"""Phase 5, the presentation pack as a document: "A 'presentation pack' of information and
documents, should be sent to the Housing Options Officer or Manager by email a day in advance
of the presentation and handed over in hard copy on the day."

Generated when the pack is due (the day before), from the case as it stands: the covering
letter "signed by the caseworker stating that the client is making a Part VII application and
summarising key information such as the basis for their local connection", then the list of the
pack's documents with their status. Pure: the case and the time in, the PDF (fpdf2) out.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from fpdf import FPDF

from services.reconnection import pack
from services.reconnection.local_connection import area_key
from services.reconnection.model import (
    ItemStatus,
    PackDocument,
    PackDocumentItem,
    PackItem,
    PackRecipient,
    ReconnectionCase,
)
from shared.ids import stable_id

_REPLACEMENTS = {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"'}
STATUS_TEXT = {
    ItemStatus.DONE: "enclosed",
    ItemStatus.NOT_APPLICABLE: "not applicable",
    ItemStatus.OPEN: "to follow",
}


def recipient(case: ReconnectionCase) -> PackRecipient | None:
    """The destination authority's contact the pack goes to: the latest logged contact for the
    destination area with an email (else the latest for the area, who cannot be emailed)."""
    if case.destination_area is None:
        return None
    key = area_key(case.destination_area)
    contacts = [c for c in case.authority_contacts if area_key(c.area) == key]
    chosen = next((c for c in reversed(contacts) if c.email), contacts[-1] if contacts else None)
    if chosen is None:
        return None
    return PackRecipient(
        area=case.destination_area,
        name=chosen.contact_name,
        email=chosen.email,
        organisation=chosen.organisation,
    )


def items(case: ReconnectionCase) -> list[PackDocumentItem]:
    listed = []
    for item in PackItem:
        record = case.pack.get(item.value)
        listed.append(
            PackDocumentItem(
                item=item,
                description=pack.DESCRIPTIONS[item],
                status=record.status if record else ItemStatus.OPEN,
                reason=record.reason if record else None,
                note=record.note if record else None,
            )
        )
    return listed


def _connection_basis(case: ReconnectionCase) -> str:
    if case.local_connection is None or case.destination_area is None:
        return "not recorded"
    key = area_key(case.destination_area)
    for candidate in case.local_connection.result.candidates:
        if area_key(candidate.area) == key:
            return "; ".join(f"{g.kind.replace('_', ' ')}: {g.detail}" for g in candidate.grounds)
    return "not recorded"


def covering_letter(case: ReconnectionCase, to: PackRecipient | None, day: date) -> tuple[str, str]:
    """The email's subject and the covering letter (also the email's body)."""
    destination = case.destination_area or "the destination authority"
    subject = f"Presentation pack: Part VII application at {destination} on {day:%d %B %Y}"
    listed = "\n".join(
        f"- {i.description}: {STATUS_TEXT[i.status]}" + (f" ({i.reason})" if i.reason else "")
        for i in items(case)
    )
    caseworker = case.lead_worker_id or "the lead caseworker"
    body = (
        f"Dear {to.name if to and to.name else 'Housing Options Officer'},\n\n"
        f"Our client (reference {case.case_id}) will present at {destination} Housing Options "
        f"on {day:%d %B %Y}, making a homelessness application under Part VII of the Housing "
        f"Act 1996. A caseworker will attend with them.\n\n"
        f"The client has been rough sleeping and is supported by our Safe Connections "
        f"reconnection service.\n\n"
        f"Basis of the local connection with {destination}: {_connection_basis(case)}.\n\n"
        f"Documents in this pack (copies attached; originals handed over on the day):\n"
        f"{listed}\n\n"
        f"Signed: {caseworker}, caseworker, {case.organisation}"
    )
    return subject, body


def _latin1(text: str) -> str:
    # The built-in PDF fonts are Latin-1; anything else is replaced, never a failure.
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    return text.replace("\u201d", '"').encode("latin-1", "replace").decode("latin-1")


def render_pdf(case: ReconnectionCase, subject: str, body: str, generated_at: datetime) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(generated_at)  # the same case and time give the same bytes
    pdf.set_title(_latin1(subject))
    pdf.set_author(_latin1(case.organisation))
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, _latin1("Presentation pack"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 5, _latin1(f"{case.organisation}, {generated_at:%d %B %Y}"), new_x="LMARGIN")
    pdf.ln(10)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 6, _latin1(subject), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 5.5, _latin1(body), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def document_id(case_id: str, day: date) -> str:
    return stable_id(case_id, "presentation-pack", day.isoformat())


def generate(case: ReconnectionCase, day: date, now: datetime) -> tuple[PackDocument, bytes]:
    """The pack for the presentation on `day`: its record (with the letter) and the PDF."""
    to = recipient(case)
    subject, body = covering_letter(case, to, day)
    pdf = render_pdf(case, subject, body, now)
    document = PackDocument(
        document_id=document_id(case.case_id, day),
        generated_at=now,
        reconnection_date=day,
        destination_area=case.destination_area or "",
        recipient=to,
        items=items(case),
        subject=subject,
        letter=body,
        filename=f"presentation-pack-{case.case_id}-{day.isoformat()}.pdf",
        size_bytes=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
    )
    return document, pdf


def delivered_in_time(at: datetime, day: date) -> bool:
    """ "A day in advance of the presentation": before the presentation day begins."""
    return at.date() < day
