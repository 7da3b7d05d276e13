"""qtkit.polling: a screen's poller never has two requests out, and keeps asking after a
failure (a slow disk or central never piles requests up, a failed one is not the end)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qtkit.polling import PollingPresenter


class Counter(PollingPresenter):
    """Asks by queueing a reply the test gives later, as a worker lane would."""

    def __init__(self) -> None:
        super().__init__(interval_ms=10)
        self.ticks = 0
        self.asked = 0
        self.got: list[object] = []
        self.errors: list[str] = []
        self.reply: Callable[[], None] | None = None

    def will_ask(self) -> None:
        self.ticks += 1

    def ask(self) -> None:
        self.asked += 1
        n = self.asked
        self.reply = lambda: self.answered(n)

    def did_get(self, result: object) -> None:
        self.got.append(result)

    def did_fail(self, error: BaseException) -> None:
        self.errors.append(str(error))


def test_one_request_at_a_time_and_on_after_a_failure(qapp: QApplication,
                                                      qtbot: QtBot) -> None:
    poller = Counter()
    poller.start()
    qtbot.waitUntil(lambda: poller.ticks >= 5)
    assert poller.asked == 1  # the first request is still out: no second one
    assert poller.reply is not None
    poller.reply()
    qtbot.waitUntil(lambda: poller.asked == 2)
    assert poller.got == [1]
    poller.failed(OSError("disco lento"))
    qtbot.waitUntil(lambda: poller.asked == 3)
    assert poller.errors == ["disco lento"]
    poller.stop()
    ticks = poller.ticks
    qtbot.wait(50)
    assert poller.ticks == ticks  # stopped: no more ticks
