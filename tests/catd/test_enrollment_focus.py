"""Enrollment by keys: after a failed step the focus is back on the field that failed
(issue 35: it jumped to «Código de alta», so the technician typed the corrected address
into the code field), at 1366×768 and 1024×768."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from catd.context import AppContext
from catd.window import MainWindow
from prep.station.enroll_mdns import MdnsChoice
from prep.station.enroll_mdns import normalize_prefix
from prep.station.enroll_mdns import select_for_enrollment
from tests.catd.conftest import focused
from tests.catd.conftest import type_into
from tests.catd.conftest import wait_idle


def nothing_on_the_network(prefix: str | None) -> MdnsChoice:
    """What browsing finds on a network without a central: nobody (no multicast sent)."""
    select_for_enrollment([], normalize_prefix(prefix) if prefix else None)
    raise AssertionError("select_for_enrollment found a central in an empty list")


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)], ids=["1366x768", "1024x768"])
def test_a_failed_check_gives_the_focus_back_to_the_field_that_failed(
        size: tuple[int, int], context: AppContext, window: MainWindow,
        qtbot: QtBot) -> None:
    context.locate = nothing_on_the_network
    window.resize(*size)
    view = window.enrollment
    assert window.pages.currentWidget() is view
    qtbot.waitUntil(lambda: focused() is view.url)

    def fails(field: QLineEdit, text: str, message: str) -> None:
        """``text`` typed in ``field`` and Enter: the step fails with ``message`` and
        the focus is back on ``field``."""
        type_into(field, text)
        QTest.keyClick(field, Qt.Key.Key_Return)
        wait_idle(qtbot, context.tasks)
        assert view.message.text().startswith(message)
        assert focused() is field

    fails(view.url, "https://127.0.0.1:9",
          "No se pudo conectar con el nodo central en https://127.0.0.1:9")
    assert view.url.selectedText() == "https://127.0.0.1:9"  # typing replaces it
    type_into(view.url, "127.0.0.1:7")
    assert view.url.text() == "127.0.0.1:7" and view.code.text() == ""

    QTest.keyClick(view.url, Qt.Key.Key_Tab)  # «Verificar dirección»
    QTest.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is view.prefix
    fails(view.prefix, "3f9a07c25be1", "No se encontró ningún nodo central en la red local")
    assert view.code.text() == ""
    assert (window.width(), window.height()) == size
