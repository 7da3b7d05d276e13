"""The CCV's two screens (issue 63), keys only on the real window over a real central at
1366×768 and 1024×768: the capture screen and the tab bar say that Ctrl+Tab reaches
«PREP Casilla»; Ctrl+Tab mid-acta asks first and staying keeps every typed field;
leaving gives the acta back and it comes back to the same capturista; logging out from
Captura never brings the panel forward (its poll would answer a deleted screen)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from catd.captura.view import CapturaView
from catd.casilla.view import IntakePanel
from catd.window import MainWindow
from prep.station.station import Station
from tests.catd.conftest import Central
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.test_captura import acta_of
from tests.catd.test_captura import captures
from tests.catd.test_captura import digitize
from tests.catd.test_captura import fresh_actas
from tests.catd.test_captura import type_values
from tests.catd.test_captura import work_view
from tests.catd.test_work_forms import at_size
from tests.catd.test_work_forms import dialog
from tests.catd.test_work_forms import next_acta
from tests.catd.work_forms import SIZES
from tests.catd.work_forms import assert_fits
from tests.catd.work_forms import assert_focus_on
from tests.central.station import query
from tests.harness.work import add_operators
from tests.harness.work import truth


def ctrl_tab() -> None:
    QTest.keyClick(focused(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ctrl_tab_to_prep_casilla_mid_acta_asks_first_and_the_acta_comes_back(
        size: tuple[int, int], qtbot: QtBot, central: Central, station: Station,
        window: MainWindow) -> None:
    name = f"Celia CCV {size[0]}"
    [celia] = add_operators(central.node, [(name, "capturista", "CCV")])
    digitize(central, fresh_actas(central, 1))
    station.enroll(central.node.url, central.node.enroll_code(None, "ccv"),
                   central.node.cert_sha256)
    window.start()
    at_size(qtbot, window, size)
    log_in(qtbot, window, name)
    tabs = window.workspace.tabs
    view = work_view(qtbot, window)
    assert isinstance(view, CapturaView)
    acta = acta_of(central, view)  # this one, or the last run's for its second capture
    # Where Ctrl+Tab goes is on screen: the legend and the tab bar say it.
    assert "<b>Ctrl+Tab</b> prep casilla" in view.legend.text()
    assert window.workspace.cycle_hint.isVisible()
    assert window.workspace.cycle_hint.text() == "Ctrl+Tab: otra pantalla"
    assert_fits(window, view, size)

    campos = acta.layout.campos
    type_values(view, truth(acta), campos[:3])
    typed = {e.campo: e.text() for e in view.form.edits}
    for key in (Qt.Key.Key_Escape, Qt.Key.Key_Return):  # Esc and the default: stay
        ctrl_tab()
        box = dialog(qtbot)
        assert box.windowTitle() == "¿Cambiar a PREP Casilla?"
        assert acta.clave in box.text() and "3 campos escritos" in box.text()
        QTest.keyClick(focused(), key)
        qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None
                        and QApplication.activeWindow() is window)
        assert tabs.currentWidget() is view
        assert {e.campo: e.text() for e in view.form.edits} == typed
        assert_focus_on(view, campos[3])

    ctrl_tab()
    dialog(qtbot)
    QTest.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused().text() == "Ir a PREP Casilla sin guardar"  # type: ignore[attr-defined]
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(tabs.currentWidget(), IntakePanel))
    qtbot.waitUntil(lambda: query(central.node.dsn, "SELECT status FROM leases WHERE "
                                  "operator = %s AND clave_acta = %s", celia, acta.clave)
                    == [("returned",)], timeout=30_000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    ctrl_tab()  # nothing typed on the panel: straight back, and the acta with it
    assert tabs.currentWidget() is view
    next_acta(qtbot, view, acta)
    type_values(view, truth(acta), campos)
    qtbot.waitUntil(lambda: (celia, truth(acta)) in captures(central, acta.clave),
                    timeout=30_000)

    # Logging out from Captura: the panel never comes forward on the way out.
    fronted: list[QWidget | None] = []
    tabs.currentChanged.connect(lambda _: fronted.append(tabs.currentWidget()))
    QTest.keyClick(focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    assert not any(isinstance(w, IntakePanel) for w in fronted), fronted
    qtbot.waitUntil(lambda: window.context.tasks.pending == 0, timeout=20_000)
