"""A daemon thread with a stop flag: what the central's listeners and watchdog share."""

from __future__ import annotations

import threading


class BackgroundLoop:
    """Runs :meth:`_run` in a daemon thread named ``name`` from :meth:`start` until
    :meth:`stop`. ``_run`` loops while ``self._stop`` is not set and waits on it
    (``self._stop.wait(seconds)``), so a stop ends any wait at once; :meth:`stop` then
    joins the thread for at most ``join_seconds`` (``None``: until it ends)."""

    def __init__(self, name: str, join_seconds: float | None = 5.0) -> None:
        self._stop = threading.Event()
        self._join_seconds = join_seconds
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._join_seconds)

    def _run(self) -> None:
        raise NotImplementedError
