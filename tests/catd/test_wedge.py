"""The keyboard-wedge detector on real widgets: a reader's fast run ending in its suffix
is one scan, wherever the focus is, and never lands in a field; a person's typing,
short fast runs and shortcuts reach their widgets unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from catd.wedge import WedgeDetector
from tests.catd.conftest import PERSON_GAP_MS
from tests.catd.conftest import READER_GAP_MS
from tests.catd.conftest import FakeClock
from tests.catd.conftest import scan
from tests.catd.conftest import type_as


class Form(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.field = QLineEdit()
        self.button = QPushButton("Aceptar")
        self.entered: list[str] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self.field)
        layout.addWidget(self.button)
        self.field.returnPressed.connect(lambda: self.entered.append(self.field.text()))


@pytest.fixture
def detector(qapp: QApplication, clock: FakeClock) -> Iterator[WedgeDetector]:
    wedge = WedgeDetector(clock=clock)
    wedge.install(qapp)
    wedge.enabled = True
    yield wedge
    wedge.uninstall(qapp)


@pytest.fixture
def form(qtbot: QtBot) -> Form:
    shown = Form()
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    shown.activateWindow()
    shown.field.setFocus()
    qtbot.waitUntil(shown.field.hasFocus)
    return shown


def test_a_reader_run_is_one_scan_and_never_typed(detector: WedgeDetector, form: Form,
                                                  clock: FakeClock, qtbot: QtBot) -> None:
    with qtbot.waitSignal(detector.scan_did_arrive) as got:
        scan(clock, "090123B010001")
    assert got.args == ["090123B010001"]
    assert form.field.text() == "" and form.entered == []

    form.button.setFocus()
    with qtbot.waitSignal(detector.scan_did_arrive) as got:
        type_as(clock, "PREP1|090123B010002", READER_GAP_MS, suffix=Qt.Key.Key_Tab)
    assert got.args == ["PREP1|090123B010002"]
    assert form.button.hasFocus()  # the Tab suffix did not move the focus


def test_a_person_typing_reaches_the_field(detector: WedgeDetector, form: Form,
                                           clock: FakeClock, qtbot: QtBot) -> None:
    with qtbot.assertNotEmitted(detector.scan_did_arrive, wait=100):
        type_as(clock, "090123B010001", PERSON_GAP_MS)
    assert form.entered == ["090123B010001"]

    form.field.clear()
    with qtbot.assertNotEmitted(detector.scan_did_arrive, wait=100):
        type_as(clock, "abc", PERSON_GAP_MS, suffix=None)
        qtbot.waitUntil(lambda: form.field.text() == "abc")  # held keys come through


def test_a_short_fast_run_or_a_shortcut_is_not_a_scan(detector: WedgeDetector, form: Form,
                                                      clock: FakeClock, qtbot: QtBot) -> None:
    with qtbot.assertNotEmitted(detector.scan_did_arrive, wait=100):
        type_as(clock, "12", READER_GAP_MS)  # a person's key roll-over, then Enter
    assert form.entered == ["12"]

    form.field.selectAll()
    clock.advance(PERSON_GAP_MS)
    QTest.keyClick(form.field, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert form.field.text() == ""  # Ctrl+X cut the text at once


def test_nothing_is_held_while_the_detector_is_off(detector: WedgeDetector, form: Form,
                                                   clock: FakeClock, qtbot: QtBot) -> None:
    detector.enabled = False
    with qtbot.assertNotEmitted(detector.scan_did_arrive, wait=50):
        scan(clock, "090123B010001")
    assert form.entered == ["090123B010001"]


def test_space_and_enter_press_a_focused_button_and_a_scan_still_does_not(
        detector: WedgeDetector, form: Form, clock: FakeClock, qtbot: QtBot) -> None:
    """Issue 35: the detector held Space's press but let its release through first, so
    a button on a scanning screen could not be pressed from the keyboard."""
    clicks: list[bool] = []
    form.button.setAutoDefault(True)  # as the acopio screen's buttons: Enter presses
    form.button.clicked.connect(lambda: clicks.append(True))
    form.button.setFocus()
    clock.advance(PERSON_GAP_MS)
    QTest.keyClick(form.button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: clicks == [True])  # once the held press is handed over
    assert not form.button.isDown()
    clock.advance(PERSON_GAP_MS)
    QTest.keyClick(form.button, Qt.Key.Key_Return)
    assert clicks == [True, True]

    with qtbot.waitSignal(detector.scan_did_arrive) as got:
        scan(clock, "09 0123 B010001")  # a reader's run with spaces, focus on the button
    assert got.args == ["09 0123 B010001"]
    qtbot.wait(100)
    assert clicks == [True, True] and not form.button.isDown()


def test_the_detector_stays_on_while_any_screen_that_takes_scans_is_shown(
        qapp: QApplication, clock: FakeClock) -> None:
    """The login page hides after the acopio screen showed: it must not switch the
    detector off under the acopio screen."""
    wedge = WedgeDetector(clock=clock)
    login, acopio = QWidget(), QWidget()
    wedge.activate(login)
    wedge.activate(acopio)
    wedge.deactivate(login)
    assert wedge.enabled
    wedge.deactivate(acopio)
    assert not wedge.enabled
