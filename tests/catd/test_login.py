"""Operator login at the workstation, offline against the accounts the central sent:
good and bad passwords, the operator's role choosing the screens, logging out; a
reader's scan at the login page is never a password, and failures lock an account
however it is named."""

from __future__ import annotations

import re

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from catd import screens
from catd.acopio.view import AcopioView
from catd.window import MainWindow
from prep.qr import label_payload
from prep.station.models import LoginFailureRow
from prep.station.models import OperatorRow
from prep.station.station import Station
from tests.catd.conftest import ACOPIADOR
from tests.catd.conftest import CAPTURISTA
from tests.catd.conftest import COORDINADORA
from tests.catd.conftest import PASSWORD
from tests.catd.conftest import PERSON_GAP_MS
from tests.catd.conftest import Central
from tests.catd.conftest import FakeClock
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import scan
from tests.catd.conftest import type_as
from tests.catd.conftest import wait_idle


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


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)], ids=["1366x768", "1024x768"])
def test_a_scan_at_the_login_screen_is_no_password_and_no_failure(
        size: tuple[int, int], enrolled: Station, window: MainWindow, central: Central,
        clock: FakeClock, qtbot: QtBot) -> None:
    """Issue 38: with the focus in the password field, six scans were six wrong
    passwords: the account locked and the acta was lost without a word."""
    window.resize(*size)
    acta = central.actas_here()[0]
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    window.activateWindow()
    window.login.user.setFocus()
    qtbot.waitUntil(lambda: focused() is window.login.user)
    type_as(clock, ACOPIADOR, PERSON_GAP_MS)  # Enter: on to the password
    assert focused() is window.login.password
    for code in [acta.clave, label_payload(acta)] * 3:
        scan(clock, code)
        wait_idle(qtbot, window.context.tasks)
    assert window.pages.currentWidget() is window.login
    assert window.login.message.text() == (
        "Se leyó un código con el lector, pero nadie ha iniciado sesión: no se registró "
        "nada. Inicie sesión con su usuario y contraseña y vuelva a escanear el acta.")
    assert window.login.password.text() == ""  # nothing typed into the field
    assert focused() is window.login.password
    with enrolled.store.read() as session:
        assert session.scalars(select(LoginFailureRow)).all() == []
    assert enrolled.store.kinds_for(acta.clave) == []

    type_as(clock, PASSWORD, PERSON_GAP_MS)  # the clerk can still log in at once
    wait_idle(qtbot, window.context.tasks)
    assert window.pages.currentWidget() is window.workspace
    assert (window.width(), window.height()) == size
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, AcopioView)
    qtbot.waitUntil(lambda: view.presenter.ready)
    scan(clock, acta.clave)  # scanned again after logging in: registered
    wait_idle(qtbot, window.context.tasks)
    assert enrolled.store.kinds_for(acta.clave) == ["acopio"]


def test_the_lockout_counts_per_account_however_it_is_named(
        enrolled: Station, window: MainWindow, qtbot: QtBot) -> None:
    """Issue 35: five failures by the operator id locked only that spelling; the same
    account still logged in by its name."""
    with enrolled.store.read() as session:
        ana = session.scalar(select(OperatorRow.id).where(OperatorRow.name == ACOPIADOR))
    assert ana is not None and ana.startswith("op-07-")
    for _ in range(5):
        log_in(qtbot, window, ana.upper(), "no-es-la-contraseña")
        assert window.login.message.text() == "Usuario o contraseña incorrectos."
    log_in(qtbot, window, ACOPIADOR)  # by the name, right password: still waits
    assert window.pages.currentWidget() is window.login
    assert window.login.message.text().startswith("Demasiados intentos fallidos con esa "
                                                  "cuenta: espere 30 segundos")
    log_in(qtbot, window, COORDINADORA)  # other accounts are not held up
    assert window.pages.currentWidget() is window.workspace


def test_the_login_card_names_the_centre_it_serves(enrolled: Station,
                                                   window: MainWindow) -> None:
    assert window.login.title.text() == "PREP · Centro de Acopio y Transmisión de Datos"
