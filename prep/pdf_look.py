"""The look every PREP document in PDF shares (reportlab): the central's reports, the
simulacro's documents for the committee and the training reports.

Letter size, Helvetica (its Latin-1 covers Spanish), the same colours, paragraph styles
and tables, a header and a footer on every page. In the core, so the simulacro and the
training reports look like the central's without importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Flowable
from reportlab.platypus import Paragraph
from reportlab.platypus import SimpleDocTemplate
from reportlab.platypus import Spacer
from reportlab.platypus import Table
from reportlab.platypus import TableStyle

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#5f6b7a")
LINE = colors.HexColor("#d5dbe3")
HEAD = colors.HexColor("#e9edf2")
GOOD = colors.HexColor("#e6f4ea")
BAD = colors.HexColor("#fdecea")
WARN = colors.HexColor("#fff3df")
WIDTH = letter[0] - 3.6 * cm

_base = getSampleStyleSheet()
TITLE = ParagraphStyle("titulo", parent=_base["Title"], fontSize=17, leading=21,
                       alignment=TA_LEFT, textColor=INK, spaceAfter=4)
H2 = ParagraphStyle("h2", parent=_base["Heading2"], fontSize=12, leading=15,
                    textColor=INK, spaceBefore=10, spaceAfter=4)
BODY = ParagraphStyle("cuerpo", parent=_base["BodyText"], fontSize=9.5, leading=12.5,
                      textColor=INK)
SMALL = ParagraphStyle("chico", parent=BODY, fontSize=7.5, leading=9.5, textColor=MUTED)
MONO = ParagraphStyle("mono", parent=BODY, fontName="Courier", fontSize=7.5, leading=9.5)


def table(rows: Sequence[Sequence[Any]], widths: Sequence[float] | None = None,
          numeric_from: int = 1, font_size: float = 8,
          tones: dict[int, Any] | None = None) -> Table:
    """A table with a shaded header row; columns from ``numeric_from`` right-aligned
    (-1: none); ``tones`` colours whole rows (row index → colour)."""
    result = Table([list(r) for r in rows], colWidths=widths, repeatRows=1)
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", font_size),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", font_size),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD), ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, LINE), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    if numeric_from >= 0:
        style.append(("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"))
    for row, colour in (tones or {}).items():
        style.append(("BACKGROUND", (0, row), (-1, row), colour))
    result.setStyle(TableStyle(style))
    return result


def paragraph(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(text, style)


def gap(height: float = 0.3) -> Spacer:
    return Spacer(1, height * cm)


def lay_out(path: Path, story: list[Flowable], *, title: str, author: str, header: str,
            subtitle: str, footer: str, header_font: tuple[str, float, Any]) -> None:
    """Lay out ``story`` into ``path`` (the document's metadata ``title`` and ``author``):
    on every page ``header`` top left in ``header_font`` (name, size, colour),
    ``subtitle`` top right, ``footer`` bottom left and the page number bottom right."""
    path.parent.mkdir(parents=True, exist_ok=True)
    font, size, colour = header_font

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFillColor(colour)
        canvas.setFont(font, size)
        canvas.drawString(1.8 * cm, letter[1] - 1.2 * cm, header)
        canvas.setFillColor(MUTED)
        canvas.setFont("Helvetica", 7.5)
        canvas.drawRightString(letter[0] - 1.8 * cm, letter[1] - 1.2 * cm, subtitle)
        canvas.drawString(1.8 * cm, 1.0 * cm, footer)
        canvas.drawRightString(letter[0] - 1.8 * cm, 1.0 * cm, f"Página {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(path), pagesize=letter, leftMargin=1.8 * cm,
                            rightMargin=1.8 * cm, topMargin=1.8 * cm, bottomMargin=1.6 * cm,
                            title=title, author=author)
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
