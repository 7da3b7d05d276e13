"""The drill's night: this process plays the clock while the stations work. It drops
the PREP Casilla photos at their minute (on a thread of their own), injects the
incidents (a link cut and restored, a station killed and restarted, the central
restarted), asks for a corte every ``--corte-cada`` simulated minutes and prints the
progress line. The stations' own incidents (a QR read twice, a rescan, an unreadable
image) are only listed here; the stations carry them out and the verdict checks them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prep.catalog import Catalog
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from prep.sintetico.plan import NOCHE_MINUTOS
from prep.sintetico.plan import Plan
from prep.sintetico.plan import PlanEstacion
from simulacro.difusores import Difusores
from simulacro.espera import EsperaAgotada
from simulacro.estaciones import Estaciones
from simulacro.informe import DrillReport
from simulacro.informe import Incidente
from simulacro.nodo import Nodo
from simulacro.nodo import NodoError
from simulacro.progreso import Reloj

log = logging.getLogger("simulacro")


class Cortes:
    """The cortes the drill asks the central for (besides its scheduled ones), one at a
    time, and what each command answered."""

    def __init__(self, nodo: Nodo) -> None:
        self.nodo = nodo
        self.hechos: list[dict[str, Any]] = []  # each ``prep central corte``'s JSON
        self.thread: threading.Thread | None = None

    def ask(self) -> None:
        """A corte in the background, unless one is still running."""
        if self.thread is not None and self.thread.is_alive():
            return  # a corte is still running: skip this tick, like the central does

        def corte() -> None:
            try:
                self.hechos.append(self.nodo.corte())
            except (NodoError, EsperaAgotada) as exc:  # e.g. the central restarting:
                # retried next tick
                log.warning("corte: %s", exc)
        self.thread = threading.Thread(target=corte, name="corte", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Until the corte asked for in the background (if any) is done."""
        if self.thread is not None:
            self.thread.join()

    def trabajo_s(self) -> float:
        """Seconds until the central's next corte is out, at most: its schedule's
        interval (the drill may ask for none meanwhile) and the longest corte so far."""
        longest = max((float(h.get("segundos", 0.0)) for h in self.hechos), default=0.0)
        return self.nodo.corte_every * 60.0 + longest

    def now(self, ultimo: bool = False) -> dict[str, Any]:
        """A corte made now, in this thread (the *último corte* with ``ultimo``)."""
        hecho = self.nodo.corte(ultimo=ultimo)
        self.hechos.append(hecho)
        return hecho


@dataclass(frozen=True)
class Ajustes:
    """How the night runs (the drill's options): where the PREP Casilla photos go, the
    simulated minutes between on-demand cortes, the photos' resolution, with
    ``--nodos 2`` the minute the primary's machine is lost (None: no standby), and the
    difusores whose incidents the night carries out (:mod:`.difusores`)."""

    casilla: Path
    corte_cada: float
    dpi: int
    failover_minute: float | None = None
    difusores: Difusores | None = None


class Noche:
    """The night of one drill, from minute 0 to :data:`NOCHE_MINUTOS`."""

    def __init__(self, *, plan: Plan, catalog: Catalog, nodo: Nodo, estaciones: Estaciones,
                 cortes: Cortes, reloj: Reloj, report: DrillReport, ajustes: Ajustes,
                 say: Callable[[str], None], line: Callable[[], str]) -> None:
        self.plan = plan
        self.catalog = catalog
        self.nodo = nodo
        self.estaciones = estaciones
        self.cortes = cortes
        self.reloj = reloj
        self.report = report
        self.casilla = ajustes.casilla
        self.corte_cada = ajustes.corte_cada
        self.dpi = ajustes.dpi
        self.say = say
        self.line = line
        #: ``--nodos 2``: the minute the primary's machine is lost (None: no standby).
        self.failover_minute = ajustes.failover_minute
        self.metrics_lock = threading.Lock()
        self.phones: threading.Thread | None = None
        #: The difusores and their incidents (the origin down, altered answers).
        self.difusores = ajustes.difusores

    def phones_busy(self) -> bool:
        """Whether PREP Casilla photos are still being dropped (during the drain)."""
        return self.phones is not None and self.phones.is_alive()

    def run(self) -> None:
        # The phones at the casillas work on their own thread: rendering thousands of
        # photos must not hold up the clock, the incidents or the progress line.
        night_over = threading.Event()
        phones = threading.Thread(target=self._phones, args=(list(self.plan.fotos),
                                                             night_over),
                                  name="fotos-casilla", daemon=True)
        phones.start()
        self.phones = phones
        try:
            self._loop()
        finally:
            night_over.set()  # the rest of the photos go at once, during the drain

    def _loop(self) -> None:
        incidentes = self._schedule()
        next_corte = self.corte_cada
        next_line = 0.0
        while self.reloj.minute() < NOCHE_MINUTOS:
            now = self.reloj.minute()
            self._incidents(incidentes, now)
            if now >= next_corte:
                self.cortes.ask()
                next_corte += self.corte_cada
            self.estaciones.check()
            if time.monotonic() >= next_line:
                self.say(self.line())
                next_line = time.monotonic() + 3.0
            time.sleep(0.1)
        # An incident of the night whose minute a slow one before it (a central restart
        # on a loaded machine takes tens of seconds: hundreds of simulated minutes)
        # carried past the end still happens, late, rather than not at all.
        self._incidents(incidentes, NOCHE_MINUTOS)

    def _incidents(self, incidentes: list[tuple[Incidente, Callable[[], str]]],
                   now: float) -> None:
        for incidente, action in incidentes:
            if not incidente.hecho and incidente.minuto <= now:
                started = self.reloj.minute()
                incidente.detalle = action()
                incidente.hecho = True
                self.say(f"Incidente (minuto {started:.0f}): {incidente.detalle}")

    # incidents ---------------------------------------------------------------------

    def _schedule(self) -> list[tuple[Incidente, Callable[[], str]]]:
        catd = [e.nombre for e in self.plan.estaciones if e.rol == "catd"]
        caida, matada = catd[0], catd[1 % len(catd)]
        estaciones = self.estaciones
        out: list[tuple[Incidente, Callable[[], str]]] = [
            (Incidente("enlace_caido", 180), lambda: estaciones.send(caida, signal.SIGUSR1,
                                                                      "sin enlace")),
            (Incidente("enlace_restablecido", 300), lambda: estaciones.send(
                caida, signal.SIGUSR2, "enlace restablecido")),
            (Incidente("estacion_reiniciada", 360), lambda: estaciones.kill_restart(matada)),
            (Incidente("central_reiniciado", 480), self._restart_central),
        ]
        if self.failover_minute is not None:
            out.append((Incidente("primario_perdido", self.failover_minute), self._failover))
        self.report.incidentes = [i for i, _ in out]
        if self.difusores is not None:  # carried out on a thread of theirs (difusores.py)
            self.report.incidentes += [i for i, _ in self.difusores.incidentes]
            self.difusores.noche(self.reloj, self.say, self.cortes.trabajo_s)
        for estacion in self.plan.estaciones:
            self._station_incidents(estacion)
        return out

    def _station_incidents(self, estacion: PlanEstacion) -> None:
        """The incidents the stations carry out themselves (checked at the end)."""
        for what, claves in (("acta_duplicada", estacion.duplicados),
                             ("reescaneo", estacion.reescaneos),
                             ("imagen_ilegible", estacion.ilegibles)):
            for clave in claves:
                self.report.incidentes.append(Incidente(what, -1, detalle=f"{estacion.nombre}: "
                                                        f"{clave}"))
        for llegada in estacion.llegadas:
            if llegada.tipo in ("sin_acta", "fuera"):
                self.report.incidentes.append(Incidente(
                    llegada.tipo, llegada.minuto, detalle=f"{estacion.nombre}: {llegada.clave}"))

    def _failover(self) -> str:
        self.cortes.wait()
        seconds = self.nodo.failover()
        # Someone brings the lost primary back and asks it for a corte: it must publish
        # nothing (issue 62); its stations' fencing is tests/central/continuity/test_fencing.py's.
        publicados = self.nodo.replaced_primary_publishes(
            self.nodo.logs / "publicacion-primario-anterior")
        self.report.metrics.setdefault("continuidad", {}).update(
            {"failover_segundos": round(seconds, 2), "minuto": self.failover_minute,
             "primario_anterior_publico": publicados})
        if publicados:
            self.report.failures.append("el primario anterior publicó después de la "
                                        f"promoción: {', '.join(publicados)}")
        return (f"se perdió la máquina del primario (serve, intake y PostgreSQL con "
                f"SIGKILL); standby promovido y atendiendo en {self.nodo.url} en "
                f"{seconds:.1f} s; el primario anterior, vuelto a arrancar, no publicó")

    def _restart_central(self) -> str:
        self.cortes.wait()
        self.nodo.restart()
        return f"nodo central detenido y vuelto a arrancar en {self.nodo.url}"

    # PREP Casilla ------------------------------------------------------------------

    def _phones(self, fotos: list[tuple[float, str]], night_over: threading.Event) -> None:
        """Each PREP Casilla photo at its simulated minute; what is left at once when
        the night is over."""
        try:
            for minute, clave in fotos:
                while not night_over.is_set() and self.reloj.minute() < minute:
                    night_over.wait(0.2)
                self._photo(clave)
        except Exception as exc:  # e.g. a full disk: the verdict must say so
            log.exception("PREP Casilla photos stopped")
            self.report.failures.append(f"las fotos de PREP Casilla se detuvieron: {exc!r}")

    def _photo(self, clave: str) -> None:
        """A PREP Casilla photo reaches the intake folder."""
        acta = self.catalog.acta(clave)
        assert acta is not None
        estado = self.plan.sim.estado[clave]
        truth = dict(estado.captura.items()) if estado.captura is not None else {}
        data = render_acta_image(acta, truth, ActaImageOptions(
            dpi=self.dpi, photo=True, jpeg_quality=70,
            seed=zlib.crc32(clave.encode())), self.catalog)
        tmp = self.casilla / f".IMG_{clave}.jpg.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.casilla / f"IMG_{clave}.jpg")
        with self.metrics_lock:
            self.report.metrics["fotos_casilla"] = self.report.metrics.get("fotos_casilla",
                                                                           0) + 1
