"""Nothing typed is lost by one key (issue 63), keys only on the real window over a real
central, at 1366×768 and 1024×768: a verificador's F8 (or F7, a click on a tab) with a
decision typed or fields marked asks first, staying is Enter and Esc and keeps it all;
leaving gives the acta back ``returned`` and it comes back to the same verificador;
in cotejo Enter walks the rows into the reason and never confirms (it says Ctrl+Enter
does), and Shift+Tab from the reason goes back to the rows."""

from __future__ import annotations

from typing import cast

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtCore import QRect
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from catd.captura.view import CapturaView
from catd.captura.widgets import ValueEdit
from catd.cotejo.view import CotejoView
from catd.cotejo.view import DifiereCheck
from catd.digitalizacion.view import DigitalizacionView
from catd.verificacion.view import VerificacionView
from catd.window import MainWindow
from prep.station.station import Station
from tests.catd.conftest import Central
from tests.catd.conftest import FakeClock
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import scan
from tests.catd.conftest import wait_idle
from tests.catd.test_captura import log_out
from tests.catd.test_captura import wait_estado
from tests.catd.test_work_forms import CAPTURISTA
from tests.catd.test_work_forms import COORDINADOR
from tests.catd.test_work_forms import OTROS
from tests.catd.test_work_forms import VERIFICADOR
from tests.catd.test_work_forms import at_size
from tests.catd.test_work_forms import central
from tests.catd.test_work_forms import ctrl_enter
from tests.catd.test_work_forms import dialog
from tests.catd.test_work_forms import next_acta
from tests.catd.test_work_forms import people
from tests.catd.test_work_forms import station
from tests.catd.work_forms import ALCALDIAS
from tests.catd.work_forms import DIPUTACIONES
from tests.catd.work_forms import JEFATURA
from tests.catd.work_forms import SIZES
from tests.catd.work_forms import assert_fits
from tests.catd.work_forms import assert_focus_on
from tests.catd.work_forms import digitize_here
from tests.catd.work_forms import disputed
from tests.catd.work_forms import fresh_in_order
from tests.catd.work_forms import label_cut
from tests.catd.work_forms import to_validada
from tests.catd.work_forms import to_verificacion
from tests.central.station import query
from tests.harness.work import truth

__all__ = ["central", "people", "station"]  # the fixtures, shared with test_work_forms


def lease_statuses(central: Central, operator: str, clave: str) -> list[str]:
    return [str(s) for (s,) in query(central.node.dsn, "SELECT status FROM leases WHERE "
                                     "operator = %s AND clave_acta = %s ORDER BY granted_at",
                                     operator, clave)]


def stay_with(qtbot: QtBot, window: MainWindow, key: Qt.Key) -> None:
    QTest.keyClick(focused(), key)
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None
                    and QApplication.activeWindow() is window)


def leave_with_tab_enter(qtbot: QtBot, window: MainWindow, button: str) -> None:
    QTest.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused().text() == button  # type: ignore[attr-defined]
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None
                    and QApplication.activeWindow() is window)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_f8_with_a_decision_typed_asks_first_and_the_acta_comes_back(
        size: tuple[int, int], station: Station, window: MainWindow, central: Central,
        people: dict[str, str], qtbot: QtBot) -> None:
    [acta] = fresh_in_order(central, (DIPUTACIONES,))
    to_verificacion(central, people[COORDINADOR], [people[n] for n in OTROS], [acta])
    at_size(qtbot, window, size)
    log_in(qtbot, window, VERIFICADOR)
    tabs = window.workspace.tabs
    view = tabs.currentWidget()
    assert isinstance(view, VerificacionView)
    next_acta(qtbot, view, acta)
    campo = disputed(acta)
    edit = assert_focus_on(view, campo)
    QTest.keyClicks(edit, str(truth(acta)[campo]))

    for key in (Qt.Key.Key_Escape, Qt.Key.Key_Return):  # Esc and the default: stay
        QTest.keyClick(focused(), Qt.Key.Key_F8)
        box = dialog(qtbot)
        assert box.windowTitle() == "¿Cambiar a Cotejo?"
        assert acta.clave in box.text() and "1 campo escrito" in box.text()
        assert focused().text() == "Seguir en el acta"  # type: ignore[attr-defined]
        stay_with(qtbot, window, key)
        assert tabs.currentWidget() is view and view.presenter.started
        assert view.table.edits[[e.campo for e in view.table.edits].index(campo)].text() \
            == str(truth(acta)[campo])
        assert_focus_on(view, campo)  # back where the verificador was
        assert_fits(window, view, size)
    # The tab bar is never a stop of Tab / Shift+Tab, and a click on it asks too.
    assert tabs.tabBar().focusPolicy() == Qt.FocusPolicy.NoFocus
    qtbot.mouseClick(tabs.tabBar(), Qt.MouseButton.LeftButton,
                     pos=tabs.tabBar().tabRect(1).center())
    assert dialog(qtbot).windowTitle() == "¿Cambiar a Cotejo?"
    stay_with(qtbot, window, Qt.Key.Key_Escape)
    assert tabs.currentWidget() is view

    # Tab to «Ir a Cotejo sin guardar», Enter: cotejo; the acta is given back…
    QTest.keyClick(focused(), Qt.Key.Key_F8)
    dialog(qtbot)
    leave_with_tab_enter(qtbot, window, "Ir a Cotejo sin guardar")
    assert isinstance(tabs.currentWidget(), CotejoView)
    qtbot.waitUntil(lambda: lease_statuses(central, people[VERIFICADOR], acta.clave)
                    == ["returned"], timeout=30_000)
    # …and comes back to the same verificador (nobody else would take it here).
    QTest.keyClick(focused(), Qt.Key.Key_F7)
    assert QApplication.activeModalWidget() is None  # nothing typed in cotejo: no question
    assert tabs.currentWidget() is view
    next_acta(qtbot, view, acta)
    edit = assert_focus_on(view, campo)
    QTest.keyClicks(edit, str(truth(acta)[campo]))
    QTest.keyClick(edit, Qt.Key.Key_Return)
    QTest.keyClick(focused(), Qt.Key.Key_Down)  # the first usual reason
    ctrl_enter()
    wait_estado(qtbot, central, acta.clave, "validada")
    assert lease_statuses(central, people[VERIFICADOR], acta.clave) == ["returned",
                                                                        "completed"]
    log_out(qtbot, window)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_cotejo_enter_never_confirms_and_f7_with_marks_asks_first(
        size: tuple[int, int], station: Station, window: MainWindow, central: Central,
        people: dict[str, str], qtbot: QtBot) -> None:
    [acta] = fresh_in_order(central, (ALCALDIAS,))
    to_validada(central, people[COORDINADOR], [people[n] for n in OTROS], [acta])
    at_size(qtbot, window, size)
    log_in(qtbot, window, VERIFICADOR)
    tabs = window.workspace.tabs
    QTest.keyClick(focused(), Qt.Key.Key_F8)
    view = tabs.currentWidget()
    assert isinstance(view, CotejoView)
    next_acta(qtbot, view, acta)
    assert_fits(window, view, size)

    # Enter walks every row into the reason; one more Enter there confirms nothing and
    # says which key does.
    for _ in acta.layout.campos:
        assert isinstance(focused(), DifiereCheck)
        QTest.keyClick(focused(), Qt.Key.Key_Return)
    assert focused() in (view.motivo, view.motivo.lineEdit())
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    assert view.presenter.current is not None and view.header.clave.text() == acta.clave
    assert view.presenter.done == 0
    assert "Ctrl+Enter" in view.feedback.text() and view.feedback.isVisible()
    assert_fits(window, view, size)
    # Shift+Tab from the reason: back to the last row, not out to the tab bar.
    QTest.keyClick(focused(), Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    check = focused()
    assert isinstance(check, DifiereCheck) and check.campo == acta.layout.campos[-1]
    QTest.keyClick(check, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.table.marked() == [acta.layout.campos[-1]], timeout=2_000)

    # F7 with a field marked asks; Esc stays with the mark and the focus on the row.
    QTest.keyClick(focused(), Qt.Key.Key_F7)
    box = dialog(qtbot)
    assert box.windowTitle() == "¿Cambiar a Verificación?"
    assert acta.clave in box.text() and "1 campo marcado" in box.text()
    stay_with(qtbot, window, Qt.Key.Key_Escape)
    assert tabs.currentWidget() is view
    assert view.table.marked() == [acta.layout.campos[-1]] and focused() is check
    # Ctrl+Shift+Tab (and Ctrl+Tab) ask the same.
    QTest.keyClick(focused(), Qt.Key.Key_Backtab, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert dialog(qtbot).windowTitle() == "¿Cambiar a Verificación?"
    stay_with(qtbot, window, Qt.Key.Key_Return)

    # The mark taken back, Ctrl+Enter confirms: the only key that does.
    QTest.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.table.marked() == [], timeout=2_000)
    ctrl_enter()
    qtbot.waitUntil(lambda: f"Acta {acta.clave} cotejada" in view.notice.detail.text())
    qtbot.waitUntil(lambda: query(central.node.dsn, "SELECT cotejo_operator FROM "
                                  "acta_states WHERE clave_acta = %s", acta.clave)
                    == [(people[VERIFICADOR],)], timeout=30_000)
    wait_idle(qtbot, window.context.tasks)
    log_out(qtbot, window)


def test_shift_tab_in_the_verificacion_reason_goes_back_to_the_rows(
        station: Station, window: MainWindow, central: Central, people: dict[str, str],
        qtbot: QtBot) -> None:
    [acta] = fresh_in_order(central, (DIPUTACIONES,))
    to_verificacion(central, people[COORDINADOR], [people[n] for n in OTROS], [acta])
    log_in(qtbot, window, VERIFICADOR)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, VerificacionView)
    next_acta(qtbot, view, acta)
    edit = assert_focus_on(view, disputed(acta))
    QTest.keyClicks(edit, str(truth(acta)[disputed(acta)]))
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert focused() in (view.motivo, view.motivo.lineEdit())
    QTest.keyClick(focused(), Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    last = focused()
    assert isinstance(last, ValueEdit) and last.campo == acta.layout.campos[-1]
    QTest.keyClick(focused(), Qt.Key.Key_Return)  # and forward again, to the reason
    QTest.keyClick(focused(), Qt.Key.Key_Down)
    ctrl_enter()
    wait_estado(qtbot, central, acta.clave, "validada")
    log_out(qtbot, window)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_jefe_s_screens_say_ctrl_tab_and_a_scan_on_digitalizacion_is_explained(
        size: tuple[int, int], station: Station, window: MainWindow, central: Central,
        people: dict[str, str], qtbot: QtBot) -> None:
    at_size(qtbot, window, size)
    log_in(qtbot, window, COORDINADOR)
    tabs = window.workspace.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Acopio", "Digitalización"]
    hint = window.workspace.cycle_hint
    assert hint.isVisible() and hint.text() == "Ctrl+Tab: otra pantalla"
    assert window.rect().contains(QRect(hint.mapTo(window, QPoint(0, 0)), hint.size()))
    assert label_cut(hint) == ""
    QTest.keyClick(focused(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    digitalizacion = tabs.currentWidget()
    assert isinstance(digitalizacion, DigitalizacionView)
    assert not digitalizacion.scan_note.isVisible()
    # A QR read here says where it goes instead of vanishing into the list.
    [acta] = fresh_in_order(central, (DIPUTACIONES,))
    clock = cast(FakeClock, window.context.detector.clock)
    scan(clock, acta.clave)
    qtbot.waitUntil(digitalizacion.scan_note.isVisible, timeout=2_000)
    assert acta.clave in digitalizacion.scan_note.text()
    assert "Acopio" in digitalizacion.scan_note.text()
    assert label_cut(digitalizacion.scan_note) == ""
    QTest.keyClick(focused(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert tabs.currentIndex() == 0
    wait_idle(qtbot, window.context.tasks)
    log_out(qtbot, window)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_zoom_the_capturista_chose_holds_for_the_next_acta(
        size: tuple[int, int], station: Station, window: MainWindow, central: Central,
        people: dict[str, str], qtbot: QtBot) -> None:
    """Issue 63: a width fit at 1024×768 shows the digits about 9 px tall; whoever zooms
    in once (Ctrl++) keeps that zoom for the next acta, from its top-left corner."""
    first, second = fresh_in_order(central, (JEFATURA, JEFATURA))
    digitize_here(central, people[COORDINADOR], [first, second])
    at_size(qtbot, window, size)
    log_in(qtbot, window, CAPTURISTA)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, CapturaView)
    next_acta(qtbot, view, first)
    fitted = view.image.zoom
    QTest.keyClick(focused(), Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(focused(), Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    chosen = view.image.zoom
    assert chosen > fitted * 1.5
    assert view.zoom.text() == f"{round(chosen * 100)} %"
    for campo in first.layout.campos:
        edit = assert_focus_on(view, campo)
        QTest.keyClicks(edit, str(truth(first)[campo]))
        QTest.keyClick(edit, Qt.Key.Key_Return)
    next_acta(qtbot, view, second)
    assert view.image.zoom == chosen and view.zoom.text() == f"{round(chosen * 100)} %"
    assert view.image.verticalScrollBar().value() == view.image.verticalScrollBar().minimum()
    QTest.keyClick(focused(), Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)  # width
    assert view.image.zoom == pytest.approx(fitted, rel=0.05)
    for campo in second.layout.campos:
        edit = assert_focus_on(view, campo)
        QTest.keyClicks(edit, str(truth(second)[campo]))
        QTest.keyClick(edit, Qt.Key.Key_Return)
    for acta in (first, second):
        wait_estado(qtbot, central, acta.clave, "captura_1")
    log_out(qtbot, window)
