"""The workstation's look: one font, one palette, one style sheet.

Colours carry meaning and nothing else: green recorded, amber look again (duplicate,
other distrito), red not recorded, blue working. Widgets choose a look with their
object name or the dynamic ``tone``/``health`` property.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

FONT_FAMILY = "Noto Sans"
MONO_FAMILY = "DejaVu Sans Mono"

INK = "#1f2933"
MUTED = "#5f6b7a"
LINE = "#d5dbe3"
PAPER = "#f4f6f9"
CARD = "#ffffff"
ACCENT = "#0b5cad"

TONES = {
    # tone: (band and text colour, soft background)
    "ok": ("#1b7f3b", "#e7f5ec"),
    "warn": ("#a35a00", "#fff3df"),
    "error": ("#b3261e", "#fdecea"),
    "pending": ("#0b5cad", "#e8f1fb"),
    "idle": ("#3d4a5c", "#ffffff"),
}


def _tone_rules() -> str:
    rules = []
    for tone, (strong, soft) in TONES.items():
        rules.append(f'#actaPanel[tone="{tone}"] {{ background: {soft}; '
                     f'border: 2px solid {strong}; }}')
        rules.append(f'#actaHeadline[tone="{tone}"] {{ background: {strong}; color: white; }}')
        rules.append(f'QLabel#printerNote[tone="{tone}"] {{ color: {strong}; }}')
        if tone in ("warn", "error"):
            rules.append(f'QLabel#printerNote[tone="{tone}"] {{ background: {soft}; '
                         f'border: 1px solid {strong}; border-radius: 6px; padding: 8px; }}')
        rules.append(f'QLabel#formMessage[tone="{tone}"] {{ color: {strong}; }}')
        rules.append(f'QLabel#statusCentral[health="{tone}"] {{ color: {strong}; }}')
    return "\n".join(rules)


STYLE_SHEET = f"""
QMainWindow, QWidget#page {{ background: {PAPER}; }}
QWidget {{ color: {INK}; font-size: 11pt; }}
QLabel#pageTitle {{ font-size: 20pt; font-weight: 600; }}
QLabel#pageSubtitle, QLabel#caption {{ color: {MUTED}; }}
QLabel#caption {{ font-size: 9pt; font-weight: 600; letter-spacing: 1px; }}
QFrame#card {{ background: {CARD}; border: 1px solid {LINE}; border-radius: 8px; }}
QFrame#header {{ background: {INK}; }}
QFrame#header QLabel {{ color: white; }}
QLabel#headerTitle {{ font-size: 13pt; font-weight: 600; }}
QLabel#headerDetail {{ color: #c3ccd8; }}
QFrame#header QPushButton {{ background: transparent; color: white;
    border: 1px solid #6b7a8c; padding: 4px 12px; border-radius: 4px; }}
QLineEdit, QComboBox {{ background: white; border: 1px solid {LINE}; border-radius: 4px;
    padding: 6px 8px; }}
QComboBox::drop-down {{ border: none; width: 26px; }}
QComboBox::down-arrow {{ width: 10px; height: 10px; }}
QLineEdit:focus, QComboBox:focus {{ border: 2px solid {ACCENT}; }}
QLineEdit#codeEntry {{ font-family: "{MONO_FAMILY}"; font-size: 16pt; padding: 8px 10px; }}
QPushButton {{ background: white; border: 1px solid #aeb8c5; border-radius: 4px;
    padding: 7px 14px; }}
QPushButton:focus {{ border: 2px solid {ACCENT}; }}
QPushButton:disabled {{ color: #9aa5b1; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT};
    font-weight: 600; }}
QPushButton#primary:disabled {{ background: #9dbbe0; border-color: #9dbbe0; }}
QFrame#actaPanel {{ border-radius: 10px; }}
QLabel#actaHeadline {{ font-size: 22pt; font-weight: 700; padding: 10px 18px;
    border-top-left-radius: 8px; border-top-right-radius: 8px; }}
QLabel#actaEleccion {{ font-size: 30pt; font-weight: 700; }}
QLabel#bigValue {{ font-size: 48pt; font-weight: 700; }}
QLabel#actaClave {{ font-family: "{MONO_FAMILY}"; font-size: 18pt; color: {MUTED}; }}
QLabel#actaMessage {{ font-size: 13pt; }}
QLabel#shiftNumber {{ font-size: 40pt; font-weight: 700; color: {ACCENT}; }}
QLabel#fingerprint {{ font-family: "{MONO_FAMILY}"; font-size: 15pt; background: white;
    border: 1px solid {LINE}; border-radius: 4px; padding: 10px; }}
QLabel#formMessage {{ font-size: 11pt; }}
QLabel#printerNote {{ font-size: 11pt; }}
QTableWidget {{ background: white; border: none; gridline-color: {LINE};
    font-size: 12pt; }}
QHeaderView::section {{ background: {PAPER}; border: none; border-bottom: 1px solid {LINE};
    padding: 6px; font-weight: 600; color: {MUTED}; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ padding: 8px 20px; font-size: 12pt; }}
QTabBar::tab:selected {{ border-bottom: 3px solid {ACCENT}; font-weight: 600; }}
QStatusBar#statusBar {{ background: white; border-top: 1px solid {LINE}; }}
QStatusBar#statusBar QLabel {{ padding: 2px 10px; font-size: 10pt; }}
QLabel#statusCentral {{ font-weight: 600; }}
QLabel#statusOperator {{ font-weight: 600; }}
{_tone_rules()}
"""


def apply_theme(app: QApplication) -> None:
    """Set the font and style sheet for the whole application."""
    font = QFont(FONT_FAMILY)
    font.setPointSize(11)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)


def repolish(widget: object) -> None:
    """Re-apply the style sheet after a dynamic property changed."""
    from PySide6.QtWidgets import QWidget

    assert isinstance(widget, QWidget)
    widget.style().unpolish(widget)
    widget.style().polish(widget)
