"""One virtual station of the drill, in its own process: ``python -m
simulacro.estacion CONFIG.json`` (started by :mod:`simulacro.drill`).

It drives the **real** station services over its own data directory (SQLite + blobs)
with virtual operators, each in a thread: the acopiador registers arrivals when their
simulated minute comes (acopio, sin acta, fuera de catálogo, a QR read twice); the
digitalizador renders the acta's image and drops it into the scanner's hot folder,
watched by the real :class:`~prep.station.scan.service.DigitalizacionService`;
capturistas and the verificador take leased work from the central through
:class:`~prep.station.work.WorkQueue` and type what the image says, with the mistakes
the plan gives them; at a CATD the verificador also cotejos a share of the published
actas against the paper (the truth) and names the fields that differ, which opens a
correction round; the sync agent delivers everything in the background.

Everything resumes after a ``SIGKILL``: arrivals already recorded are skipped (the
local store knows them), files left in the hot folder are picked up again and held
leases are in SQLite. ``SIGUSR1`` cuts the link to the central (sync stopped, no new
work asked for; held work goes on), ``SIGUSR2`` restores it, ``SIGTERM`` ends the
station after delivering what it can. Progress goes to the ``estado`` JSON file.
"""

from __future__ import annotations

import faulthandler
import heapq
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from prep.catalog import Acta, Catalog
from prep.corte.package import slug
from prep.corte.reader import CsvFormatError, read_eleccion_csv
from prep.logsetup import setup_logging
from prep.memory import keep_freed_memory
from prep.paquete import TipoDocumento, Traslado, traslado_de_casilla
from prep.records import Kind
from prep.sintetico.acta_image import ActaImageOptions, render_acta_image
from prep.sintetico.plan import NOCHE_MINUTOS, typed
from simulacro.proceso import (
    claim_complaint,
    listdir,
    previous_state,
    settle_claims,
    thread_cpu,
)
from prep.station.errors import StationError, StationInputError, StationStorageError
from prep.station.models import RecordRow
from prep.station.scan.hotfolder import Disposition, HotFileResult, HotFolderOptions
from prep.station.scan.quality import QualityPolicy
from prep.station.scan.service import DigitalizacionResult, DigitalizacionService
from prep.station.station import Station, StationStatus
from prep.station.sync import SyncOptions
from prep.station.work import MAX_PREFETCH, WorkError, WorkItem, WorkQueue
from prep.values import Marca, Valor, format_valor, parse_valor

log = logging.getLogger("simulacro.estacion")

#: New records wake the agent; it then waits ``gather_seconds`` for more, so a busy
#: station sends a few records per batch instead of one request (and one ingest) each.
SYNC = SyncOptions(backoff_base=0.2, backoff_cap=2.0, poll_interval=1.0,
                   heartbeat_interval=10.0, request_timeout=20.0, locate_after=10**6,
                   bundle_interval=15.0, gather_seconds=3.0)
#: The folder is looked at every half second, as the workstation does (at 0.2 s the 33
#: idle folders were 165 listings a second through the drain).
HOT = HotFolderOptions(stable_seconds=0.0, poll_seconds=0.5, unreadable_grace_seconds=2.0,
                       retry_seconds=1.0)
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
SCAN_DELAY_MINUTES = (2.0, 12.0)
NICE = 10
#: How long one of the station's threads may hold the interpreter while another waits
#: for it (seconds; Python's default is 0.005). The renderer, the hot folder, the
#: capturistas and the sync agent of one station all want the CPU at once, and 34 such
#: processes share two cores: every forced hand-over is a context switch and cold
#: caches. 3,996-acta drills (``--scale 0.1 --catds 33``), all processes' CPU: default
#: 309 and 323 s, 0.05 s 290 and 294, 0.2 s 281 and 287, 0.5 s 290. (Not for the
#: workstation: its screen thread must get the interpreter quickly.)
SWITCH_INTERVAL = 0.2
RESCAN_AFTER_MINUTES = 3.0
#: Between status reports (wall seconds): each is the station's status queries, its
#: threads' CPU from /proc and a file written; 34 stations every 5 s were 4 % of the
#: stations' CPU at full scale.
REPORT_SECONDS = 10.0
#: Between looks for capturistas' unreadable-image notices (wall seconds).
AVISOS_SECONDS = 1.0
#: A stop taking longer than this writes every thread's stack to the station's log.
SHUTDOWN_REPORT_SECONDS = 75.0
#: Of the paquetes the virtual acopiadores receive, those that came by another mechanism
#: than the catalog's (the acopiador presses F3), and the actas whose Acta PREP was
#: missing (another copy of the acta de escrutinio y cómputo arrived: F4).
TRASLADO_CAMBIADO, OTRA_COPIA = 0.06, 0.03


def paquete_de(catalog: Catalog | None, clave: str) -> tuple[Traslado | None, TipoDocumento]:
    """What the virtual acopiador records of the paquete of acta ``clave``, as the
    acopio screen would: the casilla's catalog mechanism, or for some casillas
    (the same for all the actas of one) another one; and, for some actas, another copy
    of the acta. Derived from the CLAVE alone, so a verdict can tell what to expect."""
    acta = catalog.acta(clave) if catalog is not None else None
    default = traslado_de_casilla(acta.casilla) if acta is not None else None
    traslado = default
    if default is not None and random.Random(f"{clave[:11]}:traslado").random() \
            < TRASLADO_CAMBIADO:
        otros = [t for t in Traslado if t is not default]
        traslado = random.Random(f"{clave[:11]}:otro").choice(otros)
    otra = random.Random(f"{clave}:documento").random() < OTRA_COPIA
    return traslado, TipoDocumento.COPIA_AEC if otra else TipoDocumento.ACTA_PREP


class VirtualStation:
    """The station and its virtual operators."""

    def __init__(self, config: dict[str, Any],
                 stopping: threading.Event | None = None) -> None:
        self.config = config
        self.name = str(config["nombre"])
        self.t0 = 0.0  # minute 0: set by wait_for_the_night()
        self.speed = float(config["speed"])
        self.data_dir = Path(config["data_dir"])
        self.hot_dir = self.data_dir / "escaner"
        self.avisos = Path(config["avisos"])
        shared = json.loads(Path(config["compartido"]).read_text(encoding="utf-8"))
        self.verdad: dict[str, dict[str, str]] = shared["verdad"]
        self.errores: dict[str, dict[str, list[str]]] = shared["errores"]
        self.ilegibles_globales = set(shared["ilegibles"])
        # Actas both capturistas get wrong the same way until the cotejo finds it (the
        # planned «published wrong» cases): clave → (campo, value typed instead).
        self.erradas: dict[str, list[str]] = shared.get("erradas", {})
        self.cotejo_rate = float(shared.get("cotejo_rate", 0.0))
        # Claves this station's cotejos confirmed / found different (from its SQLite
        # after a restart, so a cotejo recorded just before a SIGKILL is not forgotten).
        self.cotejadas: set[str] = set()
        self.con_diferencia: set[str] = set()
        self.publicadas_vistas: set[str] = set()  # erradas seen published (cotejo waits)
        self.stop = stopping or threading.Event()
        self.online = threading.Event()
        self.online.set()
        previous = previous_state(Path(config["estado"]))
        self.counts: Counter[str] = Counter(previous.get("counts", {}))
        # CPU of this station's earlier lives (it was killed and restarted), by worker.
        self.cpu_before: dict[str, float] = dict(previous.get("cpu_hilos_s", {}))
        # CPU of every thread seen (:func:`thread_cpu`), kept after the thread is gone.
        self.thread_seconds: dict[threading.Thread, float] = {}
        self.lock = threading.Lock()
        self.status_lock = threading.Lock()  # one writer of the status file at a time
        self.last_status: StationStatus | None = None
        self.render_seconds = 0.0
        self.errors: list[str] = []
        self.station = Station.open(self.data_dir)
        self.catalog: Catalog | None = None
        # Claves a previous run of this station registered / scanned (after a restart).
        self.registradas: set[str] = set()
        self.escaneadas: set[str] = set()
        # (minute, clave, attempt), a heap: the digitalizador takes what is due from the top
        self.scan_queue: list[tuple[float, str, int]] = []
        self.scan_queued = threading.Event()  # something was pushed onto scan_queue
        self.pending_arrivals = len(config["llegadas"])
        self.queues: list[WorkQueue] = []  # the operators' work queues (aborted at stop)

    # time ------------------------------------------------------------------------

    def minute(self) -> float:
        return (time.time() - self.t0) * self.speed / 60.0

    def wait_minute(self, minute: float) -> bool:
        """Sleep until the simulated ``minute``; ``False`` if told to stop."""
        while not self.stop.is_set():
            left = (minute - self.minute()) * 60.0 / self.speed
            if left <= 0:
                return True
            self.stop.wait(min(left, 0.5))
        return False

    def bump(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n
        if what.startswith("incidente_") and self.last_status is not None:
            # The drill checks incidents by these counters: one carried out just before
            # this process is killed must not wait for the next report to be on disk.
            self.write_status(self.last_status)

    def fail(self, message: str) -> None:
        log.error("%s: %s", self.name, message)
        with self.lock:
            self.errors.append(message)

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

    # acopiador -------------------------------------------------------------------

    def acopiador(self) -> None:
        operator = self.config["operadores"]["acopiador"]
        duplicados = set(self.config["duplicados"])
        for llegada in self.config["llegadas"]:
            if not self.wait_minute(float(llegada["minuto"])):
                return
            while not self.stop.is_set() and not self._arrive(llegada, operator, duplicados):
                self.stop.wait(0.5)  # the station's database was busy: the clerk retries
            with self.lock:
                self.pending_arrivals -= 1

    def _arrive(self, llegada: dict[str, Any], operator: str, duplicados: set[str]) -> bool:
        """Register one arrival; ``False`` when SQLite was too busy (try again)."""
        clave, tipo = llegada["clave"], llegada["tipo"]
        try:
            if tipo == "fuera":
                # A fuera-de-catálogo acopio has no CLAVE_ACTA to look up after a
                # restart: a marker file says it was recorded.
                marker = self.data_dir / "fuera" / clave
                if not marker.exists():
                    self.station.acopio_fuera_de_catalogo(clave, llegada["eleccion"], operator)
                    marker.parent.mkdir(exist_ok=True)
                    marker.touch()
                    self.bump("fuera_de_catalogo")
            elif clave not in self.registradas:
                if tipo == "sin_acta":
                    self.station.sin_acta(clave, llegada["causa"], operator)
                    self.bump("sin_acta")
                else:
                    traslado, documento = paquete_de(self.catalog, clave)
                    self.station.acopio(clave, operator, traslado, documento)
                    self.bump("acopios")
                # Registered (a write that fails writes nothing): a retry of this
                # arrival after a busy database must not register it again.
                self.registradas.add(clave)
            if tipo == "acopio":
                self._schedule_scan(clave, float(llegada["minuto"]))
                if clave in duplicados:
                    self._read_twice(clave, operator)
        except (OperationalError, StationStorageError):
            # "Vuelva a intentarlo": a busy (or full) disk loses nothing; the clerk
            # reads the QR again.
            self.bump("reintentos_base_ocupada")
            return False
        except StationError as exc:
            self.fail(f"acopio {clave}: {exc}")
        return True

    def _read_twice(self, clave: str, operator: str) -> None:
        """Incident: the same QR read again; the station must refuse it."""
        try:
            self.station.acopio(clave, operator)
        except StationInputError:
            self.bump("incidente_duplicado_rechazado")
        else:
            self.fail(f"el acta {clave} se registró dos veces en acopio")

    # digitalizador ---------------------------------------------------------------

    def _schedule_scan(self, clave: str, minute: float) -> None:
        rng = random.Random(f"{clave}:scan")
        at = minute + rng.uniform(*SCAN_DELAY_MINUTES)
        with self.lock:
            heapq.heappush(self.scan_queue, (at, clave, 0))
            if clave in self.config["reescaneos"]:
                heapq.heappush(self.scan_queue, (at + RESCAN_AFTER_MINUTES, clave, 1))
            self.scan_queued.set()

    def digitalizador(self) -> None:
        operator = self.config["operadores"]["digitalizador"]
        policy = QualityPolicy(min_dpi=float(self.config["dpi"]) * 0.9)
        self.service = DigitalizacionService(self.station, operator, policy=policy)
        folder = self.service.hot_folder(self.hot_dir, self._scanned, HOT)
        folder.start()
        ilegibles = set(self.config["ilegibles"])
        next_look = 0.0
        try:
            while not self.stop.is_set():
                due = self._due_scans()
                for clave, attempt in due:
                    self._scan(clave, attempt)
                if ilegibles and time.monotonic() >= next_look:
                    # One listing a second, not a file lookup per acta ten times a second.
                    next_look = time.monotonic() + AVISOS_SECONDS
                    for clave in sorted(ilegibles & set(listdir(self.avisos))):
                        # a capturista found it unreadable
                        ilegibles.discard(clave)
                        self._scan(clave, 5)
                        self.bump("incidente_reescaneo_por_ilegible")
                if not due:
                    self._wait_for_scans()
        finally:
            folder.stop()

    def _wait_for_scans(self) -> None:
        """Sleep until the next scan is due, one is queued, or AVISOS_SECONDS have passed
        (the capturistas' notices): 33 idle digitalizadores looking ten times a second
        were hundreds of wake-ups a second through the drain."""
        with self.lock:
            head = self.scan_queue[0][0] if self.scan_queue else None
            self.scan_queued.clear()  # under the lock: a push after this sets it again
        if self.stop.is_set():  # shutdown() set both just before the clear
            return
        left = AVISOS_SECONDS if head is None else (head - self.minute()) * 60.0 / self.speed
        self.scan_queued.wait(min(max(left, 0.01), AVISOS_SECONDS))

    def _due_scans(self) -> list[tuple[str, int]]:
        now = self.minute()
        with self.lock:
            due: list[tuple[float, str, int]] = []
            while self.scan_queue and self.scan_queue[0][0] <= now:
                due.append(heapq.heappop(self.scan_queue))
        return [(clave, attempt) for _, clave, attempt in due]

    def _scan(self, clave: str, attempt: int) -> None:
        """Render the acta as the scanner would and drop it into the hot folder (written
        under a temporary name, then renamed, as scanner software does)."""
        if attempt == 0 and clave in self.escaneadas:
            return  # scanned before a restart (a first scan is due once per run)
        assert self.catalog is not None
        acta = self.catalog.acta(clave)
        if acta is None:
            self.fail(f"{clave} no está en el catálogo de la estación")
            return
        data = self.render(acta, clave, attempt, photo=False)
        name = f"{clave}_{attempt}.jpg"
        tmp = self.hot_dir / f".{name}.tmp"
        self.hot_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, self.hot_dir / name)
        self.bump("escaneos")

    def render(self, acta: Acta, clave: str, attempt: int, photo: bool) -> bytes:
        rng = random.Random(f"{clave}:{attempt}:{photo}")
        valores = _valores(self.verdad.get(clave, {}))
        options = ActaImageOptions(dpi=int(self.config["dpi"]), photo=photo,
                                   skew_degrees=0.0 if attempt >= 2 else rng.uniform(-1.5, 1.5),
                                   jpeg_quality=70, seed=rng.randrange(2**31))
        started = time.thread_time()  # CPU, not wall: dozens of stations share 2 cores
        data = render_acta_image(acta, valores, options, self.catalog)
        with self.lock:
            self.render_seconds += time.thread_time() - started
        return data

    def _scanned(self, result: HotFileResult) -> None:
        detail = result.detail
        if result.disposition is Disposition.PROCESADA:
            motivo = detail.motivo if isinstance(detail, DigitalizacionResult) else ""
            self.bump({"reemplazo": "incidente_reescaneo", "ya_guardada": "ya_guardadas"}
                      .get(motivo, "imagenes"))
            return
        if result.disposition is Disposition.RECHAZADA:
            # The digitalizador looks at the reason and scans again, straighter; the
            # third time they type the CLAVE_ACTA (manual association).
            clave, _, rest = result.name.partition("_")
            attempt = int(rest.split(".")[0] or 0) + 1 if rest[:1].isdigit() else 9
            self.bump("rechazadas")
            if attempt < 3:
                with self.lock:
                    heapq.heappush(self.scan_queue, (self.minute(), clave, attempt))
                    self.scan_queued.set()
            else:
                self._manual(clave, attempt)

    def _manual(self, clave: str, attempt: int) -> None:
        assert self.catalog is not None
        acta = self.catalog.acta(clave)
        if acta is None:
            return
        outcome = self.service.asociar_manual(self.render(acta, clave, attempt, False), clave)
        self.bump("asociacion_manual" if outcome.ok else "rechazadas")
        if not outcome.ok:
            self.fail(f"{clave}: imagen rechazada tres veces ({outcome.mensaje})")

    # capturistas y verificador ----------------------------------------------------

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
        try:
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
        except OperationalError:
            self.bump("reintentos_base_ocupada")  # the lease is still held: retried
        except (WorkError, StationError) as exc:
            self.bump("trabajo_rechazado")
            log.warning("%s: %s: %s", self.name, clave, exc)

    # cotejador -----------------------------------------------------------------------

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
        path = Path(self.config["publicacion"]) / "latest" / f"{slug(acta.eleccion.nombre)}.csv"
        try:
            filas = read_eleccion_csv(path.read_bytes()).filas
        except (OSError, CsvFormatError):
            return False  # no corte yet, or being replaced: asked again shortly
        return any(f["CLAVE_ACTA"].strip("'") == clave and f["CONTABILIZADA"] != "-"
                   for f in filas)

    def _cotejar(self, queue: WorkQueue, item: WorkItem) -> None:
        clave = item.clave_acta
        try:
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
        except OperationalError:
            self.bump("reintentos_base_ocupada")  # the lease is still held: retried
        except (WorkError, StationError) as exc:
            self.bump("trabajo_rechazado")
            log.warning("%s: %s: %s", self.name, clave, exc)

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

    # status ----------------------------------------------------------------------

    def reporter(self) -> None:
        # Every few seconds: the drill needs no more, and the status
        # queries of 34 stations add up on two cores.
        while not self.stop.wait(REPORT_SECONDS):
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

    def write_status(self, status: StationStatus | None = None, final: bool = False) -> None:
        status = status or self.station.status()
        self.last_status = status
        in_folder = sum(1 for _ in self.hot_dir.glob("*.jpg"))
        with self.status_lock:
            with self.lock:
                data = {"nombre": self.name, "pid": os.getpid(), "minuto": round(self.minute(), 1),
                        "counts": dict(self.counts),
                        "render_seconds": round(self.render_seconds, 2),
                        "cpu_hilos_s": thread_cpu(self.cpu_before, self.thread_seconds),
                        "llegadas_pendientes": self.pending_arrivals,
                        "escaneos_pendientes": len(self.scan_queue) + in_folder,
                        "backlog_records": status.backlog_records, "records": status.records,
                        "online": self.online.is_set(), "errores": self.errors[-20:],
                        "cotejadas": sorted(self.cotejadas),
                        "cotejos_con_diferencia": sorted(self.con_diferencia),
                        "final": final}
            path = Path(self.config["estado"])
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)

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


def _valores(verdad: dict[str, str]) -> dict[str, Valor]:
    return {c: parse_valor(v) for c, v in verdad.items()}


def _normal(valor: object) -> str:
    """A value as published or typed, in one spelling (``56``, ``"56"``, ``"Ilegible"``)."""
    if valor is None:
        return ""
    try:
        return format_valor(parse_valor(str(valor)))
    except ValueError:
        return str(valor)


def _as_typed(text: str) -> int | str:
    valor = parse_valor(text)
    return text if isinstance(valor, Marca) else int(valor)


def main(argv: list[str]) -> int:
    """Run the station of ``argv[0]`` (its JSON config) until SIGTERM."""
    setup_logging(logging.WARNING, sys.stderr)  # escapes controls
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    # On one machine the stations stand for dozens of PCs: the central (which they all
    # wait on) must not starve behind their image rendering.
    os.nice(NICE)
    requests: list[str] = []
    wake = threading.Event()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        request = ("down" if signum == signal.SIGUSR1 else
                   "up" if signum == signal.SIGUSR2 else "stop")
        requests.append(request)
        if request == "stop":
            stopping.set()
        wake.set()
    # Before anything slow: an early signal is queued, never the default (death).
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
    for sig in handled:
        signal.signal(sig, on_signal)
    # Forked by the drill's zygote, the station starts with these blocked (simulacro.
    # zygote): one sent meanwhile is delivered now, to the handler.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
    keep_freed_memory()  # as the workstation does (catd.app)
    sys.setswitchinterval(SWITCH_INTERVAL)
    station = VirtualStation(config, stopping)
    station.start()
    while True:
        wake.wait(1.0)
        wake.clear()
        while requests:
            request = requests.pop(0)
            if request == "stop":
                station.shutdown()
                return 1 if station.errors else 0
            station.link(request == "up")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
