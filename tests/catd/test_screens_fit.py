"""Every screen of the CATD workstation's first steps (alta, login, acopio) fits a
1024×768 display with usable fields (issue 38: acopio would not shrink below ≈1082 px
and its «Paquete sin acta» field was squeezed to ≈50 px), in each state acopio can be
in, with the longest texts those states show."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractButton
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QTableWidget
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from catd.acopio.view import AcopioView
from catd.status import ElidedLabel
from catd.window import MainWindow
from prep.station.acopio import casilla_label
from prep.station.printing import FakePrinter
from prep.station.station import Station
from tests.catd.conftest import ACOPIADOR
from tests.catd.conftest import PERSON_GAP_MS
from tests.catd.conftest import Central
from tests.catd.conftest import FakeClock
from tests.catd.conftest import log_in
from tests.catd.conftest import scan
from tests.catd.conftest import type_as
from tests.catd.conftest import wait_idle
from tests.harness.qt_layout import settle

SMALL = (1024, 768)
MIN_FIELD_PX = 200
"""A code field narrower than this cannot show a CLAVE_ACTA and the text around it."""


def assert_fits(window: MainWindow, page: QWidget, qtbot: QtBot) -> None:
    """The window takes 1024×768 and everything on ``page`` is whole and inside it."""
    window.resize(*SMALL)
    settle(window)
    hint = window.minimumSizeHint()
    assert hint.width() <= SMALL[0] and hint.height() <= SMALL[1], hint
    assert (window.width(), window.height()) == SMALL
    bounds = window.rect()
    for widget in page.findChildren(QWidget):
        if not widget.isVisible() or not isinstance(
                widget, (QLabel, QLineEdit, QComboBox, QAbstractButton, QTableWidget)):
            continue
        where = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
        assert bounds.contains(where), f"{widget!r} {where} outside the window"
        if isinstance(widget, QLineEdit):
            assert widget.width() >= MIN_FIELD_PX, (widget.placeholderText(), widget.width())
        elif isinstance(widget, QLabel) and widget.text():
            if widget.wordWrap():
                assert widget.height() >= widget.heightForWidth(widget.width()), \
                    widget.text()
            else:
                assert widget.width() >= widget.sizeHint().width(), widget.text()
        elif isinstance(widget, (QAbstractButton, QComboBox)):
            assert widget.width() >= widget.minimumSizeHint().width(), widget
    for label in (window.status_bar.central, window.status_bar.operator):
        if label.text():
            assert_drawn_whole(label)


def assert_drawn_whole(label: ElidedLabel) -> None:
    """The text the label chose is drawn entire inside it: the ink of its pixels spans the
    text's advance (issue 35: under the status bar's style sheet QLabel drew the text
    5 px right of where it was measured, and the last letter, «)», was cut)."""
    image = label.grab().toImage()
    background = image.pixelColor(1, 1).lightness()
    ink = [x for x in range(image.width()) for y in range(image.height())
           if abs(image.pixelColor(x, y).lightness() - background) > 80]
    advance = label.fontMetrics().horizontalAdvance(label.text())
    assert ink, label.text()
    assert max(ink) <= label.contentsRect().right(), (label.text(), max(ink))
    assert max(ink) - min(ink) + 1 >= advance - 3, (label.text(), min(ink), max(ink), advance)


def assert_table_whole(table: QTableWidget) -> None:
    """No sideways scrolling, every row shown, the elección names never cut mid-word."""
    header = table.horizontalHeader()
    assert header.length() <= table.viewport().width()
    rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
    assert table.viewport().height() >= rows
    metrics = table.fontMetrics()
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        assert item is not None
        widest = max(metrics.horizontalAdvance(w) for w in item.text().split())
        assert table.columnWidth(0) >= widest + 8, item.text()


def test_the_enrollment_page_fits_1024(window: MainWindow, qtbot: QtBot) -> None:
    assert window.pages.currentWidget() is window.enrollment
    assert_fits(window, window.enrollment, qtbot)


def test_the_login_page_fits_1024(enrolled: Station, window: MainWindow,
                                  qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    qtbot.waitUntil(lambda: bool(window.login.station_line.text()))
    assert_fits(window, window.login, qtbot)


def test_the_acopio_screen_fits_1024_in_every_state(
        enrolled: Station, window: MainWindow, central: Central, clock: FakeClock,
        printer: FakePrinter, qtbot: QtBot) -> None:
    window.resize(*SMALL)
    log_in(qtbot, window, ACOPIADOR)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, AcopioView)
    qtbot.waitUntil(lambda: view.presenter.ready)
    assert_fits(window, view, qtbot)  # ready
    assert_table_whole(view.counters.table)
    here = central.actas_here()
    widest = max(here, key=lambda a: (len(a.eleccion.nombre), len(casilla_label(a.casilla))))

    scan(clock, widest.clave)  # the big fields and the longest elección
    wait_idle(qtbot, view.presenter.tasks)
    assert view.panel.headline.text().startswith("Acopiada a las ")
    assert_fits(window, view, qtbot)

    # The printer runs out of paper: its note stays on screen while acopio goes on,
    # under every state of the panel that follows.
    printer.fail_with = ("La impresora no tiene papel: cargue un rollo nuevo y cierre la "
                         "tapa.")
    others = [a for a in here if a.clave != widest.clave]
    scan(clock, others[0].clave)
    wait_idle(qtbot, view.presenter.tasks)
    assert view.reprint.isVisible()
    assert_fits(window, view, qtbot)

    scan(clock, "099998B010002")  # not in the catalog: the fuera de catálogo row
    assert view.panel.fuera.isVisible()
    assert_fits(window, view, qtbot)

    view.sin_acta.clave.setFocus()
    type_as(clock, others[1].clave, PERSON_GAP_MS)  # typed in the sin acta field, Enter
    wait_idle(qtbot, view.presenter.tasks)
    assert enrolled.store.kinds_for(others[1].clave) == ["sin_acta"]
    scan(clock, others[1].clave)  # registered sin acta: the correction offered
    assert view.panel.corregir.isVisible() and view.reprint.isVisible()
    assert_fits(window, view, qtbot)
    assert_table_whole(view.counters.table)


@pytest.mark.parametrize("width", [1366, 1024])
def test_the_sin_acta_field_is_wide_enough_for_a_clave(
        width: int, enrolled: Station, window: MainWindow, qtbot: QtBot) -> None:
    window.resize(width, 768)
    log_in(qtbot, window, ACOPIADOR)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, AcopioView)
    settle(window)
    field = view.sin_acta.clave
    assert field.width() >= MIN_FIELD_PX
    assert field.width() >= field.fontMetrics().horizontalAdvance("090123B010001") + 20
