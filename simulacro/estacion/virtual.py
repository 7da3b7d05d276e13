"""The whole virtual station: enrolled, resumed after a restart, its operators started
each in a thread, its status reported, its link cut and restored, and stopped.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from prep.records import Kind
from prep.station.models import RecordRow
from prep.station.station import StationStatus
from prep.station.sync import SyncOptions
from simulacro.estacion.acopio import Acopio
from simulacro.estacion.captura import Captura
from simulacro.estacion.cotejo import Cotejo
from simulacro.estacion.digitalizacion import Digitalizacion
from simulacro.proceso import listdir
from simulacro.proceso import settle_claims

log = logging.getLogger("simulacro.estacion")

#: New records wake the agent; it then waits ``gather_seconds`` for more, so a busy
#: station sends a few records per batch instead of one request (and one ingest) each.
SYNC = SyncOptions(backoff_base=0.2, backoff_cap=2.0, poll_interval=1.0,
                   heartbeat_interval=10.0, request_timeout=20.0, locate_after=10**6,
                   bundle_interval=15.0, gather_seconds=3.0)
#: Between status reports (wall seconds): each is the station's status queries, its
#: threads' CPU from /proc and a file written; 34 stations every 5 s were 4 % of the
#: stations' CPU at full scale.
REPORT_SECONDS = 10.0
#: A stop taking longer than this writes every thread's stack to the station's log.
SHUTDOWN_REPORT_SECONDS = 75.0


class VirtualStation(Acopio, Digitalizacion, Captura, Cotejo):
    """The station and its virtual operators."""

    # start -----------------------------------------------------------------------

    def start(self) -> None:
        if self.station.identity is None:
            self.station.enroll(self.config["url"], self.config["code"],
                                self.config["cert_sha256"], hostname=self.name)
        self.catalog = self.station.catalog()
        self.registradas, self.escaneadas = self._made_before()
        self.cotejadas, self.con_diferencia = self._cotejos_before()
        self._settle_complaints()
        self.station.start_sync(SYNC)
        self.wait_for_the_night()
        threads = [threading.Thread(target=self._guard, args=(target,), name=name, daemon=True)
                   for name, target in self._workers()]
        for thread in threads:
            thread.start()
        self.threads = threads

    def _made_before(self) -> tuple[set[str], set[str]]:
        """Claves with an acopio (or sin acta), and with an image recorded or a scan
        waiting in the hot folder, from a previous run of this station (a restart must
        not register nor scan them again), read once: one query instead of one per
        acta."""
        kinds = (Kind.ACOPIO.value, Kind.SIN_ACTA.value, Kind.IMAGEN.value)
        made: dict[str, set[str]] = {k: set() for k in kinds}
        with self.station.store.read() as session:
            for clave, kind in session.execute(
                    select(RecordRow.clave_acta, RecordRow.kind)
                    .where(RecordRow.kind.in_(kinds))):
                if clave is not None:
                    made[kind].add(clave)
        # Scans the previous run left in the hot folder: the folder goes on with them.
        # (Looked at once: a glob per scan is a directory listing per scan, slow when
        # hundreds of scans wait in the folder.)
        waiting = {name.partition("_")[0] for name in listdir(self.hot_dir)
                   if name.endswith(".jpg") and not name.startswith(".")}
        return (made[Kind.ACOPIO.value] | made[Kind.SIN_ACTA.value],
                made[Kind.IMAGEN.value] | waiting)

    def _cotejos_before(self) -> tuple[set[str], set[str]]:
        """Claves this station's earlier runs cotejoed: (confirmed, found different)."""
        confirmadas: set[str] = set()
        diferentes: set[str] = set()
        with self.station.store.read() as session:
            for clave, canonical in session.execute(
                    select(RecordRow.clave_acta, RecordRow.canonical)
                    .where(RecordRow.kind == Kind.COTEJO.value)):
                body = json.loads(canonical).get("body", {})
                if clave is not None:
                    (confirmadas if body.get("coincide") else diferentes).add(clave)
        return confirmadas, diferentes

    def _settle_complaints(self) -> None:
        """After a SIGKILL: a complaint this station claimed but never announced is
        announced now if its ilegible record was stored (and counted, as it would have
        been), and given back if not (another capturista makes it)."""
        noted, released = settle_claims(
            self.avisos, self.name,
            lambda clave: Kind.ILEGIBLE.value in self.station.store.kinds_for(clave))
        if noted:
            self.bump("incidente_ilegible", len(noted))
        if noted or released:
            log.warning("%s: complaints left by the previous run: announced %s, given back %s",
                        self.name, noted, released)

    def wait_for_the_night(self) -> None:
        """Say «ready» (the status file) and wait for the drill's minute 0 (its start
        file; already there after a restart)."""
        self.write_status()
        start = Path(self.config["inicio"])
        while not self.stop.is_set():
            try:
                self.t0 = float(json.loads(start.read_text(encoding="utf-8"))["t0"])
                return
            except (OSError, ValueError, KeyError):
                self.stop.wait(0.2)

    def _workers(self) -> list[tuple[str, Any]]:
        ops = self.config["operadores"]
        workers: list[tuple[str, Any]] = []
        if self.config["rol"] == "catd":
            workers += [("acopio", self.acopiador), ("digitalizacion", self.digitalizador)]
        workers += [(f"captura-{i}", lambda op=op: self.trabajador(op, "captura"))
                    for i, op in enumerate(ops["capturistas"])]
        workers.append(("verificacion", lambda: self.trabajador(ops["verificador"],
                                                                "verificacion")))
        if self.config["rol"] == "catd" and self.cotejo_rate > 0:
            workers.append(("cotejo", lambda: self.cotejador(ops["verificador"])))
        workers.append(("estado", self.reporter))
        return workers

    def _guard(self, target: Any) -> None:
        try:
            target()
        except Exception as exc:  # a broken operator must show in the verdict, not vanish
            log.exception("%s: worker failed", self.name)
            self.fail(f"{threading.current_thread().name}: {exc!r}")
        finally:  # exact CPU of a worker that returned (the acopiador at the end of the night)
            with self.lock:
                self.thread_seconds[threading.current_thread()] = time.thread_time()
    # status ----------------------------------------------------------------------

    def reporter(self) -> None:
        # Every few seconds: the drill needs no more, and the status
        # queries of 34 stations add up on two cores.
        every = float(self.config.get("reporte_s", REPORT_SECONDS))
        while not self.stop.wait(every):
            try:
                self.write_status(self._watch_sync(self.station.status()))
            except OperationalError:
                self.bump("reintentos_base_ocupada")

    def _watch_sync(self, status: StationStatus) -> StationStatus:
        """The workstation's answer to «El envío … se detuvo … Reinicie el programa»: a
        dead sync agent is started again (and counted, for the drill's report)."""
        state = status.sync
        if not self.online.is_set():
            return status
        if state is not None and not state.running and state.last_error_code == "internal":
            log.warning("%s: sync agent died (%s); starting it again", self.name,
                        state.last_error)
            self.station.start_sync(SYNC)
            self.bump("agente_sync_reiniciado")
        return status

    # signals ---------------------------------------------------------------------

    def link(self, up: bool) -> None:
        if up and not self.online.is_set():
            self.station.start_sync(SYNC)
            self.online.set()
            self.bump("enlace_restablecido")
        elif not up and self.online.is_set():
            self.online.clear()
            self.station.stop_sync()
            self.bump("enlace_caido")

    def shutdown(self) -> None:
        # Should stopping ever hang, the log gets every thread's stack before the drill
        # gives up on this process.
        faulthandler.dump_traceback_later(SHUTDOWN_REPORT_SECONDS, exit=False)
        self.stop.set()
        self.scan_queued.set()
        with self.lock:
            for queue in self.queues:
                queue.abort()  # an ask waiting at the central ends now
        deadline = time.monotonic() + 30.0
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        stuck = [t.name for t in self.threads if t.is_alive()]
        if stuck:
            log.error("%s: threads still running at shutdown: %s", self.name, stuck)
        if self.online.is_set():
            self.station.stop_sync()
            self.station.sync_until_drained(30.0, SYNC)
        self.write_status(final=True)
        self.station.close()
        faulthandler.cancel_dump_traceback_later()
