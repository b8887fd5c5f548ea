"""One A4 PDF writer (fpdf2) for every document Hearth prints: the subject-access bundle, the
monthly outcomes report.

Names are in every script, so the text is set in DejaVu Sans (a Unicode TrueType font) where
the machine has it; without it, the built-in Latin-1 font, with what it cannot show replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


class PdfWriter:
    def __init__(self) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_margins(18, 18, 18)
        self.pdf.set_auto_page_break(True, margin=18)
        self.unicode = all((FONT_DIR / name).is_file() for name in FONT_FILES.values())
        if self.unicode:
            for style, name in FONT_FILES.items():
                self.pdf.add_font("DejaVu", style, str(FONT_DIR / name))
        self.family = "DejaVu" if self.unicode else "Helvetica"

    def text(self, value: Any) -> str:
        text = str(value)
        # A lone surrogate from a service's data is shown as "?", never a failure.
        text = text.encode("utf-8", "replace").decode("utf-8")
        if not self.unicode:
            text = text.encode("latin-1", "replace").decode("latin-1")
        return text

    def line(self, value: Any, size: float = 10, bold: bool = False, height: float = 5) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(0, height, self.text(value), new_x="LMARGIN", new_y="NEXT")

    def output(self) -> bytes:
        return bytes(self.pdf.output())
