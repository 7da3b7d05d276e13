"""Operator login at the workstation, offline against the accounts the central sent:
good and bad passwords, the operator's role choosing the screens, logging out."""

from __future__ import annotations

import re

import pytest
from pytestqt.qtbot import QtBot

from catd import screens
from catd.acopio.view import AcopioView
from catd.window import MainWindow
from prep.station.station import Station
from tests.catd.conftest import ACOPIADOR, CAPTURISTA, COORDINADORA, Central, log_in


def test_a_good_password_opens_the_screens_of_the_role(
        enrolled: Station, window: MainWindow, central: Central, qtbot: QtBot) -> None:
    central.node.kill()  # the login needs no central
    try:
        log_in(qtbot, window, ACOPIADOR.lower())
        assert window.pages.currentWidget() is window.workspace
        tabs = window.workspace.tabs
        assert [tabs.tabText(i) for i in range(tabs.count())] == ["Acopio"]
        assert isinstance(tabs.currentWidget(), AcopioView)
        assert window.workspace.detail.text().startswith("Ana Acopio · acopiador · catd-07-")
        assert window.status_bar.operator.text() == "Operador: Ana Acopio (acopiador)"
        qtbot.waitUntil(lambda: window.status_bar.central.full_text.startswith(
            "● Sin conexión con el nodo central"))

        window.workspace.logout.click()
        assert window.pages.currentWidget() is window.login
        assert window.workspace.tabs.count() == 0
        assert window.status_bar.operator.text() == "Sin sesión"
        log_in(qtbot, window, COORDINADORA)
        assert window.pages.currentWidget() is window.workspace
    finally:
        central.node.start()


def test_a_bad_password_is_refused_and_says_so(enrolled: Station, window: MainWindow,
                                               qtbot: QtBot) -> None:
    log_in(qtbot, window, ACOPIADOR, "no-es-la-contraseña")
    assert window.pages.currentWidget() is window.login
    assert window.login.message.text() == "Usuario o contraseña incorrectos."
    assert window.login.password.text() == ""
    assert window.login.password.hasFocus()


def test_a_role_without_screens_at_this_station_is_told_so(
        enrolled: Station, window: MainWindow, qtbot: QtBot,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A build of the workstation that has only the acopio screen.
    monkeypatch.setattr(screens, "SCREENS", tuple(s for s in screens.SCREENS
                                                  if s.key == "acopio"))
    log_in(qtbot, window, CAPTURISTA)
    assert window.pages.currentWidget() is window.login
    assert window.login.message.text().startswith("Su cuenta (capturista) no tiene tareas "
                                                  "en esta estación")


def test_the_status_bar_shows_the_central_online_and_the_backlog(
        enrolled: Station, window: MainWindow, qtbot: QtBot, central: Central) -> None:
    bar = window.status_bar
    qtbot.waitUntil(lambda: bar.central.full_text.startswith("● Nodo central en línea"),
                    timeout=20_000)
    where = central.node.url.removeprefix("https://")
    assert bar.central.full_text == f"● Nodo central en línea · {where} (dirección configurada)"
    # The agent's heartbeat is delivered: nothing left, and the time of the receipt.
    qtbot.waitUntil(lambda: re.fullmatch(r"Último envío: \d\d:\d\d:\d\d",
                                         bar.last_sync.text()) is not None, timeout=20_000)
    qtbot.waitUntil(lambda: bar.backlog.text() == "Por enviar: nada", timeout=20_000)
    assert bar.clock.text().startswith("Hora de la estación: ")
