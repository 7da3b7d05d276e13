"""What every coordinators' report shares: page, styles, tables, charts (reportlab).

The look of every PREP document (:mod:`prep.pdf_look`), a header with the report's name
and a footer with the page number and the database time it reflects.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing
from reportlab.graphics.shapes import String
from reportlab.lib import colors
from reportlab.lib.units import cm
from reportlab.platypus import Flowable

from prep.corte.anexo import TZ
from prep.pdf_look import BAD
from prep.pdf_look import H2
from prep.pdf_look import INK
from prep.pdf_look import MONO
from prep.pdf_look import MUTED
from prep.pdf_look import SMALL
from prep.pdf_look import TITLE
from prep.pdf_look import WARN
from prep.pdf_look import WIDTH
from prep.pdf_look import gap
from prep.pdf_look import lay_out
from prep.pdf_look import paragraph
from prep.pdf_look import table

__all__ = ["BAD", "H2", "MONO", "SMALL", "TITLE", "WARN", "WIDTH", "bar_chart", "gap",
           "line_chart", "local", "num", "paragraph", "pct", "table", "write"]

SERIES = [colors.HexColor(c) for c in ("#7a5195", "#0b5cad", "#ef8c00", "#1b7f3b")]


def local(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "—"
    return value.astimezone(TZ).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


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
    heading = f"PREP · {title}"
    lay_out(path, story, title=heading, author="PREP, nodo central", header=heading,
            subtitle=subtitle, header_font=("Helvetica", 7.5, MUTED),
            footer=f"Datos al {local(taken_at, True)} (hora de la Ciudad de México)")
