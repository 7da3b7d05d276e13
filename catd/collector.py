"""Python's cycle collector runs on the GUI thread only (the idea of Anki's
``aqt.GarbageCollector``).

Left automatic, the collector runs in whatever thread happens to allocate, often a
worker lane, and may there free a Qt object whose destructor must run on the GUI
thread, which crashes the process. So it is switched off and a timer on the GUI thread
collects whenever the usual thresholds are passed.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject
from PySide6.QtCore import QTimer

INTERVAL_MS = 1000


class GarbageCollector(QObject):
    """Disables automatic collection while alive; :meth:`stop` gives it back."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        """Collect the oldest generation whose threshold was passed."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        for gen in range(3):
            if counts[gen] > thresholds[gen]:
                generation = gen
        if generation >= 0:
            gc.collect(generation)

    def stop(self) -> None:
        """Collect everything now, on this thread, and re-enable automatic collection."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
