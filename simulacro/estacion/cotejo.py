"""The CATD's cotejo: its verificador compares a share of the published actas with the
paper (the truth) and names the fields that differ, which opens a correction round.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from sqlalchemy.exc import OperationalError

from prep.corte.package import csv_name
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.sintetico.plan import NOCHE_MINUTOS
from prep.station.work import WorkError
from prep.station.work import WorkItem
from prep.station.work import WorkQueue
from prep.values import format_valor
from prep.values import parse_valor
from simulacro.estacion.base import EstacionBase
from simulacro.estacion.captura import IDLE_FIRST
from simulacro.estacion.captura import IDLE_MAX
from simulacro.estacion.captura import PREFETCH
from simulacro.estacion.captura import VERIFICACION_SEGUNDOS

log = logging.getLogger("simulacro.estacion")

class Cotejo(EstacionBase):
    """The cotejador's part of the station."""

    def cotejador(self, operator: str) -> None:
        """The CATD's verificador cotejos published actas of its CATD against the paper
        (the truth): a ``cotejo_rate`` sample of them (the others are given back), and
        always the planned «published wrong» ones, once a corte has published them. When
        the night is over it stops, once it has found those of its CATD: cotejo is a
        sample, and its records trickling after the last validations would keep the
        drill's drain from seeing the stations idle (≈10 s of a 90 s drill)."""
        mine = set(self.erradas) & {str(ll["clave"]) for ll in self.config["llegadas"]}
        queue = WorkQueue(self.station, operator, "cotejo", prefetch=PREFETCH)
        with self.lock:
            self.queues.append(queue)
        if self.stop.is_set():
            queue.abort()
        idle = IDLE_FIRST
        try:
            while not self.stop.is_set():
                if self.minute() >= NOCHE_MINUTOS and mine <= self.con_diferencia:
                    self.stop.wait(1.0)  # the night is over and its erradas are found
                    continue
                ready = self._cotejables(queue)
                if ready is None:
                    self.stop.wait(idle)
                    idle = min(IDLE_MAX["cotejo"], idle * 2)
                    continue
                idle = IDLE_FIRST
                for item in ready:
                    if self.stop.is_set():
                        break
                    self._cotejar(queue, item)
        finally:
            queue.close()

    def _cotejables(self, queue: WorkQueue) -> list[WorkItem] | None:
        """The held cotejo leases to work on now, asking the central for more when none
        is (cotejo work is answered at once); ``None``: nothing to do now."""
        try:
            ready = [i for i in queue.pending() if self._lista(i)]
            if not ready and self.online.is_set():
                try:
                    outcome = queue.refill()
                except WorkError as exc:
                    self.bump("trabajo_rechazado")
                    log.warning("%s: %s", self.name, exc)
                    return None
                self.bump("pedidos_de_cotejo")
                ready = [i for i in outcome.ready if self._lista(i)]
        except OperationalError:
            self.bump("reintentos_base_ocupada")
            return None
        return ready or None

    def _lista(self, item: WorkItem) -> bool:
        """Whether to cotejo ``item`` now: a planned «published wrong» acta waits until a
        corte has published it (so the verdict sees it published wrong, then corrected in
        a later corte); any other acta at once."""
        clave = item.clave_acta
        if clave not in self.erradas or clave in self.publicadas_vistas:
            return True
        if self._publicada(clave):
            self.publicadas_vistas.add(clave)
            return True
        return False

    def _publicada(self, clave: str) -> bool:
        """The acta has data in the latest published corte (read from its election's
        CSV, as a reader of the site would)."""
        acta = self.catalog.acta(clave) if self.catalog is not None else None
        if acta is None:
            return True
        path = Path(self.config["publicacion"]) / "latest" / csv_name(acta.eleccion)
        try:
            filas = read_eleccion_csv(path.read_bytes()).filas
        except (OSError, CsvFormatError):
            return False  # no corte yet, or being replaced: asked again shortly
        return any(f["CLAVE_ACTA"].strip("'") == clave and f["CONTABILIZADA"] != "-"
                   for f in filas)

    def _cotejar(self, queue: WorkQueue, item: WorkItem) -> None:
        clave = item.clave_acta
        with self.acta_work(clave):
            if clave not in self.erradas and \
                    random.Random(f"{clave}:cotejo").random() >= self.cotejo_rate:
                queue.release(item)  # not in the sample: never offered to them again
                return
            self.stop.wait(VERIFICACION_SEGUNDOS / self.speed)
            verdad = self.verdad.get(clave)
            if verdad is None:
                self.fail(f"{clave}: para cotejo pero sin verdad conocida")
                queue.release(item)
                return
            publicado = item.valores or {}
            campos = [c for c in item.campos
                      if _normal(publicado.get(c)) != _normal(verdad.get(c, "Sin dato"))]
            if campos:
                # The note first: the correction round's capturistas type the paper.
                self.avisos.mkdir(parents=True, exist_ok=True)
                (self.avisos / f"{clave}.cotejo").touch()
                queue.cotejo(item, False, campos, "El acta en papel dice otra cantidad en "
                             + ", ".join(campos) + ".")
                with self.lock:
                    self.con_diferencia.add(clave)
            else:
                queue.cotejo(item, True)
                with self.lock:
                    self.cotejadas.add(clave)
            self.bump("cotejos")


def _normal(valor: object) -> str:
    """A value as published or typed, in one spelling (``56``, ``"56"``, ``"Ilegible"``)."""
    if valor is None:
        return ""
    try:
        return format_valor(parse_valor(str(valor)))
    except ValueError:
        return str(valor)
