"""Leaving a screen without losing what was typed: the operator's screens as tabs whose
every switch asks first when the screen in front holds unsaved work, and the question
itself (also asked before a logout).

A switch comes from a tab clicked, ← → on the tab bar, Ctrl+Tab / Ctrl+Shift+Tab, or a
screen's own key (F7, F8): :class:`ScreenTabs` turns each into ``switch_wanted``, and
the workspace decides (``catd.window.Workspace.request_switch``). Leaving a work screen
gives its actas back to the central; a question stands between one key and that.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtGui import QMouseEvent
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMessageBox
from PySide6.QtWidgets import QTabBar
from PySide6.QtWidgets import QTabWidget
from PySide6.QtWidgets import QWidget


def ask_to_leave(parent: QWidget, title: str, text: str, keys: str, leave_text: str,
                 leave: Callable[[], None], back: Callable[[], None]) -> QMessageBox:
    """Ask before throwing typed work away: staying is the default (Enter) and Escape;
    ``leave()`` runs only on the other button, ``back()`` (focus to the work) on
    staying. Window-modal, no nested event loop."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText(keys)
    stay = box.addButton(parent.tr("Seguir en el acta"), QMessageBox.ButtonRole.RejectRole)
    go = box.addButton(leave_text, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(stay)
    box.setEscapeButton(stay)

    def answered() -> None:
        parent.window().activateWindow()  # the keys go back to the window
        if box.clickedButton() is go:
            leave()
        else:
            back()
        box.deleteLater()
    box.finished.connect(answered)
    box.open()
    box.activateWindow()  # the keys go to it at once
    return box


def focus_back_on(screen: QWidget) -> Callable[[], None]:
    """What puts the keyboard back where it was in ``screen`` once a question is
    answered "stay": the field it was on, or (when it was outside the screen, on the tab
    bar) the screen's form."""
    was = QApplication.focusWidget()

    def back() -> None:
        if not shiboken6.isValid(screen):
            return
        if was is not None and shiboken6.isValid(was) and screen.isAncestorOf(was):
            was.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
            return
        focus_field = getattr(screen, "focus_field", None)
        if callable(focus_field) and getattr(screen, "shown", None) is not None:
            focus_field("")
        else:
            screen.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
    return back


class _ScreenTabBar(QTabBar):
    """A tab bar that never switches by itself: a click or ← → asks its tabs."""

    def __init__(self, tabs: ScreenTabs) -> None:
        super().__init__()
        self._tabs = tabs
        # Tab and Shift+Tab walk the screen's form, never out to the bar.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.tabAt(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and index >= 0:
            if index != self.currentIndex():
                self._tabs.switch_wanted.emit(index)
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(Qt.Key(event.key()))
        if step is not None:
            target = self.currentIndex() + step
            if 0 <= target < self.count():
                self._tabs.switch_wanted.emit(target)
            event.accept()
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        event.ignore()  # a wheel turned over the bar never changes the screen


class ScreenTabs(QTabWidget):
    """The operator's screens. Every way to another screen emits ``switch_wanted``
    (the index) instead of switching; :meth:`setCurrentIndex` switches."""

    switch_wanted = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabBar(_ScreenTabBar(self))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Ctrl+Tab and Ctrl+Shift+Tab, which QTabWidget would obey at once.
        if event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) \
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier \
                and self.count() > 1:
            back = event.key() == Qt.Key.Key_Backtab \
                or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.switch_wanted.emit((self.currentIndex() + (-1 if back else 1))
                                    % self.count())
            event.accept()
            return
        super().keyPressEvent(event)
