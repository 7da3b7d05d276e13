"""«Corte ahora» and «Último corte» under the Consejo's rules (issue 28), by keys: outside
the publication window the corte needs the coordinator's reason (no reason: its button
does nothing, Intro cancels), and the reason is audited with the corte under the
coordinator's account; the último corte needs one too, and after it «Corte ahora» says
the publication ended and makes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from central.db import make_engine
from central.publication.ventana import estado
from central.publication.ventana import fijar_ventana
from central.publication.ventana import reabrir
from dashboard.corte_dialog import CorteDialog
from dashboard.window import DashboardWindow
from tests.dashboard.conftest import COORDINATOR_PASSWORD
from tests.dashboard.conftest import Scenario
from tests.dashboard.keys import ALT
from tests.dashboard.keys import CTRL
from tests.dashboard.keys import SHIFT
from tests.dashboard.keys import WAIT_MS
from tests.dashboard.keys import close_window
from tests.dashboard.keys import focused
from tests.dashboard.keys import log_in
from tests.dashboard.keys import open_window
from tests.dashboard.keys import press
from tests.dashboard.keys import shortcut
from tests.dashboard.keys import type_text
from tests.dashboard.keys import visible
from tests.dashboard.keys import wait_for

MOTIVO = "Acuerdo CG-11: cifras para la conferencia de prensa"  # ASCII for QTest


@pytest.fixture
def future_window(scenario: Scenario) -> Iterator[Engine]:
    """The Consejo's window moved to start in three hours; the scenario's window (and an
    open publication) put back afterwards for the package's other tests."""
    engine = make_engine(scenario.node.dsn, pool_size=1)
    before = estado(engine)
    assert before.inicio is not None and before.fin is not None and not before.cerrada
    fijar_ventana(engine, datetime.now(UTC) + timedelta(hours=3), 12, actor="pruebas",
                  motivo="prueba: la ventana empieza más tarde")
    try:
        yield engine
    finally:
        if estado(engine).cerrada:
            reabrir(engine, actor="pruebas", motivo="fin de la prueba")
        fijar_ventana(engine, before.inicio, (before.fin - before.inicio) / timedelta(hours=1),
                      actor="pruebas", motivo="fin de la prueba")
        engine.dispose()


@pytest.fixture
def window(qtbot: QtBot, scenario: Scenario, future_window: Engine
           ) -> Iterator[DashboardWindow]:
    win = open_window(qtbot, scenario)
    log_in(qtbot, win, scenario.coordinador, COORDINATOR_PASSWORD)
    yield win
    close_window(win)


def _second(qtbot: QtBot, dialog: CorteDialog, account: str) -> None:
    """Tab to the second coordinator's fields and fill them in."""
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is dialog.second_user
    type_text(qtbot, account)
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, COORDINATOR_PASSWORD)
    assert dialog.ok.isEnabled()


def _dialog(qtbot: QtBot, win: DashboardWindow, key: Qt.Key) -> CorteDialog:
    shortcut(qtbot, win, key, CTRL | SHIFT)
    dialog = wait_for(qtbot, CorteDialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.reason, timeout=WAIT_MS)
    return dialog


def test_outside_the_window_a_corte_needs_a_reason_and_the_ultimo_ends_publication(
        qtbot: QtBot, scenario: Scenario, window: DashboardWindow) -> None:
    cortes = scenario.scalar("SELECT count(*) FROM cortes")
    dialog = _dialog(qtbot, window, Qt.Key.Key_C)
    assert dialog.windowTitle() == "Corte fuera de la ventana"
    assert "fuera de la ventana de publicación que fijó el Consejo" in dialog.intro.text()
    # No reason: its button is disabled (Alt+H does nothing) and Intro cancels.
    assert not dialog.ok.isEnabled() and dialog.cancel.isDefault()
    press(qtbot, Qt.Key.Key_H, ALT)
    qtbot.wait(200)
    assert visible(CorteDialog) is dialog and window.corte_started is None
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: visible(CorteDialog) is None, timeout=WAIT_MS)
    assert scenario.scalar("SELECT count(*) FROM cortes") == cortes
    # A reason alone is not enough: a second coordinator confirms, with their password.
    dialog = _dialog(qtbot, window, Qt.Key.Key_C)
    type_text(qtbot, "prueba")
    assert focused() is dialog.reason and not dialog.ok.isEnabled()
    _second(qtbot, dialog, scenario.segundo)
    # A trivial reason is refused in place, in Spanish, and nothing is asked for.
    press(qtbot, Qt.Key.Key_H, ALT)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT_MS)
    assert "no explica el corte" in dialog.error.text()
    assert visible(CorteDialog) is dialog and window.corte_started is None
    # The coordinator's own account is not a second coordinator.
    dialog.reason.setFocus()
    dialog.reason.selectAll()
    type_text(qtbot, MOTIVO)
    dialog.second_user.clear()
    dialog.second_password.clear()
    _second(qtbot, dialog, scenario.coordinador)
    press(qtbot, Qt.Key.Key_H, ALT)
    box = wait_for(qtbot, QMessageBox)
    assert "otra persona" in box.text(), box.text()
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.corte_started is None, timeout=WAIT_MS)
    assert scenario.scalar("SELECT count(*) FROM cortes") == cortes
    # With the reason and the second coordinator, Alt+H asks the central's service for
    # it, which publishes it audited under both accounts.
    dialog = _dialog(qtbot, window, Qt.Key.Key_C)
    type_text(qtbot, MOTIVO)
    _second(qtbot, dialog, scenario.segundo)
    press(qtbot, Qt.Key.Key_H, ALT)
    qtbot.waitUntil(lambda: window.corte_started is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.corte_started is None, timeout=WAIT_MS)
    assert window.statusBar().currentMessage().startswith("Corte "), \
        window.statusBar().currentMessage()
    assert scenario.scalar("SELECT count(*) FROM cortes") == cortes + 1
    actor, reason, segundo, corte = scenario.sql(
        "SELECT actor, detail->>'reason', detail->>'segundo', detail->>'corte' FROM "
        "audit_log WHERE event = 'corte_outside_window' ORDER BY id DESC LIMIT 1")[0]
    assert (actor, reason, segundo) == (scenario.coordinador, MOTIVO, scenario.segundo)
    assert corte == scenario.scalar("SELECT directorio FROM cortes ORDER BY id DESC LIMIT 1")
    assert scenario.sql("SELECT actor, segundo, estado FROM corte_peticiones ORDER BY id "
                        "DESC LIMIT 1") == [(scenario.coordinador, scenario.segundo, "hecho")]
    # The último corte (Ctrl+Shift+U) needs its reason too, then ends the publication.
    dialog = _dialog(qtbot, window, Qt.Key.Key_U)
    assert dialog.windowTitle() == "Último corte" and not dialog.ok.isEnabled()
    type_text(qtbot, "100 por ciento de las actas capturadas")
    _second(qtbot, dialog, scenario.segundo)
    press(qtbot, Qt.Key.Key_H, ALT)
    qtbot.waitUntil(lambda: window.corte_started is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.corte_started is None, timeout=WAIT_MS)
    assert "Es el último corte" in window.statusBar().currentMessage()
    assert scenario.sql("SELECT ultimo FROM cortes ORDER BY id DESC LIMIT 1") == [(True,)]
    assert scenario.sql(
        "SELECT actor, detail->>'reason' FROM audit_log WHERE event = 'publication_closed'"
    ) == [(scenario.coordinador, "100 por ciento de las actas capturadas")]
    # After it, «Corte ahora» only says so.
    cortes = scenario.scalar("SELECT count(*) FROM cortes")
    shortcut(qtbot, window, Qt.Key.Key_C, CTRL | SHIFT)
    box = wait_for(qtbot, QMessageBox)
    assert box.windowTitle() == "Publicación terminada"
    assert "La publicación terminó con el último corte" in box.text()
    assert visible(CorteDialog) is None
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: visible(QMessageBox) is None, timeout=WAIT_MS)
    assert scenario.scalar("SELECT count(*) FROM cortes") == cortes
