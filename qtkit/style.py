"""Applying a program's look, and changing a widget's tone."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget

from qtkit.palette import FONT_FAMILY


def apply_style(app: QApplication, style_sheet: str, points: int) -> None:
    """Give the whole application the PREP font at ``points`` and ``style_sheet``."""
    font = QFont(FONT_FAMILY)
    font.setPointSize(points)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    app.setFont(font)
    app.setStyleSheet(style_sheet)


def repolish(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def set_tone(widget: QWidget, value: str, name: str = "tone") -> None:
    """Colour ``widget`` (the style sheets key on the ``tone`` or ``health`` property)."""
    widget.setProperty(name, value)
    repolish(widget)
