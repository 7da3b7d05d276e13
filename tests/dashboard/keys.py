"""Driving the dashboard as a coordinator does: keys to whatever has the focus."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from dashboard.app import coordinator_for
from dashboard.controller import DashboardController
from dashboard.dialogs import LoginDialog
from dashboard.window import DashboardWindow
from tests.dashboard.conftest import COORDINATOR_PASSWORD
from tests.dashboard.conftest import Scenario
from tests.dashboard.conftest import reader_login

WAIT_MS = 30_000
W = TypeVar("W", bound=QWidget)
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def open_window(qtbot: QtBot, scenario: Scenario) -> DashboardWindow:
    """The window as ``prep dashboard`` makes it (read-only login, the prep_coordinador
    login for actions; no key: serve makes the cortes), started and loaded; nobody
    logged in yet (the login dialog is open)."""
    coordinator = coordinator_for(scenario.actions_dsn)
    controller = DashboardController(scenario.reader_dsn, coordinator=coordinator)
    win = DashboardWindow(controller)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: controller.overview is not None and not controller.busy,
                    timeout=WAIT_MS)
    return win


def close_window(win: DashboardWindow) -> None:
    win.controller.close()
    if win.controller.coordinator is not None:
        win.controller.coordinator.engine.dispose()


@contextmanager
def coordinator_window(qtbot: QtBot, scenario: Scenario) -> Iterator[DashboardWindow]:
    """:func:`open_window` with the scenario's coordinator logged in; closed on exit."""
    win = open_window(qtbot, scenario)
    try:
        log_in(qtbot, win, scenario.coordinador, COORDINATOR_PASSWORD)
        yield win
    finally:
        close_window(win)


@contextmanager
def reader_window(qtbot: QtBot, dsn: str) -> Iterator[DashboardWindow]:
    """The dashboard of the central at ``dsn`` through a login holding only
    ``prep_lectura`` (as in the control room), started and loaded; nobody logged in."""
    with reader_login(dsn) as reader:
        controller = DashboardController(reader)
        win = DashboardWindow(controller)
        qtbot.addWidget(win)
        win.show()
        controller.start()
        try:
            qtbot.waitUntil(lambda: controller.overview is not None, timeout=WAIT_MS)
            yield win
        finally:
            controller.close()


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def type_text(qtbot: QtBot, text: str) -> None:
    """Type ``text`` (ASCII: QTest sends no key events for other characters) into the
    focused widget."""
    qtbot.keyClicks(focused(), text)


def press(qtbot: QtBot, key: Qt.Key,
          modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Press ``key`` where the focus is (the active window's focus widget)."""
    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert target is not None, "no window is active"
    qtbot.keyClick(target, key, modifiers)


def shortcut(qtbot: QtBot, win: DashboardWindow, key: Qt.Key,
             modifiers: Qt.KeyboardModifier) -> None:
    """A window shortcut, with the main window active (as after closing a dialog)."""
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=WAIT_MS)
    press(qtbot, key, modifiers)


def visible(kind: type[W]) -> W | None:
    """The visible top-level or dialog widget of ``kind``, if any."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, kind) and widget.isVisible():
            return widget
    return None


def wait_for(qtbot: QtBot, kind: type[W]) -> W:
    """The window of ``kind`` once shown, active (as the window system makes a new
    dialog; the offscreen platform does not always)."""
    qtbot.waitUntil(lambda: visible(kind) is not None, timeout=WAIT_MS)
    widget = visible(kind)
    assert widget is not None
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget, timeout=WAIT_MS)
    return widget


def log_in(qtbot: QtBot, win: DashboardWindow, user: str, password: str) -> None:
    """Ctrl+L (unless the login is already open), user, Tab, password, Intro."""
    if visible(LoginDialog) is None:
        shortcut(qtbot, win, Qt.Key.Key_L, CTRL)
    dialog = wait_for(qtbot, LoginDialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.user, timeout=WAIT_MS)
    type_text(qtbot, user)
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is dialog.password
    type_text(qtbot, password)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.controller.account is not None
                    or (dialog.error.isVisible() and not dialog.busy), timeout=WAIT_MS)
    assert win.controller.account is not None, dialog.error.text()
