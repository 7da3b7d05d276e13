"""The virtual capturistas and verificador: take leased work from the central through
:class:`~prep.station.work.WorkQueue` and type what the image says, with the mistakes
the plan gives them; a capturista who gets an unreadable image says so (once across
the whole drill) and the digitalizador scans it again.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import OperationalError

from prep.sintetico.plan import typed
from prep.station.errors import StationError
from prep.station.errors import StationStorageError
from prep.station.work import MAX_PREFETCH
from prep.station.work import WorkError
from prep.station.work import WorkItem
from prep.station.work import WorkQueue
from prep.values import Marca
from prep.values import parse_valor
from simulacro.estacion.base import EstacionBase
from simulacro.proceso import claim_complaint

log = logging.getLogger("simulacro.estacion")

#: An operator with nothing to do waits this long at the central for work (``espera``
#: of ``POST /v1/work/next``, seconds): woken as soon as a batch leaves an acta for them,
#: instead of asking every few seconds (at full scale a third of the 26,000 asks came
#: back empty, most of them the 34 verificadores' asks every 10 s).
ESPERA = 60
#: Actas an operator holds at once. A drill operator types an acta in 90 ms of wall
#: time (``CAPTURA_SEGUNDOS`` at ×1000), so each ask (an HTTPS round trip and a lease
#: grant, ≈9 ms of the station's CPU and ≈4 of the central's in a loaded drill) is
#: spread over as many actas as the central allows.
PREFETCH = MAX_PREFETCH
#: Longest wait between asks for work when an ask came back empty without waiting at the
#: central (it is stopping, or the link is down; wall seconds).
IDLE_MAX = {"captura": 5.0, "verificacion": 10.0, "cotejo": 5.0}
#: The first wait after such an answer (then doubled up to IDLE_MAX).
IDLE_FIRST = 0.5
#: Simulated seconds a capturista types one acta, a verificador decides one.
CAPTURA_SEGUNDOS, VERIFICACION_SEGUNDOS = 90.0, 180.0


class Captura(EstacionBase):
    """The capturistas' and the verificador's part of the station."""

    def trabajador(self, operator: str, kind: str) -> None:
        queue = WorkQueue(self.station, operator, kind, prefetch=PREFETCH)
        with self.lock:
            self.queues.append(queue)
        if self.stop.is_set():
            queue.abort()  # stopped while this worker started: shutdown() missed it
        idle = IDLE_FIRST
        try:
            while not self.stop.is_set():
                asked = time.monotonic()
                item = self._next(queue)
                if item is None:
                    if time.monotonic() - asked >= ESPERA / 2:
                        continue  # the central waited with us: ask again at once
                    self.stop.wait(idle)
                    idle = min(IDLE_MAX[kind], idle * 2)
                    continue
                idle = IDLE_FIRST
                self._work(queue, item)
        finally:
            queue.close()

    def _next(self, queue: WorkQueue) -> WorkItem | None:
        """The item to work on, asking the central for more when none is held (and
        waiting there up to :data:`ESPERA` seconds if it has none)."""
        try:
            item = queue.current()
            if item is None and self.online.is_set():
                try:
                    outcome = queue.refill(ESPERA)
                except WorkError as exc:
                    self.bump("trabajo_rechazado")
                    log.warning("%s: %s", self.name, exc)
                    return None
                self.bump("pedidos_de_trabajo")
                if not outcome.ready:
                    self.bump("pedidos_sin_trabajo")
                    return None
                item = outcome.ready[0]  # what current() would read again
        except OperationalError:  # the station's database was busy: try again shortly
            self.bump("reintentos_base_ocupada")
            return None
        return item

    def _work(self, queue: WorkQueue, item: WorkItem) -> None:
        seconds = CAPTURA_SEGUNDOS if item.kind == "captura" else VERIFICACION_SEGUNDOS
        self.stop.wait(seconds / self.speed)
        clave = item.clave_acta
        with self.acta_work(clave):
            if item.kind == "captura" and clave in self.ilegibles_globales \
                    and not (self.avisos / clave).exists() and self._claim_complaint(clave):
                self._complain(queue, item)
                return
            verdad = self.verdad.get(clave)
            if verdad is None:
                self.fail(f"{clave}: asignada pero sin verdad conocida")
                queue.release(item)
                return
            valores: dict[str, int | str] = {c: _as_typed(verdad.get(c, "Sin dato"))
                                             for c in item.campos}
            if item.kind == "captura":
                error = self.errores.get(clave, {}).get(str(item.slot))
                if error is not None and error[0] in valores:
                    valores[error[0]] = _as_typed(typed(verdad[error[0]], error[1]))
                    self.bump("errores_tecleados")
                errada = self.erradas.get(clave)
                # Published wrong on purpose: every capture before the cotejo found it
                # (its note, written before the cotejo is recorded) makes the same
                # mistake; the correction round's captures are right.
                if errada is not None and errada[0] in valores and \
                        not (self.avisos / f"{clave}.cotejo").exists():
                    valores[errada[0]] = _as_typed(errada[1])
                    self.bump("errores_a_proposito")
                queue.submit(item, valores)
                self.bump("capturas")
            else:
                queue.submit(item, valores, "Se tomó lo que dice la imagen del acta.")
                self.bump("verificaciones")

    def _complain(self, queue: WorkQueue, item: WorkItem) -> None:
        """Record the unreadable image (retrying while the station's database is busy),
        then leave the note that sends the digitalizador to scan it again. A complaint
        the station refuses (the lease ran out meanwhile) gives the claim back, so the
        next capturista to get the acta makes it."""
        clave = item.clave_acta
        for _ in range(60):
            try:
                queue.ilegible(item, "La imagen está borrosa; se pide digitalizarla de nuevo.")
            except (OperationalError, StationStorageError):
                self.bump("reintentos_base_ocupada")
                self.stop.wait(0.5)
                continue
            except (WorkError, StationError):
                (self.avisos / f"{clave}.reclamo").unlink(missing_ok=True)
                raise
            (self.avisos / clave).touch()
            self.bump("incidente_ilegible")
            return
        self.fail(f"{clave}: no se pudo registrar la imagen ilegible")

    def _claim_complaint(self, clave: str) -> bool:
        """Only one capturista of the drill at a time calls the acta unreadable (an
        exclusive file create, across every station process)."""
        return claim_complaint(self.avisos, clave, self.name)

def _as_typed(text: str) -> int | str:
    valor = parse_valor(text)
    return text if isinstance(valor, Marca) else int(valor)
