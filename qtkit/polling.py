"""A presenter that asks for something every few seconds while its screen is shown."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtCore import QTimer


class PollingPresenter(QObject):
    """Calls :meth:`ask` every ``interval_ms`` between :meth:`start` and :meth:`stop`,
    one request at a time: a slow disk or central never piles requests up.

    A subclass implements :meth:`ask` (start the work off the GUI thread and call
    :meth:`answered` or :meth:`failed` on the GUI thread when it ends) and
    :meth:`did_get` / :meth:`did_fail`; :meth:`will_ask` runs on every tick, even while
    a request is still out. An answer that arrives after :meth:`stop` is dropped: its
    screen may be gone by then.
    """

    def __init__(self, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._asking = False
        self._running = False
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        self._running = True
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._running = False
        self._timer.stop()

    def refresh(self) -> None:
        self.will_ask()
        if self._asking:
            return
        self._asking = True
        self.ask()

    def answered(self, result: object) -> None:
        self._asking = False
        if self._running:
            self.did_get(result)

    def failed(self, error: BaseException) -> None:
        self._asking = False
        if self._running:
            self.did_fail(error)

    def will_ask(self) -> None:
        """Every tick, before asking (nothing by default)."""

    def ask(self) -> None:
        raise NotImplementedError

    def did_get(self, result: object) -> None:
        raise NotImplementedError

    def did_fail(self, error: BaseException) -> None:
        raise NotImplementedError
