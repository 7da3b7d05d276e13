"""What every part of a drill station shares: its config and the plan's truth, the
simulated clock, its counters and errors, the scan queue the acopiador fills and the
digitalizador empties, and the status file the drill reads.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from prep.catalog import Catalog
from prep.station.errors import StationError
from prep.station.station import Station
from prep.station.station import StationStatus
from prep.station.work import WorkError
from prep.station.work import WorkQueue
from simulacro.proceso import previous_state
from simulacro.proceso import thread_cpu

log = logging.getLogger("simulacro.estacion")

SCAN_DELAY_MINUTES = (2.0, 12.0)
RESCAN_AFTER_MINUTES = 3.0
#: In a paper night's station data directory once every page is in the hot folder.
PAPEL_ESCANEADO = "papel.escaneado"


class EstacionBase:
    """The station's state; each operator's part is a subclass in its own module,
    and :class:`~simulacro.estacion.virtual.VirtualStation` is all of them."""

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
        #: A paper night (:mod:`simulacro.noche_papel`): the CATD's printed actas (its PDF,
        #: the first acta page, the scan resolution) are scanned instead of rendered ones.
        self.papel: dict[str, Any] | None = config.get("papel")
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

    @contextlib.contextmanager
    def acta_work(self, clave: str) -> Iterator[None]:
        """Work on the leased acta ``clave``: with the station's database busy the lease
        stays held (the acta is retried); work the station refuses is counted and
        logged."""
        try:
            yield
        except OperationalError:
            self.bump("reintentos_base_ocupada")
        except (WorkError, StationError) as exc:
            self.bump("trabajo_rechazado")
            log.warning("%s: %s: %s", self.name, clave, exc)

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

    def _schedule_scan(self, clave: str, minute: float) -> None:
        rng = random.Random(f"{clave}:scan")
        at = minute + rng.uniform(*SCAN_DELAY_MINUTES)
        with self.lock:
            heapq.heappush(self.scan_queue, (at, clave, 0))
            if clave in self.config["reescaneos"]:
                heapq.heappush(self.scan_queue, (at + RESCAN_AFTER_MINUTES, clave, 1))
            self.scan_queued.set()
    def write_status(self, status: StationStatus | None = None, final: bool = False) -> None:
        status = status or self.station.status()
        self.last_status = status
        in_folder = sum(1 for _ in self.hot_dir.glob("*.jpg"))
        hojas = sum(1 for _ in self.hot_dir.glob("*.png"))  # a paper night's pages
        with self.status_lock:
            with self.lock:
                data = {"nombre": self.name, "pid": os.getpid(), "minuto": round(self.minute(), 1),
                        "counts": dict(self.counts),
                        "render_seconds": round(self.render_seconds, 2),
                        "cpu_hilos_s": thread_cpu(self.cpu_before, self.thread_seconds),
                        "llegadas_pendientes": self.pending_arrivals,
                        "escaneos_pendientes": len(self.scan_queue) + in_folder,
                        "hojas_pendientes": hojas,
                        "papel_escaneado": (self.data_dir / PAPEL_ESCANEADO).exists(),
                        "backlog_records": status.backlog_records, "records": status.records,
                        "online": self.online.is_set(), "errores": self.errors[-20:],
                        # The central node in use and how many the signed list holds.
                        "nodo": status.nodo_en_uso, "nodos_lista": len(status.nodos or []),
                        "cotejadas": sorted(self.cotejadas),
                        "cotejos_con_diferencia": sorted(self.con_diferencia),
                        "final": final}
            path = Path(self.config["estado"])
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
