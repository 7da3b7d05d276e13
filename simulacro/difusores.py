"""The drill's difusores (issue 30): ``prep difusor`` processes that follow the drill's
origin (:mod:`.origen`, ``OUT/publicacion`` over HTTPS) all night, the incidents they
must survive, and their part of the verdict.

- Set-up: ``prep difusor init`` (the origin, the central's key fingerprint as ``prep
  central init`` printed it, the origin's certificate as CA, a poll every
  :data:`INTERVALO` s, every corte kept so the verdict can check each one served) and
  ``prep difusor run`` as a child, data in ``OUT/difusores/difusorN``.
- The night (:meth:`Difusores.noche`, a thread of its own): the origin down for a while
  (each difusor fails a poll meanwhile and keeps serving its corte), then three altered
  answers, each until every difusor refused it: a flipped byte in the CSVs of a corte,
  an index signed by another key, and an old genuine index replayed (a rollback).
- The end (:meth:`Difusores.alcanzar`): after the último corte, until each difusor
  serves it. The verdict (:meth:`Difusores.veredicto`): its last corte byte-identical
  to the origin's, and every corte in its root verified with the institute's key (as
  ``prep verify-corte --huella``) and identical to the origin's corte of that name.
"""

from __future__ import annotations

import filecmp
import json
import logging
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from difusor import testigo as testigos
from difusor.estado import Estado
from difusor.estado import cargar
from difusor.indice import orden
from prep.corte.package import MANIFEST
from prep.corte.verify import HashCache
from prep.corte.verify import verify_corte
from prep.crypto import SigningKey
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet
from prep.transparencia import nota
from prep.transparencia.nota import NotaError
from simulacro.bifurcacion import Bifurcada
from simulacro.bifurcacion import ForjaError
from simulacro.bifurcacion import forjar
from simulacro.espera import EsperaAgotada
from simulacro.espera import esperar
from simulacro.espera import ritmo
from simulacro.informe import Incidente
from simulacro.nodo import Nodo
from simulacro.nodo import NodoError
from simulacro.nodo import _terminate
from simulacro.origen import INDICE
from simulacro.origen import INDICE_FIRMA
from simulacro.origen import Origen
from simulacro.progreso import Reloj
from simulacro.veredicto import cortes_in

log = logging.getLogger("simulacro")

INTERVALO = 2.0  # real seconds between a difusor's polls: ≈33 simulated minutes
CONSERVAR = 1000  # every corte stays in the difusor's root, for the verdict
#: A command's work before it answers (``prep difusor init``/``status``: an interpreter's
#: start-up and a small file), as reference seconds for :func:`~simulacro.espera.esperar`.
ARRANQUE_S = 30.0
#: Reference seconds to fetch and check one file of a corte when the difusor has not yet
#: downloaded one (a scale-1 corte, 38,619 files, came in 27.6 s: bench/RESULTS.md).
POR_ARCHIVO_S = 0.001
_CORTE = re.compile(r"[0-9]{8}_[0-9]{4}(?:_[0-9]+)?")


class IncidenteFallido(RuntimeError):
    """An incident the difusores did not go through as planned (the message says how)."""


@dataclass
class Difusor:
    """One ``prep difusor`` of the drill: its data directory, web root and process."""

    nombre: str
    base: Path
    process: subprocess.Popen[bytes] | None = None
    #: Its id at the central once registered (``difusor-…``; None: not registered).
    id: str | None = None

    @property
    def datos(self) -> Path:
        return self.base / "datos"

    @property
    def raiz(self) -> Path:
        return self.base / "www"

    def estado(self) -> Estado:
        return cargar(self.datos)

    def sirve(self) -> str | None:
        """The corte its ``latest`` names, if that is a whole directory."""
        try:
            nombre = os.readlink(self.raiz / "latest")
        except OSError:
            return None
        return nombre if (self.raiz / nombre / MANIFEST).is_file() else None

    def aceptado(self) -> int:
        """The size of the log checkpoint it accepted last (0: none yet)."""
        testigo = testigos.cargar(self.datos)
        registro = testigo.registros.get(testigo.actual or "")
        return registro.tamano if registro is not None else 0


class Difusores:
    """The drill's ``cuantos`` difusores and their origin (none with ``--difusores 0``)."""

    def __init__(self, out: Path, cuantos: int, logs: Path, reglas: Path | None = None,
                 rules: RuleSet = DEFAULT_RULES) -> None:
        self.dir = out / "difusores"
        self.publicacion = out / "publicacion"
        self.logs = logs
        self.reglas = reglas
        self.rules = rules
        self.origen = Origen(self.publicacion, self.dir / "origen", logs)
        self.lista = [Difusor(f"difusor{i}", self.dir / f"difusor{i}")
                      for i in range(1, cuantos + 1)]
        self.huella = ""
        self.thread: threading.Thread | None = None
        self.detener_noche = threading.Event()
        plan = ((400, "origen_caido", self._origen_caido),
                (460, "origen_restablecido", self._origen_restablecido),
                (540, "corte_alterado", self._byte_volteado),
                (620, "indice_otra_llave", self._otra_llave),
                (700, "indice_revertido", self._reversion),
                (780, "registro_bifurcado", self._bifurcacion))
        self.incidentes: list[tuple[Incidente, Callable[[], str]]] = [
            (Incidente(nombre, minuto), accion) for minuto, nombre, accion in plan] \
            if self.lista else []
        self._caido_desde = 0.0
        self._arranque: threading.Thread | None = None
        self.error_arranque: str | None = None
        self._statuses: list[subprocess.Popen[str]] = []
        self._revertido: Path | None = None
        #: Reference seconds until the central's next corte is out (the night's
        #: :meth:`~simulacro.noche.Cortes.trabajo_s`): part of what a wait allows.
        self.corte_s: Callable[[], float] = lambda: 0.0
        self._archivos: tuple[str, int] = ("", 0)  # the origin's newest corte, its files
        #: The central the difusores register with (their cosignatures, issue 67).
        self.nodo: Nodo | None = None
        #: The forged history served to difusor1 (the fork incident), for the verdict.
        self.bifurcada: Bifurcada | None = None
        #: The log's size when :meth:`cofirmado` last began waiting and then saw every
        #: registered difusor cosign a head at least that large (0: never): the cortes
        #: up to it carry published witnesses; one made during or after that wait (a
        #: scheduled corte, the último) may not yet, whatever the machine's speed.
        self.cubierto = 0

    # processes ------------------------------------------------------------------------

    def preparar(self, huella: str, nodo: Nodo | None = None) -> None:
        """Start the origin, then ``init``, register with ``nodo`` (``prep central
        difusor alta``, ``prep difusor registrar``: each cosigns the log of cortes) and
        ``run`` each difusor, in a thread of their own while the stations are set up (a
        few interpreters' start-up); :meth:`listos` waits for it."""
        if not self.lista:
            return
        self.huella = huella
        self.nodo = nodo
        self._arranque = threading.Thread(target=self._arrancar, name="difusores-arranque",
                                          daemon=True)
        self._arranque.start()

    def _arrancar(self) -> None:
        try:
            self.origen.start()
            for i, difusor in enumerate(self.lista, start=1):
                _prep("init", "--datos", str(difusor.datos), "--origen",
                      self.origen.url_de(difusor.nombre),
                      "--huella", self.huella, "--raiz", str(difusor.raiz), "--intervalo",
                      str(INTERVALO), "--conservar", str(CONSERVAR), "--ca",
                      str(self.origen.cert),
                      *(["--reglas", str(self.reglas.resolve())] if self.reglas else []))
                if self.nodo is not None:
                    difusor.id, codigo = self.nodo.difusor_alta(
                        f"Difusor {i} del simulacro", f"https://{difusor.nombre}.simulacro.invalid/")
                    _prep("registrar", "--datos", str(difusor.datos), "--central",
                          self.nodo.url, "--codigo", codigo, "--cert-sha256",
                          self.nodo.cert_sha256)
                if self.detener_noche.is_set():
                    return
                with (self.logs / f"{difusor.nombre}.log").open("ab") as err:
                    difusor.process = subprocess.Popen(
                        [sys.executable, "-m", "prep", "difusor", "run", "--datos",
                         str(difusor.datos)], stdout=subprocess.DEVNULL, stderr=err,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        except (OSError, NodoError, EsperaAgotada, subprocess.SubprocessError) as exc:
            log.error("los difusores no arrancaron: %s", exc)
            self.error_arranque = f"los difusores no arrancaron: {exc}"

    def listos(self) -> str | None:
        """Until the origin and the difusores are started; why they were not (None:
        they were)."""
        if self._arranque is not None:
            self._arranque.join()
        return self.error_arranque

    def detener(self, abandonar: bool = False) -> None:
        """Stop the difusores and the origin (idempotent); ``abandonar``: the drill
        stops before its verdict, so the status commands started go too."""
        self.detener_noche.set()
        self.listos()  # a start-up half done would leave a process behind
        for difusor in self.lista:
            _terminate(difusor.process, timeout=15.0)
        self.origen.stop()
        if abandonar:
            for command in self._statuses:
                command.kill()
                command.wait()
            self._statuses = []


    # the night ------------------------------------------------------------------------

    def noche(self, reloj: Reloj, say: Callable[[str], None],
              corte_s: Callable[[], float] | None = None) -> None:
        """Carry out the difusores' incidents at their simulated minutes, in a thread;
        ``corte_s``: how long the central's next corte may take to come out."""
        if not self.incidentes:
            return
        if corte_s is not None:
            self.corte_s = corte_s
        self.thread = threading.Thread(target=self._noche, args=(reloj, say),
                                       name="difusores", daemon=True)
        self.thread.start()

    def fin_de_noche(self) -> None:
        """Until the incidents are over (each wait is bounded by the work it waits for:
        :mod:`simulacro.espera`)."""
        if self.thread is not None:
            self.thread.join()

    def _noche(self, reloj: Reloj, say: Callable[[str], None]) -> None:
        try:
            if (error := self.listos()) is not None:
                raise IncidenteFallido(error)
            self._revertido = self._guardar_indice()
        except (IncidenteFallido, EsperaAgotada) as exc:
            for incidente, _ in self.incidentes:
                incidente.detalle = str(exc)
                incidente.agotada = isinstance(exc, EsperaAgotada)
            return
        for incidente, accion in self.incidentes:
            while reloj.minute() < incidente.minuto:
                if self.detener_noche.wait(0.1):
                    return
            try:
                incidente.detalle = accion()
                incidente.hecho = True
            except IncidenteFallido as exc:
                incidente.detalle = str(exc)
            except EsperaAgotada as exc:  # no wrong result: an event that did not come
                incidente.detalle = str(exc)
                incidente.agotada = True
            except Exception as exc:  # a bug or this machine: the verdict must say so
                log.exception("difusores: %s", incidente.nombre)
                incidente.detalle = f"{incidente.nombre}: {exc!r}"
            finally:
                self.origen.alterar()  # whatever happened, the genuine publication again
            say(f"Incidente (minuto {reloj.minute():.0f}): {incidente.detalle}")

    def _guardar_indice(self) -> Path:
        """A copy of the first signed index that names a corte, replayed later as a
        rollback."""
        destino = self.dir / "alterado" / "revertido"
        destino.mkdir(parents=True, exist_ok=True)

        def guardado() -> bool:
            indice, firma = self.publicacion / INDICE, self.publicacion / INDICE_FIRMA
            if not (indice.is_file() and firma.is_file()):
                return False
            # The central replaces the index, then its signature: read both twice.
            data, sig = indice.read_bytes(), firma.read_bytes()
            if (data, sig) != (indice.read_bytes(), firma.read_bytes()) or \
                    not _ultimo_de(data):
                return False
            (destino / INDICE).write_bytes(data)
            (destino / INDICE_FIRMA).write_bytes(sig)
            return True

        esperar(guardado, "el nodo central publica su primer índice firmado con un corte",
                lambda: self.corte_s(), detener=self.detener_noche,
                base="el siguiente corte del nodo central")
        return destino

    def _origen_caido(self) -> str:
        if (self.publicacion / INDICE).is_file():
            # The incident shows a difusor serving its corte through the outage: on a
            # slow machine the first corte may still be downloading at this minute.
            self._esperar(lambda d, _e: d.sirve() is not None,
                          "sirve un corte antes de la caída del origen", nuevo_corte=True)
        antes = {d.nombre: d.estado().ultimo_intento for d in self.lista}
        self.origen.stop()
        self._caido_desde = time.monotonic()
        self._esperar(lambda d, e: e.error is not None
                      and e.ultimo_intento != antes[d.nombre],
                      "intenta consultar el origen caído y falla", desde=time.time())
        return "el sitio de origen dejó de responder; " + "; ".join(
            f"{d.nombre} no pudo consultarlo y siguió sirviendo {d.sirve() or '(nada)'}"
            for d in self.lista)

    def _origen_restablecido(self) -> str:
        self.origen.start()
        return (f"el sitio de origen volvió en {self.origen.url} tras "
                f"{time.monotonic() - self._caido_desde:.0f} s")

    def _byte_volteado(self) -> str:
        # Refused only once a corte newer than the one served is out (the CSVs of the
        # corte it serves are not fetched again): a wait for the central's next corte.
        return self._alterado("un byte cambiado en cada CSV de los cortes (índice y "
                              "manifiestos firmados por el instituto)", voltear=True)

    def _otra_llave(self) -> str:
        destino = self.dir / "alterado" / "otra_llave"
        destino.mkdir(parents=True, exist_ok=True)
        impostor = SigningKey.generate()
        indice = json.loads((self.publicacion / INDICE).read_bytes())
        indice["llave"] = impostor.public.b64()
        data = json.dumps(indice, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
        (destino / INDICE).write_bytes(data)
        (destino / INDICE_FIRMA).write_bytes(impostor.sign(data))
        return self._alterado("un índice firmado con otra llave", indice=destino)

    def _reversion(self) -> str:
        assert self._revertido is not None
        # A rollback only if the difusor serves a later corte than the replayed index
        # names: on a slow machine the incidents before may have left it on that one.
        primero = _ultimo_de((self._revertido / INDICE).read_bytes())
        self._esperar(lambda d, _e: (s := d.sirve()) is not None and orden(s) > orden(
            primero), f"sirve un corte posterior a {primero} antes de la reversión",
            nuevo_corte=True)
        return self._alterado("el primer índice firmado de la noche, repetido (reversión)",
                              indice=self._revertido)

    def _bifurcacion(self) -> str:
        """A split view (issue 67): difusor1 alone is served a forged history (the corte
        it serves replaced and signed again with the institute's key, the log rebuilt
        and signed), until it refused it, its status says so and, registered, the central
        took its report of the fork; the others and the public see the genuine one."""
        objetivo = self.lista[0]
        if self.nodo is None:
            raise IncidenteFallido("la bifurcación necesita la llave del nodo central")
        llave = SigningKey.load(self.nodo.llave)
        self._esperar(lambda d, _e: d.sirve() is not None and d.aceptado() > 0,
                      "sirve un corte y aceptó el registro de cortes", solo=[objetivo],
                      nuevo_corte=True)
        forjada = self._forjar(objetivo, llave, "bifurcado")
        intento = 1
        while objetivo.aceptado() > forjada.tamano:
            # A poll under way as the forgery went up accepted a newer genuine checkpoint:
            # forged again from there, elsewhere (what is served stays whole meanwhile).
            intento += 1
            forjada = self._forjar(objetivo, llave, f"bifurcado-{intento}")
        self.bifurcada = forjada
        status = subprocess.run([sys.executable, "-m", "prep", "difusor", "status",
                                 "--datos", str(objetivo.datos)], capture_output=True,
                                text=True, timeout=ritmo().limite(ARRANQUE_S), check=False)
        estado_linea = next((ln for ln in status.stdout.splitlines()
                             if ln.startswith("Estado:")), "")
        if status.returncode != 1 or "BIFURCACIÓN" not in estado_linea:
            raise IncidenteFallido(f"{objetivo.nombre} rechazó la bifurcación, pero «prep "
                                   f"difusor status» no lo dice (salida {status.returncode}: "
                                   f"{estado_linea or status.stdout[-300:]})")
        if objetivo.id is not None:  # registered: the central took its report of the fork
            self._esperar(lambda _d, e: "BIFURCACIÓN" in (e.reporte_error or ""),
                          "reporta la bifurcación al nodo central", solo=[objetivo])
        servido = objetivo.sirve()
        if servido is None or (objetivo.raiz / servido / MANIFEST).read_bytes() != \
                (self.publicacion / servido / MANIFEST).read_bytes():
            raise IncidenteFallido(f"{objetivo.nombre} no siguió sirviendo el corte genuino "
                                   f"({servido})")
        otros = [d.nombre for d in self.lista[1:]]
        return (f"el origen sirvió solo a {objetivo.nombre} una historia de cortes "
                f"bifurcada (el corte {forjada.corte}, hoja {forjada.hoja}, reemplazado y "
                f"firmado de nuevo con la llave del instituto; el registro rehecho de "
                f"{forjada.tamano} cortes, raíz {forjada.raiz_b64[:16]}…): "
                f"{objetivo.nombre} la rechazó, su estado dice «{estado_linea[:160]}»"
                + (", la reportó al nodo central" if objetivo.id else "")
                + f" y siguió sirviendo {servido}"
                + (f"; {', '.join(otros)} "
                   f"{'siguieron' if len(otros) > 1 else 'siguió'} con la historia pública"
                   if otros else ""))

    def _forjar(self, objetivo: Difusor, llave: SigningKey, nombre: str) -> Bifurcada:
        """Forge (in ``alterado/<nombre>``) the history with the corte ``objetivo``
        serves replaced, serve it to ``objetivo`` alone, until it refused it (or
        accepted a newer genuine head)."""
        try:
            forjada = forjar(self.publicacion, self.dir / "alterado" / nombre, llave,
                             objetivo.sirve() or "")
        except (ForjaError, OSError, ValueError) as exc:
            raise IncidenteFallido(f"no se pudo forjar la historia bifurcada: {exc}") from None
        self.origen.alterar(bifurcacion=(objetivo.nombre, forjada.dir))
        self._esperar(lambda d, _e: _rechazo(d, forjada) or d.aceptado() > forjada.tamano,
                      "rechaza la historia de cortes bifurcada que el origen le sirve",
                      desde=time.time(), solo=[objetivo])
        return forjada

    def _alterado(self, que: str, voltear: bool = False, indice: Path | None = None) -> str:
        """Serve ``que`` until every difusor refused it; what each did."""
        antes = {d.nombre: (d.estado().rechazos, d.sirve()) for d in self.lista}
        self.origen.alterar(voltear=voltear, indice=indice)
        # An altered index is refused on the first poll that reads it; altered CSVs only
        # on the download of a corte newer than the one served.
        self._esperar(lambda d, e: e.rechazos > antes[d.nombre][0], f"rechaza {que}",
                      desde=None if voltear else time.time(), nuevo_corte=voltear)
        partes = []
        for d in self.lista:
            estado = d.estado()
            mensaje = estado.errores[-1]["mensaje"] if estado.errores else "?"
            partes.append(f"{d.nombre} lo rechazó («{mensaje[:200]}») y siguió sirviendo "
                          f"{d.sirve() or '(nada)'}")
        return f"el origen sirvió {que}: " + "; ".join(partes)

    def _esperar(self, listo: Callable[[Difusor, Estado], bool], evento: str,
                 desde: float | None = None, nuevo_corte: bool = False,
                 solo: list[Difusor] | None = None) -> None:
        """Until every difusor (of ``solo``, if given) shows ``evento`` (``listo``).

        ``desde`` (``time.time()``): when the origin began answering what each must
        notice on its next poll: a difusor whose poll began after it and ended without
        ``evento`` is a wrong result (:class:`IncidenteFallido`), however fast the
        machine. The wait is bounded by what is left to do (:meth:`_trabajo`);
        :class:`~simulacro.espera.EsperaAgotada` if that runs out, naming the difusores
        and the event."""
        cuales = list(self.lista if solo is None else solo)
        pendientes = list(cuales)

        def llego() -> bool:
            nonlocal pendientes
            pendientes = [d for d in pendientes if not listo(d, d.estado())]
            return not pendientes

        def revisar() -> None:
            for d in pendientes:
                if d.process is None or d.process.poll() is not None:
                    raise IncidenteFallido(f"{d.nombre} no está corriendo (bitácora: "
                                           f"{self.logs / d.nombre}.log)")
                estado = d.estado()
                inicio = _instante(estado.ultimo_intento)
                if desde is not None and inicio is not None and inicio >= math.ceil(desde) \
                        and not listo(d, estado):
                    raise IncidenteFallido(
                        f"{d.nombre} no cumplió «{evento}»: su consulta de las "
                        f"{estado.ultimo_intento} empezó después de que el origen cambiara y "
                        f"terminó sin hacerlo ({estado.error or 'sin error'})")

        try:
            esperar(llego, f"{', '.join(d.nombre for d in cuales)}: {evento}",
                    lambda: max((self._trabajo(d, nuevo_corte) for d in pendientes),
                                default=0.0),
                    detener=self.detener_noche, revisar=revisar,
                    base=("la consulta en curso y la siguiente de cada difusor, con la "
                          "descarga del corte más reciente del origen"
                          + (" y el siguiente corte del nodo central" if nuevo_corte else "")))
        except EsperaAgotada as exc:
            faltan = ", ".join(f"{d.nombre} (última consulta "
                               f"{d.estado().ultimo_intento or 'ninguna'})" for d in pendientes)
            raise EsperaAgotada(f"{faltan}: {evento}", exc.segundos, exc.base) from None

    def _trabajo(self, difusor: Difusor, nuevo_corte: bool) -> float:
        """Seconds of what ``difusor`` may still have to do before a poll shows an event:
        the poll under way and the next (each the origin's newest corte fetched and
        checked, per file as long as its own last download took, or
        :data:`POR_ARCHIVO_S`) and, with ``nuevo_corte``, the central's next corte."""
        estado = difusor.estado()
        ultima = list(estado.descargas.values())[-1] if estado.descargas else {}
        por_archivo = max(POR_ARCHIVO_S, float(ultima.get("segundos", 0.0))
                          / max(1, int(ultima.get("archivos", 0) or 0)))
        descarga = 2 * por_archivo * self._archivos_ultimo()  # fetched, then checked
        return 2 * (INTERVALO + descarga) + (self.corte_s() if nuevo_corte else 0.0)

    def _archivos_ultimo(self) -> int:
        """Files of the origin's newest corte (its manifest's lines), read once per corte."""
        cortes = cortes_in(self.publicacion)
        if not cortes:
            return 0
        if self._archivos[0] != cortes[-1].name:
            try:
                with (cortes[-1] / MANIFEST).open("rb") as manifest:
                    self._archivos = (cortes[-1].name, sum(1 for _ in manifest))
            except OSError:
                return self._archivos[1]
        return self._archivos[1]

    # the end --------------------------------------------------------------------------

    def alcanzar(self, corte: str) -> tuple[list[str], list[str]]:
        """Until every difusor serves ``corte`` (the último); the failures (a difusor
        that stopped) and the esperas agotadas (one still behind when its bound, the
        work left to it, ran out). Then ``prep difusor status --json`` is started for
        each, read by :meth:`veredicto`: an interpreter's start-up is most of it, so it
        runs meanwhile."""
        if (error := self.listos()) is not None:
            return [error], []
        failures: list[str] = []
        esperas: list[str] = []
        try:
            self._esperar(lambda d, _e: d.sirve() == corte, f"sirve el último corte {corte}")
        except IncidenteFallido as exc:
            failures.append(str(exc))
        except EsperaAgotada as exc:
            esperas.append(str(exc))
        else:
            failures, esperas = self.cofirmado()
        self._statuses = [_status(d) for d in self.lista]
        return failures, esperas

    def cofirmado(self) -> tuple[list[str], list[str]]:
        """Until every registered difusor's last report the central accepted carries its
        cosignature of the log's current head (issue 67: the next corte publishes it in
        ``transparencia/cofirmas/<n>``); the failures and the esperas agotadas."""
        if self.listos() is not None:
            return [], []  # alcanzar() says why they are not there
        def tamano() -> int:  # read each round: a scheduled corte may come meanwhile
            try:
                return nota.checkpoint(nota.leer((self.publicacion / "transparencia"
                                                  / "checkpoint").read_bytes())).tamano
            except (OSError, NotaError):
                return 0
        antes = tamano()
        if antes == 0:
            return ["el registro público de cortes no tiene cabeza (transparencia/checkpoint)"], []
        try:
            self._esperar(lambda d, e: d.id is None or (e.reporte_cofirma or 0) >= tamano(),
                          "cofirma la última cabeza del registro de cortes y el nodo central "
                          "acepta su reporte")
        except IncidenteFallido as exc:
            return [str(exc)], []
        except EsperaAgotada as exc:
            return [], [str(exc)]
        self.cubierto = max(self.cubierto, antes)
        return [], []

    def veredicto(self, hashed: HashCache) -> tuple[list[dict[str, Any]], list[str]]:
        """Each difusor's row for ``simulacro.json`` and the failures found."""
        origen = {p.name: p for p in cortes_in(self.publicacion)}
        ultimo = list(origen)[-1] if origen else None  # cortes_in sorts them by time
        filas: list[dict[str, Any]] = []
        failures: list[str] = []
        statuses = self._statuses or [_status(d) for d in self.lista]
        self._statuses = []
        for difusor, command in zip(self.lista, statuses, strict=True):
            servido = difusor.sirve()
            identico = servido is not None and servido == ultimo and _mismo_arbol(
                difusor.raiz / servido, origen[servido])
            presentes = sorted(n for n in os.listdir(difusor.raiz) if _CORTE.fullmatch(n)) \
                if difusor.raiz.is_dir() else []
            malos = [n for n in presentes
                     if not self._verificado(difusor.raiz / n, origen.get(n), hashed)]
            status = _status_json(command)
            # Every corte it published is still there (CONSERVAR), so none escapes.
            malos += sorted(set(status.get("descargas", {})) - set(presentes))
            filas.append({"nombre": difusor.nombre, "ultimo_corte": servido,
                          "identico": identico, "rechazos": int(status.get("rechazos", 0)),
                          "sirvio_no_verificado": bool(malos),
                          "cortes_servidos": len(presentes)})
            if not identico:
                failures.append(f"{difusor.nombre}: su último corte ({servido}) no es "
                                f"idéntico byte a byte al último del origen ({ultimo})")
            if malos:
                failures.append(f"{difusor.nombre}: sirvió cortes que no verifican con la "
                                f"llave del instituto o difieren del origen: "
                                f"{', '.join(malos[:5])}")
        return filas, failures

    def _verificado(self, directory: Path, origen: Path | None, hashed: HashCache) -> bool:
        """The corte verifies with the institute's key and is the origin's corte of that
        name (the same signed manifest, hence the same bytes in every file)."""
        if origen is None:
            return False
        try:
            same = (directory / MANIFEST).read_bytes() == (origen / MANIFEST).read_bytes()
        except OSError:
            return False
        return same and verify_corte(directory, huella=self.huella, hashed=hashed,
                                     rules=self.rules).ok


def _rechazo(difusor: Difusor, forjada: Bifurcada) -> bool:
    """Whether ``difusor`` noted the forged history as a fork (its ``testigo.json``)."""
    visto = testigos.cargar(difusor.datos).bifurcacion
    recibido = visto.get("recibido", {}) if visto else {}
    return recibido.get("tamano") == forjada.tamano and \
        recibido.get("raiz") == forjada.raiz_b64


def _prep(*args: str) -> str:
    limite = ritmo().limite(ARRANQUE_S)
    try:
        done = subprocess.run([sys.executable, "-m", "prep", "difusor", *args],
                              capture_output=True, text=True, timeout=limite, check=False)
    except subprocess.TimeoutExpired:
        raise EsperaAgotada(f"prep difusor {args[0]} termina", limite) from None
    if done.returncode != 0:
        raise OSError(f"prep difusor {args[0]} terminó con {done.returncode}: "
                      f"{(done.stdout + done.stderr)[-800:]}")
    return done.stdout


def _status(difusor: Difusor) -> subprocess.Popen[str]:
    """``prep difusor status --json``, started."""
    return subprocess.Popen([sys.executable, "-m", "prep", "difusor", "status", "--datos",
                             str(difusor.datos), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def _status_json(command: subprocess.Popen[str]) -> dict[str, Any]:
    """What the command printed (its exit 1 only says the last poll failed)."""
    try:
        out, _ = command.communicate(timeout=ritmo().limite(ARRANQUE_S))
        return dict(json.loads(out))
    except (ValueError, subprocess.TimeoutExpired):
        command.kill()
        command.wait()
        return {}


def _ultimo_de(indice: bytes) -> str:
    """The newest corte an index names ("" for none, or an index that is not one)."""
    try:
        nombres = [str(c["nombre"]) for c in json.loads(indice).get("cortes", [])]
        return max(nombres, key=orden) if nombres else ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""


def _instante(iso: str | None) -> float | None:
    """``time.time()`` of a difusor's ISO timestamp (None for none)."""
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


def _mismo_arbol(a: Path, b: Path) -> bool:
    """The same files with the same bytes under both directories."""
    def archivos(root: Path) -> set[str]:
        return {os.path.relpath(os.path.join(d, f), root)
                for d, _, files in os.walk(root) for f in files}
    nombres = archivos(a)
    return nombres == archivos(b) and all(
        filecmp.cmp(a / n, b / n, shallow=False) for n in sorted(nombres))

