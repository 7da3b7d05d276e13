"""The CCV's login page says which centre it is: the Centro de Captura y Verificación,
not an acopio centre (issue 35), at 1366×768 and 1024×768; and in Spanish that counts
right («1 cuenta», not «1 cuentas»)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from catd.window import MainWindow
from prep.station.station import Station
from tests.catd.conftest import Central
from tests.harness.work import add_operators


@pytest.fixture(scope="module")
def one_ccv_account(central: Central) -> str:
    [ceci] = add_operators(central.node, [("Ceci CCV", "capturista", "CCV")])
    return ceci


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)], ids=["1366x768", "1024x768"])
def test_the_ccv_login_card_names_the_ccv(size: tuple[int, int], qtbot: QtBot,
                                          central: Central, one_ccv_account: str,
                                          station: Station, window: MainWindow) -> None:
    window.resize(*size)
    assert window.pages.currentWidget() is window.enrollment  # not enrolled yet
    station.enroll(central.node.url, central.node.enroll_code(None, "ccv"),
                   central.node.cert_sha256)
    window.start()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    title = window.login.title
    assert title.text() == "PREP · Centro de Captura y Verificación"
    assert "acopio" not in title.text().lower()
    assert window.windowTitle() == "PREP · CCV"
    qtbot.waitUntil(lambda: window.login.station_line.text().startswith("CCV · estación "))
    assert window.login.station_line.text().endswith(  # one account: singular
        "· catálogo versión 1, 1 cuenta de operador")
    # The whole title is on the card at either size (wrapped, never cut), once the
    # layout has applied the page (a posted event: the station line's text just changed).
    qtbot.waitUntil(lambda: title.height() >= title.heightForWidth(title.width()),
                    timeout=3000)
    assert (window.width(), window.height()) == size
