"""Closures from any thread to the GUI thread, in order (as Anki's taskman does it)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtCore import Signal
from PySide6.QtCore import Slot


class Poster(QObject):
    """Carries closures from any thread to the GUI thread, in order. Create it on the
    GUI thread.

    No Python object rides the queued signal (PySide mishandles their references across
    threads under load): closures wait in a locked list, and the signal only says that
    some arrived.
    """

    _did_arrive = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._closures: list[Callable[[], None]] = []
        self._did_arrive.connect(self._run)

    def post(self, closure: Callable[[], None]) -> None:
        """Call ``closure`` on the GUI thread, after those posted before it."""
        with self._lock:
            self._closures.append(closure)
        self._did_arrive.emit()

    @Slot()
    def _run(self) -> None:
        with self._lock:
            closures, self._closures = self._closures, []
        for closure in closures:
            closure()
