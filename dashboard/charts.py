"""Throughput over time: actas entering each phase per 10 minutes (QtCharts)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCharts import QChart
from PySide6.QtCharts import QChartView
from PySide6.QtCharts import QDateTimeAxis
from PySide6.QtCharts import QLineSeries
from PySide6.QtCharts import QValueAxis
from PySide6.QtCore import QDate
from PySide6.QtCore import QDateTime
from PySide6.QtCore import QMargins
from PySide6.QtCore import QPointF
from PySide6.QtCore import Qt
from PySide6.QtCore import QTime
from PySide6.QtGui import QColor
from PySide6.QtGui import QFont
from PySide6.QtGui import QPainter
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QWidget

from central.controlroom.overview import BUCKET
from central.controlroom.overview import FLOW_LABELS
from central.controlroom.overview import Overview
from dashboard import theme
from dashboard.views import titled_page
from prep.corte.anexo import TZ
from qtkit.palette import LINE


def buckets(series: dict[str, list[tuple[datetime, int]]]
            ) -> tuple[list[datetime], dict[str, list[int]]]:
    """Every 10-minute bucket from the first to the last event, with zeros filled in."""
    times = sorted({t for points in series.values() for t, _n in points})
    if not times:
        return [], {p: [] for p in series}
    axis = []
    t = times[0]
    while t <= times[-1]:
        axis.append(t)
        t += BUCKET
    values = {}
    for phase, points in series.items():
        counts = dict(points)
        values[phase] = [counts.get(t, 0) for t in axis]
    return axis, values


class ThroughputView(QWidget):
    """One line per phase; the busiest 10 minutes are read off the left axis."""

    def __init__(self) -> None:
        super().__init__()
        layout, self.summary = titled_page(self, "Ritmo: actas por cada 10 minutos")
        self.chart = QChart()
        self.chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.chart.setBackgroundRoundness(6)
        self.chart.setMargins(QMargins(8, 8, 8, 8))
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignTop)
        self.view = QChartView(self.chart)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.empty = QLabel("Aún no hay actividad: las curvas aparecen con el primer "
                            "acopio.")
        self.empty.setObjectName("empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        layout.addWidget(self.stack, 1)
        self.series: dict[str, QLineSeries] = {}
        self.x_axis = QDateTimeAxis()
        self.x_axis.setFormat("HH:mm")
        self.x_axis.setTitleText("Hora (Ciudad de México)")
        self.y_axis = QValueAxis()
        self.y_axis.setLabelFormat("%d")
        self.y_axis.setTitleText("Actas por 10 min")
        small = QFont()
        small.setPointSize(8)
        for axis in (self.x_axis, self.y_axis):
            axis.setLabelsFont(small)
            axis.setGridLineColor(QColor(LINE))
        self.chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        for (phase, name), colour in zip(FLOW_LABELS.items(), theme.SERIES, strict=True):
            line = QLineSeries()
            line.setName(name)
            line.setPen(QPen(QColor(colour), 2.2))
            self.chart.addSeries(line)
            line.attachAxis(self.x_axis)
            line.attachAxis(self.y_axis)
            self.series[phase] = line

    def show_overview(self, ov: Overview) -> None:
        axis, values = buckets({p: list(v) for p, v in ov.throughput.items()})
        if not axis:
            self.stack.setCurrentWidget(self.empty)
            self.summary.setText(f"Ventana: últimas "
                                 f"{ov.settings.ventana.total_seconds() / 3600:g} h.")
            return
        stamps = [_wall_ms(t) for t in axis]
        top = 1
        for phase, line in self.series.items():
            counts = values.get(phase, [0] * len(axis))
            line.replace([_point(ms, n) for ms, n in zip(stamps, counts, strict=True)])
            top = max(top, *counts)
        self.x_axis.setRange(QDateTime.fromMSecsSinceEpoch(stamps[0]),
                             QDateTime.fromMSecsSinceEpoch(stamps[-1]))
        self.x_axis.setTickCount(min(13, max(2, len(axis))))
        self.y_axis.setRange(0, _nice(top))
        self.y_axis.applyNiceNumbers()
        last = {FLOW_LABELS[p]: v[-1] for p, v in values.items()}
        self.summary.setText(
            f"Últimos 10 minutos ({theme.local(axis[-1])}): "
            + ", ".join(f"{name} {theme.num(n)}" for name, n in last.items())
            + f". Ventana: últimas {ov.settings.ventana.total_seconds() / 3600:g} h.")
        self.stack.setCurrentWidget(self.view)


def _wall_ms(t: datetime) -> int:
    """``t`` as the axis will print it: Mexico City's wall clock, whatever the time zone
    of the machine (the axis formats in the machine's local time)."""
    mx = t.astimezone(TZ)
    return int(QDateTime(QDate(mx.year, mx.month, mx.day),
                         QTime(mx.hour, mx.minute, mx.second)).toMSecsSinceEpoch())


def _point(ms: int, n: int) -> QPointF:
    return QPointF(float(ms), float(n))


def _nice(value: int) -> int:
    return int(value * 1.1) + 1

