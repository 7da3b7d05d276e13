"""The practice central: an in-process stand-in for the central's work API, serving a
training station's own practice actas (``prep.capacitacion.practica``).

The workstation's screens ask for work through :meth:`prep.station.station.Station.
work_client`; a training station answers with a :class:`PracticeClient` over this
object, so the real captura and verificación screens run unchanged while nothing
leaves the process. Every trainee gets every practice acta once, in the same order
(their scores compare), as a capture (blind, slot 1) or, for a verificador, as a
verification of two captures that disagree on one field.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from types import TracebackType
from typing import Any
from typing import Self

from sqlalchemy import select

from prep.capacitacion.practica import LEASE_MINUTES
from prep.capacitacion.practica import ActaPractica
from prep.capacitacion.practica import Practica
from prep.records import Kind
from prep.records import format_time
from prep.station.blobs import BlobStore
from prep.station.ccv import INTAKE_PATH
from prep.station.models import WorkLeaseRow
from prep.station.store import Store

#: The record kinds that finish a practice acta for its operator.
WORK_KINDS = (Kind.CAPTURA.value, Kind.VERIFICACION.value, Kind.ILEGIBLE.value)
_KIND_OF_WORK = {"captura": (Kind.CAPTURA.value, Kind.ILEGIBLE.value),
                 "verificacion": (Kind.VERIFICACION.value, Kind.ILEGIBLE.value)}
_PENDING = "pending"


class PracticeCentral:
    """Hands out a practice set's actas as work leases, one operator at a time."""

    def __init__(self, practica: Practica, store: Store, blobs: BlobStore) -> None:
        self.practica = practica
        self.store = store
        self.blobs = blobs
        self._lock = threading.Lock()

    def next(self, ask: dict[str, Any]) -> tuple[int, Any]:
        """``POST /v1/work/next``: the operator's held leases and new ones up to
        ``prefetch``."""
        operator, kind = str(ask.get("operator", "")), str(ask.get("kind", ""))
        if kind not in _KIND_OF_WORK:
            return 400, {"code": "kind", "message": "En capacitación solo hay actas por "
                                                    "capturar y por verificar."}
        prefetch = max(1, min(int(ask.get("prefetch", 1)), 10))
        with self._lock:
            held = self._held(operator, kind)
            finished = self._finished(operator, kind)
            leases = [self._lease(row.lease_id, row.expires_at, kind, acta)
                      for row in held if (acta := self.practica.acta(row.clave_acta))]
            busy = {row.clave_acta for row in held} | finished
            expires = format_time(self.store.clock() + timedelta(minutes=LEASE_MINUTES))
            for acta in self.practica.actas:
                if len(leases) >= prefetch:
                    break
                if acta.clave not in busy:
                    leases.append(self._lease(str(uuid.uuid4()), expires, kind, acta))
        return 200, {"leases": leases}

    def renew(self) -> tuple[int, Any]:
        expires = self.store.clock() + timedelta(minutes=LEASE_MINUTES)
        return 200, {"expires_at": format_time(expires)}

    def intake(self) -> dict[str, Any]:
        """The CCV's PREP Casilla panel: a practice station receives no photos."""
        return {"recibidas": 0, "aceptadas": 0, "rechazadas": {}, "en_captura": 0,
                "redigitalizacion": 0, "validadas": 0, "validadas_con_foto": 0,
                "at": self.store.now()}

    def _held(self, operator: str, kind: str) -> list[Any]:
        now = self.store.now()
        with self.store.query() as conn:
            return list(conn.execute(
                select(WorkLeaseRow.lease_id, WorkLeaseRow.clave_acta, WorkLeaseRow.expires_at)
                .where(WorkLeaseRow.operator == operator, WorkLeaseRow.kind == kind,
                       WorkLeaseRow.state == _PENDING, WorkLeaseRow.expires_at > now)
                .order_by(WorkLeaseRow.received_at)))

    def _finished(self, operator: str, kind: str) -> set[str]:
        """The actas ``operator`` already did as ``kind`` (its records say so)."""
        kinds = _KIND_OF_WORK[kind]
        done = set()
        for _, _, canonical in self.store.records(limit=1_000_000):
            record = json.loads(canonical)
            if record["operator"] == operator and record["kind"] in kinds:
                done.add(str(record["body"]["clave_acta"]))
        return done

    def _lease(self, lease_id: str, expires_at: str, kind: str,
               acta: ActaPractica) -> dict[str, Any]:
        lease: dict[str, Any] = {
            "lease_id": lease_id, "clave_acta": acta.clave, "kind": kind,
            "slot": 1 if kind == "captura" else 0, "expires_at": expires_at,
            "eleccion": acta.eleccion, "campos": list(acta.campos),
            "image_sha256": acta.imagen_sha256,
            "image": {"sha256": acta.imagen_sha256, "bytes": acta.imagen_bytes,
                      "media_type": acta.media_type, "origen": "CATD",
                      "digitalizacion": "Escáner", "received_at": self.practica.preparada}}
        if kind == "verificacion":
            errada = {**acta.verdad, acta.error_campo: acta.error_valor}
            lease["capturas"] = [{"slot": 1, "valores": dict(acta.verdad)},
                                 {"slot": 2, "valores": errada}]
            lease["diferencias"] = [acta.error_campo]
        return lease


class PracticeClient:
    """What a training station's screens talk to instead of a central: the work API of a
    :class:`PracticeCentral`, in process. It opens no socket and has no URL."""

    def __init__(self, central: PracticeCentral) -> None:
        self.central = central

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    async def work(self, path: str, payload: dict[str, Any] | None = None,
                   longer: float = 0.0) -> tuple[int, Any]:
        if path == "/v1/work/next":
            return self.central.next(payload or {})
        if path.startswith("/v1/work/") and path.endswith("/renew"):
            return self.central.renew()
        if path.startswith("/v1/work/") and path.endswith("/release"):
            return 200, {}
        return 404, {"code": "not_found", "message": "No existe en capacitación."}

    async def get_json(self, path: str) -> tuple[int, Any]:
        if path == INTAKE_PATH:
            return 200, self.central.intake()
        return 404, {"code": "not_found", "message": "No existe en capacitación."}

    async def get_blob(self, sha256: str) -> tuple[int, bytes]:
        path = self.central.blobs.path_for(sha256)
        return (200, path.read_bytes()) if path.exists() else (404, b"")
