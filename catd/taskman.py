"""Work off the GUI thread, results back on it (the idea of Anki's ``aqt.taskman``).

Each *lane* is one worker thread, so work on a lane runs in order: ``db`` serializes
writes to the station store, ``net`` talks to the central, ``print`` drives the ticket
printer (a jammed printer never delays an acopio) and ``status`` feeds the status bar.
A finished task's callback is carried to the GUI thread by a queued signal; an error
reaches ``on_error`` (or is logged and shown by the default handler), never swallowed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from PySide6.QtCore import QObject
from PySide6.QtCore import Signal

from qtkit.poster import Poster

T = TypeVar("T")

LANES = ("db", "net", "print", "status")

log = logging.getLogger("catd.taskman")


class TaskManager(QObject):
    """Runs callables on named worker lanes and calls back on the GUI thread.

    Create it on the GUI thread. ``task_did_fail`` carries errors that had no
    ``on_error`` handler, for the window to show.
    """

    task_did_fail = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lanes = {name: ThreadPoolExecutor(1, thread_name_prefix=f"catd-{name}")
                       for name in LANES}
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._poster = Poster(self)  # callbacks to the GUI thread

    @property
    def pending(self) -> int:
        """Tasks submitted whose callbacks have not run yet (tests wait for 0)."""
        with self._lock:
            return self._pending

    def run(self, lane: str, fn: Callable[[], T],
            on_done: Callable[[T], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None) -> Future[T]:
        """Run ``fn()`` on ``lane``; then ``on_done(result)`` or ``on_error(exc)`` on the
        GUI thread."""
        if self._closed:
            raise RuntimeError("the task manager is shut down")
        with self._lock:
            self._pending += 1
        future = self._lanes[lane].submit(fn)

        def finished(fut: Future[T]) -> None:
            # Runs on the worker: only hop to the GUI thread from here.
            self._poster.post(lambda: self._deliver(fut, on_done, on_error))
        future.add_done_callback(finished)
        return future

    def _deliver(self, future: Future[T], on_done: Callable[[T], None] | None,
                 on_error: Callable[[BaseException], None] | None) -> None:
        with self._lock:
            self._pending -= 1
        if self._closed or future.cancelled():
            return
        error = future.exception()
        if error is None:
            if on_done is not None:
                on_done(future.result())
            return
        if on_error is not None:
            on_error(error)
            return
        self.task_did_fail.emit(describe_error(error))  # which logs it

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work; finish what runs (callbacks are dropped from now on)."""
        self._closed = True
        for executor in self._lanes.values():
            executor.shutdown(wait=wait, cancel_futures=True)


def describe_error(error: BaseException) -> str:
    """What to tell the operator about ``error``, which goes to the log: station errors
    carry their Spanish message; anything else is a defect to report, whose detail
    (type, text, traceback) is for support, in the log, never on the screen."""
    from prep.station.errors import StationError

    if isinstance(error, StationError):
        log.warning("%s: %s", type(error).__name__, error)
        return str(error)
    log.error("unexpected error shown to the operator", exc_info=error)
    return ("Ocurrió un error inesperado en la estación. Lo ya registrado está a salvo. "
            "Vuelva a intentarlo; si se repite, avise a soporte técnico con la hora en que "
            f"ocurrió ({datetime.now().strftime('%H:%M:%S')}): el detalle quedó en el "
            "registro de la estación.")

