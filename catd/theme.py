"""The workstation's look: its style sheet over the shared kit's palette (:mod:`qtkit`).

Colours carry meaning and nothing else: green recorded, amber look again (duplicate,
other distrito), red not recorded, blue working. Widgets choose a look with their
object name or the dynamic ``tone``/``health`` property.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from qtkit.palette import ACCENT
from qtkit.palette import CARD
from qtkit.palette import INK
from qtkit.palette import LINE
from qtkit.palette import MONO_FAMILY
from qtkit.palette import MUTED
from qtkit.palette import PAPER
from qtkit.palette import tones
from qtkit.style import apply_style

TONES = tones("pending", idle_soft="#ffffff")


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


# The captura, verificación and cotejo screens (catd.captura, catd.verificacion,
# catd.cotejo).
_WORK_RULES = f"""
QLineEdit#valueEdit {{ font-family: "{MONO_FAMILY}"; font-size: 13pt; padding: 1px 8px;
    min-height: 20px; }}
QScrollArea#workScroll, QScrollArea#workScroll > QWidget > QWidget {{
    background: transparent; }}
QLineEdit#valueEdit[marca="true"] {{ color: {TONES["warn"][0]}; font-style: italic;
    font-size: 11pt; background: {TONES["warn"][1]}; }}
QLineEdit#valueEdit[difiere="true"] {{ border: 2px solid {TONES["warn"][0]}; }}
QLineEdit#valueEdit:focus {{ border: 2px solid {ACCENT}; background: #f3f8fe; }}
QLabel#fieldLabel {{ font-size: 10pt; }}
QLabel#fieldLabel[grupo="total"] {{ font-weight: 700; }}
QLabel#captureValue {{ font-family: "{MONO_FAMILY}"; font-size: 13pt; padding: 0 6px; }}
QLabel#captureValue[difiere="true"] {{ background: {TONES["warn"][1]};
    color: {TONES["warn"][0]}; font-weight: 700; border-radius: 3px; }}
QLabel#fieldLabel[difiere="true"] {{ color: {TONES["warn"][0]}; font-weight: 700; }}
QLabel#actaTitle {{ font-size: 15pt; font-weight: 700; }}
QLabel#actaClaveSmall {{ font-family: "{MONO_FAMILY}"; font-size: 14pt; color: {MUTED}; }}
QLabel#slotBadge {{ background: {ACCENT}; color: white; font-weight: 700;
    padding: 4px 12px; border-radius: 12px; font-size: 11pt; }}
QLabel#keyLegend {{ color: {MUTED}; font-size: 9pt; }}
QLabel#sumLine {{ font-size: 10pt; font-weight: 600; padding: 3px 8px;
    border-radius: 6px; }}
QLabel#feedback, QLabel#queueLine {{ font-size: 10pt; }}
QPushButton#imageButton {{ padding: 3px 10px; }}
QLabel#noticeDetail {{ font-size: 12pt; font-weight: 600; }}
QLabel#screenKeys {{ color: {MUTED}; font-size: 9pt; background: white;
    padding: 4px 10px; border-top: 1px solid {LINE}; }}
QLabel#imageNotice {{ font-size: 13pt; color: {MUTED}; padding: 40px; }}
QGraphicsView#imageView {{ background: #59606b; }}
QFrame#imageBar {{ background: white; border-bottom: 1px solid {LINE}; }}
QLabel#noticeTitle {{ font-size: 20pt; font-weight: 700; }}
QLabel#noticeText {{ font-size: 13pt; }}
QFrame#noticeCard {{ background: white; border-radius: 10px; }}
""" + "\n".join(
    f'QLabel#sumLine[tone="{tone}"], QLabel#feedback[tone="{tone}"], '
    f'QLabel#queueLine[tone="{tone}"], QLabel#noticeDetail[tone="{tone}"] '
    f'{{ color: {strong}; }}\n'
    f'QLabel#sumLine[tone="{tone}"] {{ background: {soft}; }}\n'
    f'QFrame#noticeCard[tone="{tone}"] {{ border: 2px solid {strong}; }}\n'
    f'QFrame#noticeCard[tone="{tone}"] QLabel#noticeTitle {{ color: {strong}; }}'
    for tone, (strong, soft) in TONES.items())


_COTEJO_RULES = f"""
QCheckBox#difiereCheck {{ padding: 2px 8px; border: 2px solid transparent;
    border-radius: 4px; font-size: 10pt; }}
QCheckBox#difiereCheck:focus {{ border: 2px solid {ACCENT}; background: #f3f8fe; }}
QCheckBox#difiereCheck[difiere="true"] {{ color: {TONES["warn"][0]}; font-weight: 700;
    background: {TONES["warn"][1]}; }}
QCheckBox#difiereCheck[difiere="true"]:focus {{ border: 2px solid {ACCENT}; }}
"""


# The digitalización screen (catd.digitalizacion).
def _digitalizacion_rules() -> str:
    rules = [
        f"QLabel#digiPath {{ font-family: '{MONO_FAMILY}'; font-size: 11pt; }}",
        "QLabel#digiNumber { font-size: 24pt; font-weight: 700; }",
        f"QLabel#digiTileCaption {{ color: {MUTED}; font-size: 9pt; }}",
        "QLabel#digiHeadline { font-size: 14pt; font-weight: 700; padding: 8px 14px; "
        "border-top-left-radius: 7px; border-top-right-radius: 7px; }",
        "QLabel#digiEleccion { font-size: 16pt; font-weight: 700; }",
        "QLabel#digiValue { font-size: 24pt; font-weight: 700; }",
        "QScrollArea#digiScroll, QWidget#digiBody { background: transparent; }",
        f"QLabel#digiClave {{ font-family: '{MONO_FAMILY}'; font-size: 14pt; color: {MUTED}; }}",
        f"QLabel#digiFile {{ color: {MUTED}; font-size: 10pt; }}",
        f"QLabel#digiCheck {{ color: {MUTED}; }}",
        "QLabel#digiBanner { border-radius: 6px; padding: 8px 10px; font-weight: 600; }",
        f"QLabel#digiKeys {{ color: {MUTED}; font-size: 9pt; }}",
        f"QLineEdit#digiClaveEntry {{ font-family: '{MONO_FAMILY}'; font-size: 14pt; }}",
        f"QFrame#digiAssociate {{ background: white; border: 1px dashed {LINE}; "
        "border-radius: 6px; }",
        "QFrame#digiDetail { border-radius: 8px; }",
        # Lighter than the work screens' image view (their rules below are less specific).
        f"QWidget#page[screen=\"digitalizacion\"] #imageView {{ background: #e9edf2; "
        f"border: 1px solid {LINE}; }}",
        f"QWidget#page[screen=\"digitalizacion\"] QLabel#imageNotice {{ color: {MUTED}; "
        "font-size: 12pt; padding: 20px; }",
    ]
    for tone, (strong, soft) in TONES.items():
        rules += [
            f'QFrame#digiDetail[tone="{tone}"] {{ background: {soft}; '
            f"border: 2px solid {strong}; }}",
            f'QLabel#digiHeadline[tone="{tone}"] {{ background: {strong}; color: white; }}',
            f'QLabel#digiNote[tone="{tone}"] {{ color: {strong}; }}',
            f'QLabel#digiNumber[tone="{tone}"] {{ color: {strong}; }}',
            f'QLabel#digiBanner[tone="{tone}"] {{ background: {soft}; color: {strong}; '
            f"border: 1px solid {strong}; }}",
        ]
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
QLabel#tabKeys {{ color: {MUTED}; font-size: 10pt; }}
QStatusBar#statusBar {{ background: white; border-top: 1px solid {LINE}; }}
QStatusBar#statusBar QLabel {{ padding: 2px 10px; font-size: 10pt; }}
QLabel#statusCentral {{ font-weight: 600; }}
QLabel#statusOperator {{ font-weight: 600; }}
QLabel#screenTitle {{ font-size: 16pt; font-weight: 700; }}
QLabel#sectionTitle {{ font-size: 12pt; font-weight: 600; }}
QLabel#bigNumber {{ font-size: 26pt; font-weight: 700; }}
{_tone_rules()}
{_WORK_RULES}
{_COTEJO_RULES}
{_digitalizacion_rules()}
"""


def apply_theme(app: QApplication) -> None:
    """Set the font and style sheet for the whole application."""
    apply_style(app, STYLE_SHEET, 11)
