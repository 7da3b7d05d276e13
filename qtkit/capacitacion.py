"""The training mode's marks: no window of a training program may be taken for the real
thing.

:func:`install_training_marks` watches every top-level window of the application: each
title starts with «CAPACITACIÓN · » whatever the program sets it to later, and each main
window carries a :class:`TrainingBanner` across its top (its menu-bar slot, above the
screens, which stay as they are). :class:`KeyCounter` counts the keys a person presses
(for the trainee's keystrokes per acta).
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QEvent
from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QMainWindow
from PySide6.QtWidgets import QWidget

MARK = "CAPACITACIÓN"
TITLE_PREFIX = f"{MARK} · "
BANNER_COLOURS = ("#ffffff", "#6a1b9a")  # white on purple: no tone of a real screen


class TrainingBanner(QLabel):
    """A purple strip: CAPACITACIÓN, and that nothing done here counts or is sent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingBanner")
        self.setText(self.tr("{mark} · Práctica con actas de prueba: nada de lo que haga "
                             "aquí se envía al nodo central ni cuenta en la elección.")
                     .format(mark=MARK))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        ink, back = BANNER_COLOURS
        self.setStyleSheet(f"QLabel#trainingBanner {{ background: {back}; color: {ink}; "
                           "font-weight: bold; font-size: 15px; padding: 6px 12px; }")


class TrainingMarks(QObject):
    """The application-wide filter that marks every window (see the module)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.WindowTitleChange) \
                and isinstance(watched, QWidget) and watched.isWindow():
            mark_window(watched)
        return False


def mark_window(window: QWidget) -> None:
    """Give ``window`` its CAPACITACIÓN title, and a main window its banner."""
    title = window.windowTitle()
    if not title.startswith(TITLE_PREFIX):
        window.setWindowTitle(TITLE_PREFIX + title if title else MARK)
    if isinstance(window, QMainWindow) and not isinstance(window.menuWidget(), TrainingBanner):
        window.setMenuWidget(TrainingBanner())


def install_training_marks(app: QCoreApplication) -> TrainingMarks:
    """Mark every window of ``app``, those open now and those to come."""
    if isinstance(app, QApplication):
        for window in app.topLevelWidgets():
            # A widget whose C++ side is gone (a menu closed and deleted) can still be
            # listed until the event loop runs its deferred deletions: skip it.
            if shiboken6.isValid(window) and window.isWindow():
                mark_window(window)
    marks = TrainingMarks(app)
    app.installEventFilter(marks)
    return marks


class KeyCounter(QObject):
    """Calls ``on_key`` once per key a person presses anywhere in the application: a
    press delivered to its target (not again as Qt propagates it to parents), not an
    auto-repeat, and not one a program re-sends (the wedge detector's replays)."""

    def __init__(self, on_key: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_key = on_key

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.spontaneous() \
                and isinstance(watched, QWidget) and isinstance(event, QKeyEvent) \
                and not event.isAutoRepeat():
            focus = QApplication.focusWidget()
            if focus is None or focus is watched:
                self.on_key()
        return False
