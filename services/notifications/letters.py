"""Letters rendered to PDF (fpdf2): address block, date, subject, body."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fpdf import FPDF

_REPLACEMENTS = {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"'}


def _latin1(text: str) -> str:
    # The built-in PDF fonts are Latin-1; anything else is replaced, never a failure.
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    return text.replace("\u201d", '"').encode("latin-1", "replace").decode("latin-1")


def render_letter_pdf(
    sender: str,
    address_lines: Sequence[str],
    subject: str,
    body: str,
    dated: date,
) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(subject))
    pdf.set_author(_latin1(sender))
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 6, _latin1(sender), new_x="LMARGIN", new_y="NEXT", align="R")
    pdf.ln(10)
    pdf.set_font("Helvetica", "", 11)
    for line in address_lines:
        pdf.cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.cell(0, 5, dated.strftime("%d %B %Y"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 6, _latin1(subject), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 5.5, _latin1(body), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
