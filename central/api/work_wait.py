"""Operators waiting for work: ``POST /v1/work/next`` with ``espera`` (docs/pipeline.md,
"Work API").

An operator whose ask finds nothing can wait at the central, up to ``espera`` seconds,
instead of asking again and again. Ingest tells :class:`WorkWaiters` what each batch left
for operators (:class:`~central.pipeline.apply.WorkMade`); for each acta that entered
the capture queue (or verification) a couple of waiters of that kind are woken to ask
again: those of the sending station's own site first (a CATD's actas go to its own
capturistas first, and their images are already there), then the CCV's, then the rest,
longest waiting first. Two per acta because the first one woken may be the operator
who made the acta's previous capture, who may not capture it again; and a woken
operator whose look finds nothing passes the wake on (:meth:`WorkWaiters.pass_on`) to
the next one who has not looked since that batch, so an acta that only some operators
may take (those who never had it: a third image of an acta is barred to everyone who
captured or rejected an earlier one) still reaches one of them at once. Anything else that
frees work (a lease that ran out or was given back, a PREP Casilla photo taken in by
another process) is found when the wait ends.

An operator has one wait at a time (a newer ask from the same operator at the same
station ends the older one), at most :data:`MAX_WAITING` asks wait at once (beyond
that the answer is immediate, as without ``espera``), and a wait whose station hung up
(killed, link lost) is not woken: it would take work for nobody.

Everything here runs on the server's event loop; :meth:`WorkWaiters.wake_threadsafe`
is what ingest, on a worker thread, calls.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import psycopg

from central.node.ratelog import Throttle
from central.node.ratelog import quieted
from central.pipeline.apply import WorkMade
from central.pipeline.ingest import ORIGIN
from central.pipeline.ingest import WORK_CHANNEL
from central.pipeline.state import CAPTURA
from central.pipeline.state import VERIFICACION
from prep.background import BackgroundLoop

log = logging.getLogger("central.work_wait")

#: Seconds between attempts to LISTEN again after the connection was lost.
RECONNECT_SECONDS = 2.0
#: Waiters woken per acta that became available.
WAKE_PER_ACTA = 2
#: Asks waiting at once, at most (a state's CATDs and CCVs have a few hundred operators).
MAX_WAITING = 2000
CCV = "ccv"


class Waited(enum.Enum):
    """How a wait ended."""

    WOKEN = "woken"  # work of its kind was made: look again
    TIMEOUT = "timeout"  # its time ran out: look once more, then answer
    ENDED = "ended"  # the server stops, a newer ask replaced it, or no room: answer now


@dataclass(eq=False)
class _Waiter:
    kind: str
    site: tuple[str, str]  # (role, sitio) of the waiting operator's station
    key: tuple[str, str]  # (station, operator): one wait each
    alive: Callable[[], bool]  # whether the station is still connected
    woken: asyncio.Future[Waited] = field(repr=False)


class WorkWaiters:
    """The operators waiting for work of each kind, in the order they started waiting."""

    def __init__(self) -> None:
        self._waiting: list[_Waiter] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._made = {CAPTURA: 0, VERIFICACION: 0}  # batches that made work, by kind
        # (station, operator) -> the _made count of their kind when last woken: each
        # operator is woken once per batch that made work, by the batch or a pass-on.
        self._tried: dict[tuple[str, str], int] = {}
        self.closed = False

    def __len__(self) -> int:
        return len(self._waiting)

    def made(self, kind: str) -> int:
        """How many batches have made work of ``kind`` so far: read (on the event loop)
        before looking for work, and handed to :meth:`wait`, it closes the gap between
        that look and the wait."""
        self._loop = asyncio.get_running_loop()  # from now on, wakes reach this loop
        return self._made.get(kind, 0)  # cotejo work is never waited for

    async def wait(self, kind: str, site: tuple[str, str], timeout: float, *,
                   since: int | None = None, key: tuple[str, str] = ("", ""),
                   alive: Callable[[], bool] = lambda: True) -> Waited:
        """Wait until work of ``kind`` is made, ``timeout`` seconds pass, or the wait
        ends (see :class:`Waited`). With ``since`` (:meth:`made` before the caller
        looked for work), work made after that look ends the wait at once."""
        if since is not None and self._made[kind] != since:
            return Waited.WOKEN
        if self.closed or len(self._waiting) >= MAX_WAITING:
            return Waited.ENDED
        if timeout <= 0:
            return Waited.TIMEOUT
        for older in [w for w in self._waiting if w.key == key]:
            self._release(older, Waited.ENDED)
        loop = asyncio.get_running_loop()
        self._loop = loop
        waiter = _Waiter(kind, site, key, alive, loop.create_future())
        self._waiting.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.woken), timeout)
        except TimeoutError:
            return Waited.TIMEOUT
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)

    def wake(self, site: tuple[str, str], work: WorkMade) -> int:
        """Wake the waiters ``work`` (made by a batch of the station at ``site``) is
        for; how many were woken."""
        woken = 0
        for kind, actas in ((CAPTURA, work.captura), (VERIFICACION, work.verificacion)):
            if actas <= 0:
                continue
            self._made[kind] += 1
            candidates = []
            for waiter in [w for w in self._waiting if w.kind == kind]:
                if waiter.alive():
                    candidates.append(waiter)
                else:  # its station hung up: nobody would get the work
                    self._release(waiter, Waited.ENDED)
            for waiter in _ranked(candidates, site)[:actas * WAKE_PER_ACTA]:
                self._wake_one(waiter)
                woken += 1
        return woken

    def pass_on(self, kind: str, site: tuple[str, str], key: tuple[str, str]) -> bool:
        """A woken operator (``key``, at ``site``) looked and found nothing it may
        take: wake the next waiter of ``kind`` not woken since the last batch that made
        such work; whether there was one."""
        made = self._made[kind]
        self._tried[key] = made
        for waiter in _ranked([w for w in self._waiting if w.kind == kind], site):
            if self._tried.get(waiter.key) != made and waiter.alive():
                self._wake_one(waiter)
                return True
        return False

    def _wake_one(self, waiter: _Waiter) -> None:
        self._tried[waiter.key] = self._made[waiter.kind]
        self._release(waiter, Waited.WOKEN)

    def wake_threadsafe(self, site: tuple[str, str], work: WorkMade) -> None:
        """:meth:`wake` from another thread (ingest runs on the worker pool)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake, site, work)

    def close(self) -> None:
        """The server is stopping: every waiter answers now, and nobody waits again."""
        self.closed = True
        for waiter in list(self._waiting):
            self._release(waiter, Waited.ENDED)

    def _release(self, waiter: _Waiter, how: Waited) -> None:
        """End ``waiter``'s wait with ``how``."""
        if not waiter.woken.done():
            waiter.woken.set_result(how)
        if waiter in self._waiting:
            self._waiting.remove(waiter)


def _ranked(waiters: list[_Waiter], site: tuple[str, str]) -> list[_Waiter]:
    """The sending site's waiters first, then the CCV's, then the rest; within each,
    longest waiting first (sorted() is stable)."""
    return sorted(waiters, key=lambda w: 0 if w.site == site else 1 if w.site[0] == CCV
                  else 2)


class PeerWorkListener(BackgroundLoop):
    """Wakes this node's waiting asks for work that another ``serve`` node (or the
    PREP Casilla intake) ingested into the same database: LISTEN on
    :data:`central.pipeline.ingest.WORK_CHANNEL` in a thread of its own, reconnecting every
    :data:`RECONNECT_SECONDS` (issue 31: several serve nodes on one primary)."""

    def __init__(self, dsn: str, waiters: WorkWaiters) -> None:
        super().__init__("central-trabajo-listen")
        self.dsn = dsn
        self.waiters = waiters
        self.woken = 0  # notifications from others that reached the waiters
        # Any login may NOTIFY any channel (the dashboard's read-only one too: NOTIFY is
        # a command, not a function whose EXECUTE can be revoked): a flood of unreadable
        # payloads gets one log line per kind of problem and minute, saying how many.
        self._ilegibles = Throttle()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True,
                                     application_name="prep-central-trabajo") as conn:
                    conn.execute(f"LISTEN {WORK_CHANNEL}")
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=0.5):
                            self._wake(notify.payload)
            except psycopg.Error as exc:
                log.warning("sin aviso de trabajo de otros nodos (%s); reintento en %.0f s",
                            exc, RECONNECT_SECONDS)
                self._stop.wait(RECONNECT_SECONDS)

    def _wake(self, payload: str) -> None:
        try:
            made = json.loads(payload)
            if made["o"] == ORIGIN:
                return  # this process's own batch: already woken in process
            site = (str(made["r"]), str(made["s"]))
            work = WorkMade(int(made["c"]), int(made["v"]))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            skipped = self._ilegibles.due(type(exc).__name__)
            if skipped is not None:
                log.warning("%s", quieted(f"aviso de trabajo ilegible en {WORK_CHANNEL}: "
                                          f"{payload[:200]!r}", skipped,
                                          self._ilegibles.interval))
            return
        self.woken += 1
        self.waiters.wake_threadsafe(site, work)
