"""What every coordinators' report shares: page, styles, tables, charts (reportlab).

Letter size, Helvetica (its Latin-1 covers Spanish), a header with the report's name
and a footer with the page number and the database time it reflects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from prep.corte.anexo import TZ

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#5f6b7a")
ACCENT = colors.HexColor("#0b5cad")
LINE = colors.HexColor("#d5dbe3")
HEAD = colors.HexColor("#e9edf2")
WARN = colors.HexColor("#fff3df")
BAD = colors.HexColor("#fdecea")
SERIES = [colors.HexColor(c) for c in ("#7a5195", "#0b5cad", "#ef8c00", "#1b7f3b")]
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


def local(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "—"
    return value.astimezone(TZ).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def table(rows: Sequence[Sequence[Any]], widths: Sequence[float] | None = None,
          numeric_from: int = 1, font_size: float = 8,
          tones: dict[int, Any] | None = None) -> Table:
    """A table with a shaded header row; columns from ``numeric_from`` right-aligned;
    ``tones`` colours whole rows (row index → colour)."""
    result = Table([list(r) for r in rows], colWidths=widths, repeatRows=1)
    style = [("FONT", (0, 0), (-1, -1), "Helvetica", font_size),
             ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", font_size),
             ("BACKGROUND", (0, 0), (-1, 0), HEAD),
             ("TEXTCOLOR", (0, 0), (-1, -1), INK),
             ("LINEBELOW", (0, 0), (-1, -1), 0.25, LINE),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    if numeric_from >= 0:
        style.append(("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"))
    for row, colour in (tones or {}).items():
        style.append(("BACKGROUND", (0, row), (-1, row), colour))
    result.setStyle(TableStyle(style))
    return result


def bar_chart(labels: Sequence[str], series: Sequence[Sequence[float]],
              names: Sequence[str], title: str, height: float = 11 * cm) -> Drawing:
    """Horizontal bars (one group per label), values 0–100 (%)."""
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 2.2 * cm, 0.9 * cm
    chart.width, chart.height = WIDTH - 3.2 * cm, height - 2.0 * cm
    chart.data = [list(s) for s in series]
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.reverseDirection = 1
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
    chart.valueAxis.valueStep = 10
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = "%d %%"
    chart.barSpacing, chart.groupSpacing = 0.5, 2
    for i in range(len(series)):
        chart.bars[i].fillColor = SERIES[(i + 1) % len(SERIES)]
        chart.bars[i].strokeColor = None
    drawing.add(chart)
    drawing.add(String(0, height - 0.4 * cm, title, fontName="Helvetica-Bold",
                       fontSize=9, fillColor=INK))
    _legend(drawing, names, height)
    return drawing


def line_chart(x_labels: Sequence[str], series: Sequence[Sequence[int]],
               names: Sequence[str], title: str, height: float = 7.5 * cm) -> Drawing:
    """One line per series over buckets 0..n-1, labelled with ``x_labels``."""
    drawing = Drawing(WIDTH, height)
    plot = LinePlot()
    plot.x, plot.y = 1.4 * cm, 1.0 * cm
    plot.width, plot.height = WIDTH - 2.0 * cm, height - 2.2 * cm
    plot.data = [[(i, v) for i, v in enumerate(s)] for s in series] or [[(0, 0)]]
    top = max([1, *(v for s in series for v in s)])
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = 0, top * 1.1
    plot.yValueAxis.labels.fontSize = 7
    plot.yValueAxis.labelTextFormat = "%d"
    n = max(1, len(x_labels))
    step = max(1, n // 12)
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, max(1, n - 1)
    plot.xValueAxis.valueSteps = list(range(0, n, step))
    plot.xValueAxis.labels.fontSize = 6.5
    plot.xValueAxis.labelTextFormat = _labeller(x_labels)
    for i in range(len(series)):
        plot.lines[i].strokeColor = SERIES[i % len(SERIES)]
        plot.lines[i].strokeWidth = 1.6
    drawing.add(plot)
    drawing.add(String(0, height - 0.4 * cm, title, fontName="Helvetica-Bold",
                       fontSize=9, fillColor=INK))
    _legend(drawing, names, height, offset=0)
    return drawing


def _labeller(labels: Sequence[str]) -> Callable[[float], str]:
    def label(value: float) -> str:
        i = round(value)
        return labels[i] if 0 <= i < len(labels) else ""
    return label


def _legend(drawing: Drawing, names: Sequence[str], height: float, offset: int = 1) -> None:
    legend = Legend()
    legend.x, legend.y = WIDTH - 9 * cm, height - 0.15 * cm
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontSize = 7
    legend.dx = legend.dy = 6
    legend.deltax = 2.2 * cm
    legend.colorNamePairs = [(SERIES[(i + offset) % len(SERIES)], n)
                             for i, n in enumerate(names)]
    drawing.add(legend)


def write(path: Path, title: str, story: list[Flowable], taken_at: datetime,
          subtitle: str = "") -> None:
    """Lay out ``story`` into ``path`` with the header and footer."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(1.8 * cm, letter[1] - 1.2 * cm, f"PREP · {title}")
        canvas.drawRightString(letter[0] - 1.8 * cm, letter[1] - 1.2 * cm, subtitle)
        canvas.drawString(1.8 * cm, 1.0 * cm, f"Datos al {local(taken_at, True)} "
                          "(hora de la Ciudad de México)")
        canvas.drawRightString(letter[0] - 1.8 * cm, 1.0 * cm, f"Página {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(path), pagesize=letter, leftMargin=1.8 * cm,
                            rightMargin=1.8 * cm, topMargin=1.8 * cm, bottomMargin=1.6 * cm,
                            title=f"PREP · {title}", author="PREP, nodo central")
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)


def paragraph(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(text, style)


def gap(height: float = 0.3) -> Spacer:
    return Spacer(1, height * cm)
