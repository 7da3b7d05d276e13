"""The dashboard's look: its style sheet over the shared kit's palette (:mod:`qtkit`),
and the text formats.

Colours carry meaning: green on time/online, amber behind or to look at, red far behind,
offline or failing, blue for the live state. Times are shown in the time of Mexico City.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from prep.corte.anexo import TZ
from qtkit.palette import ACCENT
from qtkit.palette import CARD
from qtkit.palette import INK
from qtkit.palette import LINE
from qtkit.palette import MUTED
from qtkit.palette import PAPER
from qtkit.palette import tones
from qtkit.style import apply_style

TONES = tones("live", idle_soft="#eef1f5")
#: The throughput series' colours, in FLOW_LABELS order.
SERIES = ("#7a5195", "#0b5cad", "#ef8c00", "#1b7f3b")

STYLE = f"""
QMainWindow, QWidget#page {{ background: {PAPER}; }}
QLabel {{ color: {INK}; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#title {{ font-size: 15pt; font-weight: 600; }}
QLabel#sectionTitle {{ font-size: 11pt; font-weight: 600; color: {INK}; }}
QLabel#empty {{ color: {MUTED}; font-size: 12pt; padding: 40px; }}
QFrame#card {{ background: {CARD}; border: 1px solid {LINE}; border-radius: 6px; }}
QLabel#cardValue {{ font-size: 19pt; font-weight: 600; }}
QLabel#cardLabel {{ color: {MUTED}; font-size: 9pt; text-transform: uppercase; }}
QLabel#cardPct {{ color: {ACCENT}; font-size: 10pt; font-weight: 600; }}
QTableView {{ background: {CARD}; border: 1px solid {LINE}; gridline-color: #edf0f4;
             selection-background-color: #cfe0f5; selection-color: {INK}; }}
QHeaderView::section {{ background: #e9edf2; color: {INK}; border: none;
                        border-right: 1px solid {LINE}; padding: 4px 6px;
                        font-weight: 600; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ padding: 7px 16px; color: {MUTED}; background: transparent;
               border-bottom: 3px solid transparent; }}
QTabBar::tab:selected {{ color: {INK}; border-bottom: 3px solid {ACCENT}; font-weight: 600; }}
QFrame#banner {{ border-radius: 4px; }}
QPushButton {{ padding: 5px 14px; }}
QLabel#formError {{ color: {TONES["error"][0]}; }}
QStatusBar QLabel {{ padding: 0 4px; }}
"""
for _tone, (_strong, _soft) in TONES.items():
    STYLE += (f'QFrame#banner[tone="{_tone}"] {{ background: {_soft}; '
              f'border: 1px solid {_strong}; }}\n'
              f'QFrame#banner[tone="{_tone}"] QLabel {{ color: {_strong}; }}\n')


def apply(app: QApplication) -> None:
    """Give the application the dashboard's font and style sheet."""
    apply_style(app, STYLE, 10)


def soft(tone: str) -> QColor:
    return QColor(TONES[tone][1])


def strong(tone: str) -> QColor:
    return QColor(TONES[tone][0])


def num(value: int | None) -> str:
    """12345 → ``12,345`` (Mexican thousands separator); None → ``—``."""
    return "—" if value is None else f"{value:,}"


def pct(value: float | None) -> str:
    """A percentage with one decimal (shown, never published: rounding is fine)."""
    return "—" if value is None else f"{value:.1f} %"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``1 corte``, ``2 cortes``, ``1,234 actas`` (``plural_form`` when not just +s)."""
    word = singular if n == 1 else (plural_form or singular + "s")
    return f"{num(n)} {word}"


def local(value: datetime | None, with_date: bool = False) -> str:
    """A database time in Mexico City's time."""
    if value is None:
        return "—"
    return value.astimezone(TZ).strftime("%d/%m/%Y %H:%M:%S" if with_date else "%H:%M:%S")


def ago(value: datetime | None, now: datetime) -> str:
    """How long ago, in words: ``hace 3 min``."""
    if value is None:
        return "nunca"
    seconds = max(0, int((now - value).total_seconds()))
    if seconds < 60:
        return f"hace {seconds} s"
    if seconds < 3600:
        return f"hace {seconds // 60} min"
    if seconds < 86400:
        return f"hace {seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"hace {seconds // 86400} d"
