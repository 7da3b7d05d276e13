"""The enrollment page when the central refuses more attempts for a while (issue 33):
the technician reads, in Spanish, how long to wait and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.window import MainWindow
from central.api.enroll_limit import EnrollmentLimiter
from central.api.enroll_limit import EnrollmentLimits
from prep.station.station import Station
from tests.catd.conftest import type_into
from tests.catd.conftest import wait_idle
from tests.harness.inprocess_central import Clock
from tests.harness.inprocess_central import InProcessCentral
from tests.harness.inprocess_central import inprocess_central


@pytest.fixture
def limited(pg_dsn: str, tmp_path: Path) -> Iterator[InProcessCentral]:
    limiter = EnrollmentLimiter(EnrollmentLimits(per_source=2, total=100, window=300),
                                Clock())
    with inprocess_central(pg_dsn, tmp_path / "node", limiter) as served:
        yield served


def test_too_many_failed_codes_say_how_long_to_wait(
        window: MainWindow, station: Station, limited: InProcessCentral,
        qtbot: QtBot) -> None:
    for _ in range(2):  # two wrong codes from this machine already
        assert limited.enroll("ABCD-EFGH-JKLM", "127.0.0.1")[0] == 403
    view = window.enrollment
    type_into(view.url, limited.url)
    QTest.keyClick(view.url, Qt.Key.Key_Return)
    wait_idle(qtbot, window.context.tasks)
    view.confirm.setChecked(True)
    type_into(view.code, limited.node.enroll_code(catd=7))

    QTest.keyClick(view.code, Qt.Key.Key_Return)
    wait_idle(qtbot, window.context.tasks)

    text = view.message.text()
    assert text.startswith("Hubo demasiados intentos de alta fallidos desde este equipo")
    assert "Espere 5 minutos y vuelva a intentarlo" in text
    assert "pida uno nuevo al coordinador" in text
    assert view.message.property("tone") == "error"
    assert station.identity is None
    assert window.pages.currentWidget() is view
