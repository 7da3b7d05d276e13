"""The coordinators' forms and confirmations, by keys: a form checks before it closes and
keeps what was typed; a corte is never made by a stray Intro; a station is disabled and
enabled from the dashboard, audited with the coordinator's account."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from dashboard.dialogs import OperatorDialog
from dashboard.dialogs import StationDialog
from dashboard.window import DashboardWindow
from tests.dashboard.conftest import Scenario
from tests.dashboard.keys import ALT
from tests.dashboard.keys import CTRL
from tests.dashboard.keys import SHIFT
from tests.dashboard.keys import WAIT_MS
from tests.dashboard.keys import coordinator_window
from tests.dashboard.keys import focused
from tests.dashboard.keys import press
from tests.dashboard.keys import shortcut
from tests.dashboard.keys import type_text
from tests.dashboard.keys import visible
from tests.dashboard.keys import wait_for


@pytest.fixture
def window(qtbot: QtBot, scenario: Scenario) -> Iterator[DashboardWindow]:
    with coordinator_window(qtbot, scenario) as win:
        yield win


def _box_buttons(box: QMessageBox) -> dict[str, bool]:
    return {b.text(): b is box.defaultButton() for b in box.buttons()}


def test_a_corte_needs_an_explicit_yes_and_one_press_is_one_corte(
        qtbot: QtBot, scenario: Scenario, window: DashboardWindow) -> None:
    cortes = scenario.scalar("SELECT count(*) FROM cortes")
    shortcut(qtbot, window, Qt.Key.Key_C, CTRL | SHIFT)
    box = wait_for(qtbot, QMessageBox)
    # Spanish buttons, and «Cancelar» is the default: Intro cancels.
    assert _box_buttons(box) == {"&Hacer el corte": False, "Cancelar": True}
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: visible(QMessageBox) is None, timeout=WAIT_MS)
    assert window.corte_started is None
    assert scenario.scalar("SELECT count(*) FROM cortes") == cortes
    # Alt+H makes it; pressing again while it runs makes no second corte.
    shortcut(qtbot, window, Qt.Key.Key_C, CTRL | SHIFT)
    wait_for(qtbot, QMessageBox)
    press(qtbot, Qt.Key.Key_H, ALT)  # a mnemonic clicks its button a moment later
    qtbot.waitUntil(lambda: window.corte_started is not None, timeout=WAIT_MS)
    assert not window.corte_action.isEnabled()  # Ctrl+Shift+C does nothing meanwhile
    window.corte_action.trigger()
    window.corte_now()
    assert visible(QMessageBox) is None
    assert window.statusBar().currentMessage() == ("Ya se está haciendo un corte: espere a "
                                                   "que termine.")
    qtbot.waitUntil(lambda: window.corte_started is None, timeout=WAIT_MS)
    assert scenario.scalar("SELECT count(*) FROM cortes") == cortes + 1
    assert window.statusBar().currentMessage().startswith("Corte ")
    assert window.corte_action.isEnabled()


def test_the_operator_form_checks_before_closing_and_keeps_what_was_typed(
        qtbot: QtBot, scenario: Scenario, window: DashboardWindow) -> None:
    name = f"Pedro Ruiz {secrets.token_hex(2)}"
    shortcut(qtbot, window, Qt.Key.Key_O, CTRL | SHIFT)
    dialog = wait_for(qtbot, OperatorDialog)
    assert focused() is dialog.name
    type_text(qtbot, name)  # Rol: Acopiador and Sitio: CATD 1, as they come
    press(qtbot, Qt.Key.Key_C, ALT)  # «&Contraseña»
    type_text(qtbot, "corta")  # too short for an account
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "corta")
    press(qtbot, Qt.Key.Key_Return)
    # Refused here, before asking the central, with everything still typed.
    assert dialog.isVisible()
    assert dialog.error.text() == "La contraseña debe tener al menos 10 caracteres."
    assert dialog.name.text() == name and focused() is dialog.password
    # A name the central already has at that site: refused by the central, in the form.
    type_text(qtbot, "una-clave-larga")  # the short one is selected: typed over
    press(qtbot, Qt.Key.Key_P, ALT)  # «Re&pítala» (focus by shortcut selects its text)
    type_text(qtbot, "una-clave-larga")
    press(qtbot, Qt.Key.Key_N, ALT)  # «&Nombre completo»
    type_text(qtbot, "Dora Paz")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.error.text() != "", timeout=WAIT_MS)
    assert dialog.isVisible()
    assert dialog.error.text().startswith("Ya existe un operador «Dora Paz» en ese sitio")
    assert dialog.name.text() == "Dora Paz" and dialog.password.text() == "una-clave-larga"
    assert focused() is dialog.name
    # Fixed, it is created and the form closes.
    type_text(qtbot, name)  # the refused name is selected: typed over
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: visible(OperatorDialog) is None, timeout=WAIT_MS)
    [(actor,)] = scenario.sql("SELECT actor FROM audit_log WHERE event = 'operator_created' "
                              "AND detail->>'name' = %s", name)
    assert actor == scenario.coordinador
    assert window.statusBar().currentMessage().startswith(f"Operador {name} dado de alta")


def test_a_station_is_disabled_and_enabled_from_the_dashboard(
        qtbot: QtBot, scenario: Scenario, window: DashboardWindow) -> None:
    station = scenario.ccv.id
    # Ctrl+3, the arrows down to the CCV's station, Ctrl+Shift+E.
    shortcut(qtbot, window, Qt.Key.Key_3, CTRL)
    view = window.estaciones.table.view
    assert focused() is view
    for _ in range(window.estaciones.table.proxy.rowCount()):
        if window.estaciones.table.selected_key() == station:
            break
        press(qtbot, Qt.Key.Key_Down)
    assert window.estaciones.toggle.text().startswith("Deshabilitar equipo")
    press(qtbot, Qt.Key.Key_E, CTRL | SHIFT)
    dialog = wait_for(qtbot, StationDialog)
    assert focused() is dialog.reason
    press(qtbot, Qt.Key.Key_Return)  # no reason yet: nothing is done, and it says why
    assert dialog.isVisible()
    assert dialog.error.isVisible() and "Escriba el motivo" in dialog.error.text()
    assert focused() is dialog.reason
    assert scenario.scalar("SELECT enabled FROM stations WHERE id = %s", station) is True
    type_text(qtbot, "Equipo extraviado")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: visible(StationDialog) is None, timeout=WAIT_MS)
    try:
        assert scenario.scalar("SELECT enabled FROM stations WHERE id = %s", station) is False
        [(actor, detail)] = scenario.sql(
            "SELECT actor, detail FROM audit_log WHERE event = 'station_disabled' "
            "ORDER BY id DESC LIMIT 1")
        assert actor == scenario.coordinador
        assert detail["station"] == station and detail["reason"] == "Equipo extraviado"
        qtbot.waitUntil(lambda: window.estaciones.table.cell(station, 3) == "Deshabilitado",
                        timeout=WAIT_MS)
        # Closed, the keyboard is back on the list it was opened from.
        qtbot.waitUntil(lambda: QApplication.focusWidget() is view, timeout=WAIT_MS)
        # The same keys enable it again (no reason needed).
        assert window.estaciones.table.selected_key() == station
        assert window.estaciones.toggle.text().startswith("Habilitar equipo")
        shortcut(qtbot, window, Qt.Key.Key_E, CTRL | SHIFT)
        dialog = wait_for(qtbot, StationDialog)
        press(qtbot, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: visible(StationDialog) is None, timeout=WAIT_MS)
        assert scenario.scalar("SELECT enabled FROM stations WHERE id = %s", station) is True
        assert scenario.scalar("SELECT actor FROM audit_log WHERE event = 'station_enabled' "
                               "ORDER BY id DESC LIMIT 1") == scenario.coordinador
    finally:
        scenario.sql("UPDATE stations SET enabled = true WHERE id = %s RETURNING id", station)


def test_messages_say_aceptar(qtbot: QtBot, window: DashboardWindow) -> None:
    with qtbot.waitSignal(window.controller.action_did_fail, timeout=WAIT_MS):
        window.controller.act(lambda c: c.ack(999_999, "nota"))
    box = wait_for(qtbot, QMessageBox)
    assert box.text() == "La anomalía 999999 no existe."
    assert _box_buttons(box) == {"Aceptar": True}
    assert QApplication.activeModalWidget() in (None, box)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: visible(QMessageBox) is None, timeout=WAIT_MS)
