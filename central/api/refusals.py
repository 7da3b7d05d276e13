"""Refusals no station signed, traced per source address and interval, not per request
(docs/protocol.md, "Refusals nobody signed").

A request that cannot be parsed, names no enrolled station, carries a signature that does
not verify or spends an enrollment code that does not work proves nothing about who sent
it (:data:`central.node.errors.UNSIGNED_CODES`). Written one audit row and one anomaly each, as
before, anyone on the network filled the append-only audit log (22.9 MB from three
requests) and pinned thousands of ``bad_signature`` anomalies on a real station.

So, per source (an IPv4 address, or an IPv6 /64 network, where one machine may hold
many addresses), the first such refusal opens a window of ``window`` seconds (default 60):

- its first :data:`BURST` refusals are written as they come, as before but with the
  source as actor (``origen:…``) and the station the request named only inside the
  detail (``claimed``): a technician's typo or a station with a wrong key still shows at
  once, in full;
- at most one anomaly per window, attributed to no station;
- the rest are only counted; when the window ends, one ``unsigned_refusals`` audit row
  gives the count by code and the first stations or hosts named (at most
  :data:`MAX_CLAIMED`), and the window's anomaly gets the count.

So a source adds at most ``BURST + 1`` audit rows and one anomaly per window, however
fast it sends. Sources beyond :data:`MAX_WINDOWS` with a window open share one window
(``*``). Counts live in the memory of each ``serve`` process (each writes its own
summaries; nothing is shared, so several processes never wait on each other for this)
and are written when the window ends, when the process stops, or at the next tick after
the database comes back; a process killed outright loses at most one window's counts.
The event loop alone touches this state.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from central.audit.anomalies import record_unsigned
from central.audit.anomalies import record_unsigned_summary
from central.node.errors import Refused
from central.node.errors import bounded
from central.node.ratelog import Throttle
from central.node.ratelog import quieted
from prep.records import format_time

WINDOW_SECONDS = 60.0
#: Refusals of a window written one by one before the rest are only counted.
BURST = 5
#: Sources with a window open at once; refusals from others share the window ``*``.
MAX_WINDOWS = 64
MAX_CLAIMED = 10
OVERFLOW = "*"
TICK_SECONDS = 1.0

Runner = Callable[..., Awaitable[Any]]  # Central.run: blocking work in the worker pool

log = logging.getLogger("central.refusals")


def source_of(remote: str | None) -> str:
    """The source a refusal is counted under: an IPv4 address, an IPv6 /64 network."""
    if not remote:
        return "desconocido"
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return bounded(remote, 64)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass
class _Window:
    source: str
    opened: float
    since: datetime
    count: int = 0
    written: int = 0
    writing: int = 0  # writes in flight (its anomaly id may be on the way)
    codes: Counter[str] = field(default_factory=Counter)
    claimed: list[str] = field(default_factory=list)
    anomaly_type: str | None = None  # the first code that raises one
    anomaly_claimed: bool = False  # a write is making the anomaly
    anomaly_id: int | None = None

    def add(self, refused: Refused) -> None:
        self.count += 1
        self.codes[refused.code] += 1
        claim = bounded(refused.actor, 100)
        if claim not in self.claimed and len(self.claimed) < MAX_CLAIMED:
            self.claimed.append(claim)
        if refused.anomaly and self.anomaly_type is None:
            self.anomaly_type = refused.code

    def merge(self, other: _Window) -> None:
        """Fold ``other`` (a window whose summary could not be written) into this one."""
        self.count += other.count
        self.written += other.written
        self.codes.update(other.codes)
        for claim in other.claimed:
            if claim not in self.claimed and len(self.claimed) < MAX_CLAIMED:
                self.claimed.append(claim)
        self.since = min(self.since, other.since)
        self.anomaly_type = self.anomaly_type or other.anomaly_type
        if self.anomaly_id is None:
            self.anomaly_id = other.anomaly_id

    def summary(self) -> dict[str, Any]:
        return {"source": self.source, "since": format_time(self.since),
                "until": format_time(datetime.now(UTC)), "count": self.count,
                "written": self.written, "codes": dict(sorted(self.codes.items())),
                "claimed": list(self.claimed)}


class UnsignedRefusals:
    """The windows of unsigned refusals of one ``serve`` process (see the module)."""

    def __init__(self, window: float = WINDOW_SECONDS, burst: int = BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.burst = burst
        self.clock = clock
        self._windows: dict[str, _Window] = {}
        self._throttle = Throttle(max(window, 1.0), clock)

    async def refuse(self, refused: Refused, remote: str | None, engine: Engine,
                     run: Runner) -> None:
        """Count ``refused`` from ``remote``; write it now if its window's burst allows.
        A database that does not answer leaves it counted (in the summary) instead."""
        window = self._window(source_of(remote))
        window.add(refused)
        if window.written >= self.burst:
            return
        window.written += 1
        anomaly = refused.anomaly and not window.anomaly_claimed
        window.anomaly_claimed = window.anomaly_claimed or anomaly
        window.writing += 1
        try:
            anomaly_id = await run(record_unsigned, engine, refused, window.source, anomaly)
        except SQLAlchemyError:
            window.written -= 1
            window.anomaly_claimed = window.anomaly_claimed and not anomaly
            self._warn("database", "no se pudo registrar un rechazo sin firma válida; se "
                       "contará en el resumen de su origen")
            return
        finally:
            window.writing -= 1
        if anomaly_id is not None:
            window.anomaly_id = anomaly_id
        self._warn(f"refused\0{window.source}",
                   f"rechazo sin firma válida desde {window.source}: {refused.code} "
                   f"({refused.event}, dice ser {bounded(refused.actor, 100)})")

    async def flush(self, engine: Engine, run: Runner, everything: bool = False) -> None:
        """Write the summary of every window that ended (``everything``: of all)."""
        now = self.clock()
        for source, window in list(self._windows.items()):
            if window.writing or (not everything and now - window.opened < self.window):
                continue
            del self._windows[source]  # refusals from now on open a new window
            if window.count <= window.written:
                continue  # every refusal of the window is already written one by one
            try:
                await run(record_unsigned_summary, engine, window.summary(),
                          window.anomaly_id, window.anomaly_type)
            except SQLAlchemyError:
                self._warn("database", "no se pudo escribir el resumen de rechazos sin "
                           "firma válida; se reintentará")
                self._put_back(window)
                continue
            self._warn(f"summary\0{source}",
                       f"{window.count} rechazos sin firma válida desde {source} en "
                       f"{now - window.opened:.0f} s: "
                       + ", ".join(f"{c} {n}" for c, n in sorted(window.codes.items())))

    async def run_flusher(self, engine: Engine, run: Runner) -> None:
        """Flush ended windows every :data:`TICK_SECONDS` until cancelled."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.flush(engine, run)
            except Exception:  # never let the flusher die: the counts wait for it
                log.exception("error al escribir los resúmenes de rechazos sin firma")

    def _window(self, source: str) -> _Window:
        window = self._windows.get(source)
        if window is None and len(self._windows) >= MAX_WINDOWS:
            source = OVERFLOW
            window = self._windows.get(source)
        if window is None:
            window = _Window(source, self.clock(), datetime.now(UTC))
            self._windows[source] = window
        return window

    def _put_back(self, window: _Window) -> None:
        current = self._windows.get(window.source)
        if current is None:
            self._windows[window.source] = window
        else:
            current.merge(window)

    def _warn(self, key: str, message: str) -> None:
        skipped = self._throttle.due(key)
        if skipped is not None:
            log.warning("%s", quieted(message, skipped, self._throttle.interval))
