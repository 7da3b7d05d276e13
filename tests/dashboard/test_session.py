"""Coordinators log in to the dashboard; what they do carries their account, not the
desktop's user; wrong passwords count per account; only the central's coordinators act."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from central.controlroom.login import FREE_FAILURES
from central.controlroom.login import LoginError
from central.controlroom.login import LoginThrottle
from central.controlroom.login import authenticate
from central.db import make_engine
from dashboard.dialogs import LoginDialog
from dashboard.window import DashboardWindow
from tests.dashboard.conftest import COORDINATOR_PASSWORD
from tests.dashboard.conftest import Scenario
from tests.dashboard.conftest import add_coordinator
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


@pytest.fixture
def window(qtbot: QtBot, scenario: Scenario) -> Iterator[DashboardWindow]:
    win = open_window(qtbot, scenario)
    yield win
    close_window(win)


def test_the_dashboard_asks_for_a_login_and_acts_as_that_coordinator(
        qtbot: QtBot, scenario: Scenario, window: DashboardWindow) -> None:
    # It opens asking for the login; without one, it only reads.
    wait_for(qtbot, LoginDialog)
    assert window.controller.account is None
    assert "Sin sesión" in window.acting.text()
    press(qtbot, Qt.Key.Key_Escape)  # «Solo ver»
    qtbot.waitUntil(lambda: visible(LoginDialog) is None, timeout=WAIT_MS)
    # An action asked for without a session opens the login, and goes on after it.
    shortcut(qtbot, window, Qt.Key.Key_C, CTRL | SHIFT)
    log_in(qtbot, window, "Olga Rivas", COORDINATOR_PASSWORD)  # by name works too
    box = wait_for(qtbot, QMessageBox)
    assert "corte" in box.text()
    press(qtbot, Qt.Key.Key_Escape)
    assert window.controller.account is not None
    assert window.controller.account.id == scenario.coordinador
    assert window.acting.text() == "Sesión: Olga Rivas"
    [(actor, detail)] = scenario.sql(
        "SELECT actor, detail FROM audit_log WHERE event = 'dashboard_login' "
        "ORDER BY id DESC LIMIT 1")
    assert actor == scenario.coordinador
    assert detail == {"operator": scenario.coordinador, "name": "Olga Rivas",
                      "sesion": window.controller.account.sesion_id}
    # The session is in the database (its token only as a hash), until logout.
    assert scenario.sql("SELECT count(*) FROM coordinador_sesiones WHERE operator = %s "
                        "AND cerrada_at IS NULL", scenario.coordinador) >= [(1,)]


def test_a_wrong_password_is_refused_in_place_keeping_the_user(
        qtbot: QtBot, scenario: Scenario, window: DashboardWindow) -> None:
    user = add_coordinator(scenario.node.dsn, f"Irma Soto {secrets.token_hex(2)}")
    dialog = wait_for(qtbot, LoginDialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.user, timeout=WAIT_MS)
    type_text(qtbot, user)
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "no-es-la-clave")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.error.isVisible() and not dialog.busy, timeout=WAIT_MS)
    assert dialog.isVisible()
    assert dialog.error.text() == "Usuario o contraseña incorrectos."
    assert dialog.user.text() == user and dialog.password.text() == ""
    assert focused() is dialog.password  # type it again, right there
    assert window.controller.account is None
    assert scenario.sql("SELECT actor, detail FROM audit_log WHERE event = "
                        "'dashboard_login_refused' ORDER BY id DESC LIMIT 1") == [
        (user, {"operator": user, "motivo": "contraseña", "failures": 1})]
    type_text(qtbot, COORDINATOR_PASSWORD)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.controller.account is not None, timeout=WAIT_MS)
    assert visible(LoginDialog) is None


def test_failures_count_per_account_by_id_or_by_name(scenario: Scenario) -> None:
    name = f"Luis Mora {secrets.token_hex(2)}"
    account = add_coordinator(scenario.node.dsn, name)
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    engine = make_engine(scenario.actions_dsn, pool_size=1)
    try:
        for i in range(FREE_FAILURES):  # alternating its id and its name
            with pytest.raises(LoginError, match="Usuario o contraseña incorrectos"):
                authenticate(engine, account if i % 2 else name.upper(), "equivocada-1",
                             throttle, dsn=scenario.actions_dsn)
        # Locked: even the right password waits, typed either way.
        for user in (account, name):
            with pytest.raises(LoginError, match="espere 30 segundos"):
                authenticate(engine, user, COORDINATOR_PASSWORD, throttle,
                             dsn=scenario.actions_dsn)
        now[0] += 31
        # The database counts too, whoever asks and from whatever process: still locked
        # there until its own 30 s pass (made to pass here by the owner).
        with pytest.raises(LoginError, match="espere"):
            authenticate(engine, name, COORDINATOR_PASSWORD, throttle,
                         dsn=scenario.actions_dsn)
        assert scenario.sql("UPDATE coordinador_intentos SET hasta = now() WHERE operator "
                            "= %s RETURNING fallos", account) == [(FREE_FAILURES,)]
        assert authenticate(engine, name, COORDINATOR_PASSWORD, throttle,
                            dsn=scenario.actions_dsn).id == account
        motivos = [m for (m,) in scenario.sql(
            "SELECT detail->>'motivo' FROM audit_log WHERE event = "
            "'dashboard_login_refused' AND actor = %s ORDER BY id", account)]
        assert motivos == ["contraseña"] * FREE_FAILURES + ["bloqueada"] * 3
    finally:
        engine.dispose()


@pytest.mark.parametrize(("role", "sitio"), [("capturista", "01"), ("coordinador", "07")])
def test_only_the_centrals_coordinators_act(scenario: Scenario, role: str,
                                            sitio: str) -> None:
    account = add_coordinator(scenario.node.dsn, f"Otra Cuenta {secrets.token_hex(2)}",
                              role, sitio)
    engine = make_engine(scenario.actions_dsn, pool_size=1)
    try:
        with pytest.raises(LoginError, match="solo para coordinadores del nodo central"):
            authenticate(engine, account, COORDINATOR_PASSWORD, LoginThrottle(),
                         dsn=scenario.actions_dsn)
        with pytest.raises(LoginError, match="Usuario o contraseña incorrectos"):
            authenticate(engine, "nadie-con-ese-nombre", COORDINATOR_PASSWORD,
                         LoginThrottle(), dsn=scenario.actions_dsn)
    finally:
        engine.dispose()


def test_nothing_is_done_without_a_session(qtbot: QtBot, window: DashboardWindow) -> None:
    with qtbot.waitSignal(window.controller.action_did_fail, timeout=WAIT_MS) as failed:
        window.controller.act(lambda c: c.ack(1, "nota"))
    assert failed.args == ["Inicie sesión como coordinador (Ctrl+L) para actuar desde "
                           "el tablero."]
    assert visible(LoginDialog) is not None  # still asking
