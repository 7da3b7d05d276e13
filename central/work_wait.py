"""Operators waiting for work: ``POST /v1/work/next`` with ``espera`` (docs/pipeline.md,
"Work API").

An operator whose ask finds nothing can wait at the central, up to ``espera`` seconds,
instead of asking again and again. Ingest tells :class:`WorkWaiters` what each batch left
for operators (:class:`~central.pipeline.apply.WorkMade`); for each acta that entered
the capture queue (or verification) a couple of waiters of that kind are woken to ask
again: those of the sending station's own site first (a CATD's actas go to its own
capturistas first, and their images are already there), then the CCV's, then the rest,
longest waiting first. Two per acta because the first one woken may be the operator
who made the acta's previous capture, who may not capture it again. Anything else that
frees work (a lease that ran out or was given back, a PREP Casilla photo taken in by
another process) is found when the wait ends.

Everything here runs on the server's event loop; :meth:`WorkWaiters.wake_threadsafe`
is what ingest, on a worker thread, calls.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from central.pipeline.apply import WorkMade
from central.pipeline.state import CAPTURA, VERIFICACION

#: Waiters woken per acta that became available.
WAKE_PER_ACTA = 2
CCV = "ccv"


@dataclass(eq=False)
class _Waiter:
    kind: str
    site: tuple[str, str]  # (role, sitio) of the waiting operator's station
    woken: asyncio.Future[None] = field(repr=False)


class WorkWaiters:
    """The operators waiting for work of each kind, in the order they started waiting."""

    def __init__(self) -> None:
        self._waiting: list[_Waiter] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._made = {CAPTURA: 0, VERIFICACION: 0}  # batches that made work, by kind
        self.closed = False

    def __len__(self) -> int:
        return len(self._waiting)

    def made(self, kind: str) -> int:
        """How many batches have made work of ``kind`` so far: read before looking for
        work, and handed to :meth:`wait`, it closes the gap between that look and the
        wait."""
        return self._made[kind]

    async def wait(self, kind: str, site: tuple[str, str], timeout: float,
                   since: int | None = None) -> bool:
        """Wait until woken (``True``) or ``timeout`` seconds pass (``False``). With
        ``since`` (:meth:`made` before the caller looked for work), work of ``kind``
        made after that look ends the wait at once."""
        if since is not None and self._made[kind] != since:
            return True
        if self.closed or timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        self._loop = loop
        waiter = _Waiter(kind, site, loop.create_future())
        self._waiting.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.woken), timeout)
            return True
        except TimeoutError:
            return False
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
            candidates = [w for w in self._waiting if w.kind == kind and not w.woken.done()]
            # sorted() is stable: within each rank, longest waiting first.
            candidates.sort(key=lambda w: 0 if w.site == site else 1 if w.site[0] == CCV
                            else 2)
            for waiter in candidates[:actas * WAKE_PER_ACTA]:
                self._release(waiter)
                woken += 1
        return woken

    def wake_threadsafe(self, site: tuple[str, str], work: WorkMade) -> None:
        """:meth:`wake` from another thread (ingest runs on the worker pool)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake, site, work)

    def close(self) -> None:
        """The server is stopping: every waiter answers now, and nobody waits again."""
        self.closed = True
        for waiter in list(self._waiting):
            self._release(waiter)

    def _release(self, waiter: _Waiter) -> None:
        if not waiter.woken.done():
            waiter.woken.set_result(None)
        if waiter in self._waiting:
            self._waiting.remove(waiter)
