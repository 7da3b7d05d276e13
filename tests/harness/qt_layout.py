"""Waiting for Qt's layouts to settle, without a timed sleep (issue 64).

A resize, a new text or a page shown posts layout requests that Qt carries out from the
event loop; a test that checks sizes after ``qtbot.wait(50)`` checked before they were
done whenever the machine was busy. :func:`settle` runs the loop until nothing about the
widget's children moves any more, however long that takes, within a generous bound."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QAbstractScrollArea
from PySide6.QtWidgets import QWidget

#: How long the layouts may take before the test says they never settled.
SETTLE_BOUND_S = 60.0


def _geometry(widget: QWidget) -> list[tuple[int, ...]]:
    shapes = [(widget.width(), widget.height())]
    for child in widget.findChildren(QWidget):
        rect = child.geometry()
        shapes.append((int(child.isVisible()), rect.x(), rect.y(), rect.width(),
                       rect.height()))
        if isinstance(child, QAbstractScrollArea):
            bar = child.horizontalScrollBar()
            shapes.append((bar.maximum(), child.verticalScrollBar().maximum()))
    return shapes


def settle(widget: QWidget, stable_rounds: int = 3) -> None:
    """Until ``widget`` and its children keep their geometry over ``stable_rounds``
    rounds of the event loop with every layout request done."""
    deadline = time.monotonic() + SETTLE_BOUND_S
    last: list[tuple[int, ...]] | None = None
    stable = 0
    while stable < stable_rounds:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QCoreApplication.processEvents()
        now = _geometry(widget)
        stable = stable + 1 if now == last else 0
        last = now
        if time.monotonic() > deadline:
            raise AssertionError(f"the layout of {widget!r} did not settle in "
                                 f"{SETTLE_BOUND_S:.0f} s")
