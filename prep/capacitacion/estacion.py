"""The training station: a :class:`~prep.station.station.Station` over a practice store
whose every way to a central is closed.

What the workstation does locally (login against the bundle, acopio, digitalización,
records of captura and verificación) works as on election night. What would reach a
central cannot happen: enrollment, the bundle refresh, the sync agent and its outbox
raise :class:`TrainingError` before anything is built, the store holds no station key
to sign with, and the operator's work comes from the in-process
:class:`~prep.capacitacion.central.PracticeCentral`.

It also counts the keys each operator presses (:meth:`TrainingStation.note_key`, fed by
the workstation) and files them with the next record that operator writes, for the
score's keystrokes per acta (``teclas.jsonl``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from typing import NoReturn

from prep.capacitacion.central import PracticeCentral
from prep.capacitacion.central import PracticeClient
from prep.capacitacion.practica import Practica
from prep.records import Kind
from prep.records import Record
from prep.station.blobs import BlobStore
from prep.station.client import WorkApi
from prep.station.errors import StationError
from prep.station.station import Station
from prep.station.station import StationStatus
from prep.station.store import BLOB_DIR
from prep.station.store import BlobRef
from prep.station.store import Clock
from prep.station.store import Guard
from prep.station.store import Store
from prep.station.store import system_clock
from prep.station.sync import SyncAgent
from prep.station.sync import SyncOptions
from prep.station.sync import SyncState

KEYS_LOG = "teclas.jsonl"
NO_CENTRAL = ("Estación de CAPACITACIÓN: no se conecta a ningún nodo central ni envía "
              "nada. Para trabajar de verdad, inicie el programa sin --capacitacion.")


class TrainingError(StationError):
    """Something a training station never does (reach a central)."""


class TrainingStation(Station):
    """A station that practises: real local work, no central."""

    def __init__(self, store: Store, blobs: BlobStore, practica: Practica) -> None:
        super().__init__(store, blobs)
        self.practica = practica
        self.central = PracticeCentral(practica, store, blobs)
        self._keys: dict[str, int] = {}
        self._keys_lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path | None = None, clock: Clock = system_clock) -> TrainingStation:
        """Open the practice store ``data_dir`` prepared by
        :func:`prep.capacitacion.practica.prepare`; :class:`PracticeError` if there is
        none (nothing is created)."""
        if data_dir is None:
            raise TrainingError("Falta el directorio de la práctica.")
        practica = Practica.load(data_dir)
        store = Store(data_dir, clock)
        identity = store.identity()
        if identity is None or identity.station_id != practica.station_id:
            store.close()
            raise TrainingError(f"{data_dir} no es una práctica: su estación no es la de "
                                "capacitación.")
        return cls(store, BlobStore(data_dir / BLOB_DIR), practica)

    def __enter__(self) -> TrainingStation:
        return self

    # the ways to a central, closed ---------------------------------------------------

    def enroll(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TrainingError(NO_CENTRAL)

    def enroll_mdns(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TrainingError(NO_CENTRAL)

    def fetch_bundle(self, timeout: float = 30.0) -> NoReturn:
        raise TrainingError(NO_CENTRAL)

    def agent(self, options: SyncOptions | None = None,
              on_change: Callable[[SyncState], None] | None = None,
              locator: Any = None) -> SyncAgent:
        raise TrainingError(NO_CENTRAL)

    def start_sync(self, options: SyncOptions | None = None,
                   on_change: Callable[[SyncState], None] | None = None,
                   discover: bool = False) -> SyncAgent:
        raise TrainingError(NO_CENTRAL)

    def sync_until_drained(self, timeout: float, options: SyncOptions | None = None) -> bool:
        raise TrainingError(NO_CENTRAL)

    def outbox(self) -> NoReturn:
        raise TrainingError(NO_CENTRAL)

    def unblock(self) -> int:
        raise TrainingError(NO_CENTRAL)

    def work_client(self, timeout: float, url: str | None = None) -> WorkApi:
        return PracticeClient(self.central)

    def status(self) -> StationStatus:
        identity = self.store.require_identity()
        records, last_seq = self.store.counts()
        held = self.bundle_info()
        return StationStatus(
            data_dir=str(self.data_dir), enrolled=True, station_id=identity.station_id,
            role=identity.role, sitio=identity.sitio, node=identity.node, central_url=None,
            cert_sha256=None, records=records, last_seq=last_seq, backlog_records=0,
            backlog_bytes=0, batches=0, batches_delivered=0, blocked=None,
            last_receipt_at=None, sync=None, bundle=held.to_json() if held else None,
            capacitacion=True)

    # keystrokes --------------------------------------------------------------------

    def note_key(self, operator: str) -> None:
        """``operator`` pressed a key (from any thread)."""
        with self._keys_lock:
            self._keys[operator] = self._keys.get(operator, 0) + 1

    def forget_keys(self, operator: str) -> None:
        """Keys pressed and never filed with a record (the operator logged out)."""
        with self._keys_lock:
            self._keys.pop(operator, None)

    def _append(self, kind: Kind, body: Mapping[str, Any], operator: str,
                replaces: str | None = None, blob: BlobRef | None = None,
                guard: Guard | None = None) -> Record:
        record = self.store.append(kind, body, operator, replaces, blob, guard)
        with self._keys_lock:
            keys = self._keys.pop(operator, 0)
        line = json.dumps({"record": record.id, "operator": operator, "kind": kind.value,
                           "clave_acta": body.get("clave_acta"), "teclas": keys})
        with open(self.data_dir / KEYS_LOG, "a", encoding="utf-8") as log:
            log.write(line + "\n")
            log.flush()
            os.fsync(log.fileno())
        return record


def read_keys(data_dir: Path) -> dict[str, int]:
    """Record id → keys pressed for it, from ``teclas.jsonl`` (a torn last line, from a
    power cut while writing, is skipped)."""
    path = data_dir / KEYS_LOG
    keys: dict[str, int] = {}
    if not path.exists():
        return keys
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            keys[str(entry["record"])] = int(entry["teclas"])
        except (ValueError, KeyError, TypeError):
            continue
    return keys
