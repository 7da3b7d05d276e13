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
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from difusor.estado import Estado
from difusor.estado import cargar
from prep.corte.package import MANIFEST
from prep.corte.verify import HashCache
from prep.corte.verify import verify_corte
from prep.crypto import SigningKey
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet
from simulacro.informe import Incidente
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
#: Real seconds an incident waits for every difusor to notice it (a poll that fails, a
#: refusal); a flipped byte is refused only once a new corte is out (at full scale a
#: corte takes up to a minute, and the difusor's download and check of it some more).
ESPERA = 180.0
_CORTE = re.compile(r"\d{8}_\d{4}(?:_\d+)?")


class IncidenteFallido(RuntimeError):
    """An incident the difusores did not go through as planned (the message says how)."""


@dataclass
class Difusor:
    """One ``prep difusor`` of the drill: its data directory, web root and process."""

    nombre: str
    base: Path
    process: subprocess.Popen[bytes] | None = None

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
                (700, "indice_revertido", self._reversion))
        self.incidentes: list[tuple[Incidente, Callable[[], str]]] = [
            (Incidente(nombre, minuto), accion) for minuto, nombre, accion in plan] \
            if self.lista else []
        self._caido_desde = 0.0
        self._arranque: threading.Thread | None = None
        self.error_arranque: str | None = None
        self._statuses: list[subprocess.Popen[str]] = []
        self._revertido: Path | None = None

    # processes ------------------------------------------------------------------------

    def preparar(self, huella: str) -> None:
        """Start the origin, then ``init`` and ``run`` each difusor, in a thread of
        their own while the stations are set up (a few interpreters' start-up);
        :meth:`listos` waits for it."""
        if not self.lista:
            return
        self.huella = huella
        self._arranque = threading.Thread(target=self._arrancar, name="difusores-arranque",
                                          daemon=True)
        self._arranque.start()

    def _arrancar(self) -> None:
        try:
            self.origen.start()
            for difusor in self.lista:
                _prep("init", "--datos", str(difusor.datos), "--origen", self.origen.url,
                      "--huella", self.huella, "--raiz", str(difusor.raiz), "--intervalo",
                      str(INTERVALO), "--conservar", str(CONSERVAR), "--ca",
                      str(self.origen.cert),
                      *(["--reglas", str(self.reglas.resolve())] if self.reglas else []))
                if self.detener_noche.is_set():
                    return
                with (self.logs / f"{difusor.nombre}.log").open("ab") as err:
                    difusor.process = subprocess.Popen(
                        [sys.executable, "-m", "prep", "difusor", "run", "--datos",
                         str(difusor.datos)], stdout=subprocess.DEVNULL, stderr=err,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        except (OSError, NodoError, subprocess.SubprocessError) as exc:
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

    def noche(self, reloj: Reloj, say: Callable[[str], None]) -> None:
        """Carry out the difusores' incidents at their simulated minutes, in a thread."""
        if not self.incidentes:
            return
        self.thread = threading.Thread(target=self._noche, args=(reloj, say),
                                       name="difusores", daemon=True)
        self.thread.start()

    def fin_de_noche(self) -> None:
        """Until the incidents are over (each is bounded by :data:`ESPERA`)."""
        if self.thread is not None:
            self.thread.join()

    def _noche(self, reloj: Reloj, say: Callable[[str], None]) -> None:
        try:
            if (error := self.listos()) is not None:
                raise IncidenteFallido(error)
            self._revertido = self._guardar_indice()
        except IncidenteFallido as exc:
            for incidente, _ in self.incidentes:
                incidente.detalle = str(exc)
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
            except Exception as exc:  # a bug or this machine: the verdict must say so
                log.exception("difusores: %s", incidente.nombre)
                incidente.detalle = f"{incidente.nombre}: {exc!r}"
            finally:
                self.origen.alterar()  # whatever happened, the genuine publication again
            say(f"Incidente (minuto {reloj.minute():.0f}): {incidente.detalle}")

    def _guardar_indice(self) -> Path:
        """A copy of the first signed index, replayed later as a rollback."""
        deadline = time.monotonic() + ESPERA
        destino = self.dir / "alterado" / "revertido"
        destino.mkdir(parents=True, exist_ok=True)
        while time.monotonic() < deadline and not self.detener_noche.is_set():
            indice, firma = self.publicacion / INDICE, self.publicacion / INDICE_FIRMA
            if indice.is_file() and firma.is_file():
                # The central replaces the index, then its signature: read both twice.
                data, sig = indice.read_bytes(), firma.read_bytes()
                if (data, sig) == (indice.read_bytes(), firma.read_bytes()):
                    (destino / INDICE).write_bytes(data)
                    (destino / INDICE_FIRMA).write_bytes(sig)
                    return destino
            time.sleep(0.2)
        raise IncidenteFallido("el nodo central no publicó ningún índice firmado")

    def _origen_caido(self) -> str:
        if (self.publicacion / INDICE).is_file():
            # The incident shows a difusor serving its corte through the outage: on a
            # slow machine the first corte may still be downloading at this minute.
            self._esperar(lambda d, _e: d.sirve() is not None,
                          "no sirvió ningún corte antes de la caída del origen")
        antes = {d.nombre: d.estado().ultimo_intento for d in self.lista}
        self.origen.stop()
        self._caido_desde = time.monotonic()
        self._esperar(lambda d, e: e.error is not None
                      and e.ultimo_intento != antes[d.nombre],
                      "no intentó consultar el origen caído")
        return "el sitio de origen dejó de responder; " + "; ".join(
            f"{d.nombre} no pudo consultarlo y siguió sirviendo {d.sirve() or '(nada)'}"
            for d in self.lista)

    def _origen_restablecido(self) -> str:
        self.origen.start()
        return (f"el sitio de origen volvió en {self.origen.url} tras "
                f"{time.monotonic() - self._caido_desde:.0f} s")

    def _byte_volteado(self) -> str:
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
        return self._alterado("el primer índice firmado de la noche, repetido (reversión)",
                              indice=self._revertido)

    def _alterado(self, que: str, voltear: bool = False, indice: Path | None = None) -> str:
        """Serve ``que`` until every difusor refused it; what each did."""
        antes = {d.nombre: (d.estado().rechazos, d.sirve()) for d in self.lista}
        self.origen.alterar(voltear=voltear, indice=indice)
        self._esperar(lambda d, e: e.rechazos > antes[d.nombre][0], f"no rechazó {que}")
        partes = []
        for d in self.lista:
            estado = d.estado()
            mensaje = estado.errores[-1]["mensaje"] if estado.errores else "?"
            partes.append(f"{d.nombre} lo rechazó («{mensaje[:200]}») y siguió sirviendo "
                          f"{d.sirve() or '(nada)'}")
        return f"el origen sirvió {que}: " + "; ".join(partes)

    def _esperar(self, listo: Callable[[Difusor, Estado], bool], si_no: str) -> None:
        deadline = time.monotonic() + ESPERA
        pendientes = list(self.lista)
        while pendientes:
            pendientes = [d for d in pendientes if not listo(d, d.estado())]
            if not pendientes:
                return
            for d in pendientes:
                if d.process is None or d.process.poll() is not None:
                    raise IncidenteFallido(f"{d.nombre} no está corriendo (bitácora: "
                                           f"{self.logs / d.nombre}.log)")
            if time.monotonic() > deadline or self.detener_noche.is_set():
                raise IncidenteFallido(f"{', '.join(d.nombre for d in pendientes)} "
                                       f"{si_no} en {ESPERA:.0f} s")
            time.sleep(0.25)

    # the end --------------------------------------------------------------------------

    def alcanzar(self, corte: str, timeout: float = 300.0) -> list[str]:
        """Until every difusor serves ``corte`` (the último); the failures. Then
        ``prep difusor status --json`` is started for each, read by :meth:`veredicto`:
        an interpreter's start-up is most of it, so it runs meanwhile."""
        if (error := self.listos()) is not None:
            return [error]
        deadline = time.monotonic() + timeout
        pendientes = list(self.lista)
        while pendientes and time.monotonic() < deadline:
            pendientes = [d for d in pendientes if d.sirve() != corte
                          and d.process is not None and d.process.poll() is None]
            time.sleep(0.25)
        pendientes = [d for d in self.lista if d.sirve() != corte]
        self._statuses = [_status(d) for d in self.lista]
        return [f"{d.nombre} no llegó al último corte {corte} en {timeout:.0f} s: sirve "
                f"{d.sirve() or '(nada)'} ({d.estado().error or 'sin error'})"
                for d in pendientes]

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


def _prep(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "prep", "difusor", *args],
                          capture_output=True, text=True, timeout=120, check=False)
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
        out, _ = command.communicate(timeout=120)
        return dict(json.loads(out))
    except (ValueError, subprocess.TimeoutExpired):
        command.kill()
        command.wait()
        return {}


def _mismo_arbol(a: Path, b: Path) -> bool:
    """The same files with the same bytes under both directories."""
    def archivos(root: Path) -> set[str]:
        return {os.path.relpath(os.path.join(d, f), root)
                for d, _, files in os.walk(root) for f in files}
    nombres = archivos(a)
    return nombres == archivos(b) and all(
        filecmp.cmp(a / n, b / n, shallow=False) for n in sorted(nombres))

