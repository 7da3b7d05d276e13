"""One log line per condition and interval, not one per event.

Under a flood (thousands of idle sockets, a descriptor limit reached, a malformed request
repeated by the thousand) logging each event was itself the damage: 112 MB of identical
tracebacks in 30 s. :class:`Throttle` decides when a recurring condition deserves a line
(the first time, then at most once per interval, saying how many were not logged);
:class:`ThrottleFilter` applies it to a library's loggers (asyncio, aiohttp) and to the
central's own errors; :func:`loop_exception_handler` does the same for what the event
loop reports (``socket.accept() out of system resource``, TLS failures).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

#: Seconds between two lines about the same condition.
INTERVAL = 60.0
#: Conditions remembered at once (a flood of distinct ones must not grow memory).
MAX_KEYS = 256

log = logging.getLogger("central.server")


class Throttle:
    """When a recurring condition, named by a key, deserves a log line."""

    def __init__(self, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self.interval = interval
        self.clock = clock
        self.max_keys = max_keys
        self._seen: dict[str, tuple[float, int]] = {}  # key → (last line, quiet since)

    def due(self, key: str) -> int | None:
        """``None``: stay quiet (counted); else log now, and this many occurrences since
        the last line went unlogged."""
        now = self.clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.interval:
            self._seen[key] = (last[0], last[1] + 1)
            return None
        if last is None and len(self._seen) >= self.max_keys:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.interval}
            if len(self._seen) >= self.max_keys:
                self._seen.clear()
        self._seen[key] = (now, 0)
        return 0 if last is None else last[1]


def quieted(message: str, skipped: int, interval: float = INTERVAL) -> str:
    """``message`` with how many like it were left out of the log."""
    if not skipped:
        return message
    return f"{message} (y {skipped} más en los últimos {interval:.0f} s, no registrados)"


class ThrottleFilter(logging.Filter):
    """Lets through, per logger, message template and exception type, one record per
    interval of those at ``level`` or above or carrying a traceback; others pass as
    they are. The record let through says how many were held back."""

    def __init__(self, level: int = logging.ERROR, throttle: Throttle | None = None) -> None:
        super().__init__()
        self.level = level
        self.throttle = throttle or Throttle()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level and not record.exc_info:
            return True
        kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        skipped = self.throttle.due(f"{record.name}\0{record.msg}\0{kind}")
        if skipped is None:
            return False
        if skipped:  # the added words hold no "%": safe with or without args
            record.msg = quieted(str(record.msg), skipped, self.throttle.interval)
        return True


#: Loggers whose errors and tracebacks are throttled in ``prep central serve``.
THROTTLED_LOGGERS = ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.access",
                     "central.server", "central.connections", "central.refusals")


def install(loggers: Iterable[str] = THROTTLED_LOGGERS) -> ThrottleFilter:
    """Throttle the errors of ``loggers`` (one filter shared by all of them)."""
    shared = ThrottleFilter()
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ThrottleFilter) for f in logger.filters):
            logger.addFilter(shared)
    return shared


def loop_exception_handler(throttle: Throttle | None = None) -> Callable[
        [asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """An event-loop exception handler writing one line per kind of problem and
    interval, with no traceback (the event loop's default writes one per event)."""
    throttle = throttle or Throttle()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "error del bucle de eventos")
        exc = context.get("exception")
        kind = type(exc).__name__ if exc is not None else ""
        skipped = throttle.due(f"{message}\0{kind}")
        if skipped is None:
            return
        text = f"{message}: {kind}: {exc}" if exc is not None else message
        log.error("%s", quieted(text, skipped, throttle.interval))
    return handle
