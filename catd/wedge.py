"""Telling a barcode/QR reader from a person at the keyboard.

A keyboard-wedge reader *types* the code: every character arrives as a key press a few
milliseconds after the previous one, and the reader ends with its suffix (Enter or
Tab). A person is ten times slower. :class:`WedgeDetector`, installed as an
application event filter, holds printable key presses for a moment: a fast run that
ends with the suffix is a scan (emitted whole, wherever the focus was, and never typed
into the focused field); anything else is handed to its widget unchanged, a few tens of
milliseconds late, which nobody notices. A held key's release is held with it and
handed over after its press, so Space still presses a focused button (a button acts on
the release of a key it saw pressed).

Screens that take scans (acopio, and the login page, which must never type a scan into
the password field) :meth:`~WedgeDetector.activate` it while shown.

Time comes from an injected clock (milliseconds), so tests decide exactly how fast the
"reader" or the "person" types.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget

Clock = Callable[[], float]
"""Milliseconds from an arbitrary origin (monotonic)."""

MAX_GAP_MS = 30.0
"""Longest pause between two keys of one scan (readers: 1–15 ms; people: > 60 ms)."""
MIN_SCAN_CHARS = 6
"""A shorter fast run is a person's key roll-over, not a code."""
SUFFIX_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab})
_SHORTCUT_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                       | Qt.KeyboardModifier.MetaModifier)

_FLUSHING_EVENTS = frozenset({QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick,
                              QEvent.Type.FocusOut})


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0


@dataclass
class _HeldKey:
    receiver: QWidget
    key: int
    modifiers: Qt.KeyboardModifier
    text: str
    at: float
    released: bool = False


class WedgeDetector(QObject):
    """Application event filter emitting ``scan_did_arrive(text)`` for reader input.

    Only active while :attr:`enabled`: on while any screen that takes scans is shown
    (:meth:`activate` / :meth:`deactivate`, so one page hiding after the next one showed
    does not turn it off under the new one).
    """

    scan_did_arrive = Signal(str)

    def __init__(self, clock: Clock = monotonic_ms, max_gap_ms: float = MAX_GAP_MS,
                 min_chars: int = MIN_SCAN_CHARS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.max_gap_ms = max_gap_ms
        self.min_chars = min_chars
        self.enabled = False
        self._owners: set[int] = set()
        self._held: list[_HeldKey] = []
        self._replaying = False
        # Hands held keys to their widgets once the run is clearly not a scan.
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(int(max_gap_ms * 2))
        self._flush_timer.timeout.connect(self.flush)

    def install(self, app: QApplication) -> None:
        app.installEventFilter(self)

    def uninstall(self, app: QApplication) -> None:
        self.flush()
        app.removeEventFilter(self)

    def activate(self, owner: QObject) -> None:
        """``owner`` (a screen being shown) takes scans: the detector is on."""
        self._owners.add(id(owner))
        self.enabled = True

    def deactivate(self, owner: QObject) -> None:
        """``owner`` no longer takes scans; off once no screen does."""
        self._owners.discard(id(owner))
        self.flush()
        self.enabled = bool(self._owners)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._replaying or not self.enabled:
            return False
        if event.type() in _FLUSHING_EVENTS and self._held:
            self.flush()  # a click right after typing must find the text in place
            return False
        if event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not isinstance(watched, QWidget) or not _is_first_delivery(watched):
            return False
        assert isinstance(event, QKeyEvent)
        if event.type() == QEvent.Type.KeyRelease:
            return self._key_released(watched, event)
        return self._key_pressed(watched, event)

    def _key_released(self, receiver: QWidget, event: QKeyEvent) -> bool:
        """Hold the release of a held key: handed over after its press (or dropped with
        a scan); a release arriving before its press would leave a button half pressed."""
        for held in reversed(self._held):
            if held.receiver is receiver and held.key == event.key() and not held.released:
                held.released = True
                return True
        return False

    def _key_pressed(self, receiver: QWidget, event: QKeyEvent) -> bool:
        now = self.clock()
        fast = bool(self._held) and now - self._held[-1].at <= self.max_gap_ms
        if self._held and not fast:
            self.flush()
        key = Qt.Key(event.key())
        if key in SUFFIX_KEYS and self._held:
            if len(self._held) >= self.min_chars:
                text = "".join(h.text for h in self._held)
                self._held.clear()
                self._flush_timer.stop()
                self.scan_did_arrive.emit(text)
                return True  # the suffix belongs to the scan
            self.flush()
            return False
        text = event.text()
        if (event.isAutoRepeat() or len(text) != 1 or not text.isprintable()
                or event.modifiers() & _SHORTCUT_MODIFIERS):
            self.flush()
            return False
        self._held.append(_HeldKey(receiver, int(key), event.modifiers(), text, now))
        self._flush_timer.start()
        return True

    def flush(self) -> None:
        """Hand every held key to the widget it was meant for (not a scan)."""
        self._flush_timer.stop()
        held, self._held = self._held, []
        self._replaying = True
        try:
            for h in held:
                kinds = ((QEvent.Type.KeyPress, QEvent.Type.KeyRelease) if h.released
                         else (QEvent.Type.KeyPress,))
                for kind in kinds:
                    if shiboken6.isValid(h.receiver):  # the widget may be gone by now
                        QApplication.sendEvent(h.receiver, QKeyEvent(
                            kind, h.key, h.modifiers, h.text))
        finally:
            self._replaying = False


def _is_first_delivery(widget: QWidget) -> bool:
    """Whether Qt is delivering the key to its target, not propagating it to a parent
    that the target ignored it for (the filter sees both)."""
    focus = QApplication.focusWidget()
    return focus is None or focus is widget
