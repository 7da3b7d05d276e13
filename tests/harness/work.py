"""Work-queue scenery on a real central (tests and ``bench/leases.py``): a small catalog
loaded and seeded, operator accounts, enrolled stations, actas acopiadas and digitized,
and an async station client that leases work and sends capture records over HTTPS.

The client speaks the protocol with :mod:`prep.protocol` directly (signed requests,
hash-chained signed batches), one batch chain per station shared by its operators.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import uuid
import zlib
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.orm import Session

from central.db import make_engine
from central.pipeline.authorize import INTAKE_OPERATOR
from central.pipeline.rebuild import load_catalog as load_and_seed
from central.stations.enrollment import Site
from central.stations.enrollment import create_code
from central.stations.enrollment import enroll as enroll_in_process
from central.stations.operators import add_operator
from central.stations.operators import list_operators
from prep.catalog import Acta
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.crypto import SigningKey
from prep.crypto import b64encode
from prep.protocol import GENESIS
from prep.protocol import make_batch
from prep.protocol import request_message
from prep.protocol import verify_receipt
from prep.records import Kind
from prep.records import Record
from prep.records import new_record
from tests.harness.central import CentralNode
from tests.harness.images import tiny_png

PASSWORD = "contraseña-larga-1"


def load_catalog(node: CentralNode, scale: float = 0.005, seed: int = 4) -> Catalog:
    """Generate a small catalog and load it as ``prep central catalog load`` does
    (stored version + acta states seeded *esperada*)."""
    catalog = generate_catalog(seed, scale)
    engine = make_engine(node.dsn, pool_size=1)
    try:
        with tempfile.TemporaryDirectory(prefix="catalogo-") as tmp:
            write_catalog(catalog, Path(tmp))
            with Session(engine) as session, session.begin():
                loaded = load_and_seed(session, Path(tmp), actor="pruebas")
    finally:
        engine.dispose()
    return loaded.catalog


def actas_of(catalog: Catalog, distrito: int, n: int) -> list[Acta]:
    """``n`` actas of ``distrito`` (every election's), in catalog order."""
    actas = [a for a in catalog.iter_actas() if a.casilla.distrito_id == distrito][:n]
    assert len(actas) == n
    return actas


def add_operators(node: CentralNode, accounts: Iterable[tuple[str, str, str]],
                  password: str = PASSWORD) -> list[str]:
    """Create ``(name, role, sitio)`` accounts with ``password``; their ids."""
    engine = make_engine(node.dsn, pool_size=1)
    try:
        return [add_operator(engine, name, role, sitio, password, actor="pruebas").id
                for name, role, sitio in accounts]
    finally:
        engine.dispose()


def capturistas(node: CentralNode) -> list[str]:
    """Two capturistas of CATD 01, Ana and Beto; their ids."""
    return add_operators(node, [("Ana", "capturista", "01"), ("Beto", "capturista", "01")])


def site_account(node: CentralNode, role: str, sitio: str) -> str:
    """The scenery's account of ``role`` at ``sitio`` (``"01"``, ``"CCV"``), made the
    first time it is asked for: the central takes records only from real operators."""
    name = f"{role.capitalize()} de pruebas"
    engine = make_engine(node.dsn, pool_size=1)
    try:
        for info in list_operators(engine, sitio):
            if info.name == name and info.role == role:
                return info.id
        return add_operator(engine, name, role, sitio, PASSWORD, actor="pruebas").id
    finally:
        engine.dispose()


def nonce() -> str:
    """A fresh nonce for a ``POST /v1/work/next`` body (each ask has its own)."""
    return str(uuid.uuid4())


def png(label: str) -> bytes:
    """A distinct small real PNG per label (the central refuses anything else)."""
    return tiny_png(label)


def image_body(acta: str, data: bytes, origen: str = "CATD") -> dict[str, Any]:
    return {"clave_acta": acta, "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "media_type": "image/png", "origen": origen,
            "digitalizacion": "Escáner" if origen == "CATD" else "Móvil"}


def truth(acta: Acta) -> dict[str, int]:
    """The values really written on ``acta`` (deterministic per CLAVE_ACTA)."""
    return {campo: zlib.crc32(f"{acta.clave}:{campo}".encode()) % 300
            for campo in acta.layout.campos}


def off(acta: Acta, by: int) -> dict[str, int]:
    """:func:`truth` with its first field ``by`` more: a capture that differs."""
    valores = truth(acta)
    first = next(iter(valores))
    return {**valores, first: valores[first] + by}


@dataclass
class Answer:
    status: int
    body: Any


class WorkStation:
    """An enrolled station as seen by its operators: signed requests and one batch
    chain (number, prev, seq), shared by every operator working there."""

    def __init__(self, node: CentralNode, station_id: str, key: SigningKey,
                 sitio: str) -> None:
        self.node = node
        self.id = station_id
        self.key = key
        self.sitio = sitio
        self.seq = 0
        self.number = 0
        self.prev = GENESIS
        self._chain = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None

    @classmethod
    def enroll_intake(cls, node: CentralNode) -> WorkStation:
        """The central's own PREP Casilla intake station, enrolled in-process as
        ``prep central import-casilla`` does (its records: images by INTAKE_OPERATOR)."""
        key = SigningKey.generate()
        engine = make_engine(node.dsn, pool_size=1)
        try:
            code = create_code(engine, Site.of(None, "ccv"), actor=INTAKE_OPERATOR)
            enrolled = enroll_in_process(engine, code, key.public.raw(), "import-casilla",
                                         intake=True)
        finally:
            engine.dispose()
        return cls(node, enrolled.station_id, key, enrolled.sitio)

    @classmethod
    def enroll(cls, node: CentralNode, catd: int | None) -> WorkStation:
        key = SigningKey.generate()
        role = "catd" if catd is not None else "ccv"
        status, body = node.request("POST", "/v1/enroll", json.dumps({
            "code": node.enroll_code(catd, role), "public_key": key.public.b64(),
            "hostname": "estacion-trabajo"}).encode())
        assert status == 200, body
        answer = json.loads(body)
        return cls(node, answer["station_id"], key, answer["sitio"])

    async def __aenter__(self) -> WorkStation:
        self._http = aiohttp.ClientSession(
            base_url=self.node.url, connector=aiohttp.TCPConnector(
                ssl=self.node.ssl_context(), limit=8),
            timeout=aiohttp.ClientTimeout(total=60))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()

    async def call(self, method: str, path: str, payload: Mapping[str, Any] | None = None,
                   raw: bytes | None = None) -> Answer:
        """A signed request; the JSON answer (or raw bytes for a blob)."""
        assert self._http is not None
        body = raw if raw is not None else (b"" if payload is None
                                            else json.dumps(payload).encode())
        signature = self.key.sign(request_message(method, path,
                                                  hashlib.sha256(body).hexdigest()))
        headers = {"X-Prep-Station": self.id, "X-Prep-Signature": b64encode(signature),
                   "Content-Type": "application/json"}
        async with self._http.request(method, path, data=body, headers=headers) as response:
            data = await response.read()
            is_json = response.content_type == "application/json"
            return Answer(response.status, json.loads(data) if is_json else data)

    async def next(self, operator: str, kind: str = "captura",
                   prefetch: int = 1) -> list[dict[str, Any]]:
        answer = await self.call("POST", "/v1/work/next", {"operator": operator, "kind": kind,
                                                           "prefetch": prefetch,
                                                           "nonce": nonce()})
        assert answer.status == 200, answer.body
        return list(answer.body["leases"])

    async def lease_action(self, lease_id: str, action: str) -> Answer:
        return await self.call("POST", f"/v1/work/{lease_id}/{action}")

    async def send(self, specs: Sequence[tuple[Kind, str, Mapping[str, Any]]]) -> list[Record]:
        """Send records ``(kind, operator, body)`` as this station's next batch and
        check its signed receipt."""
        assert self._http is not None
        async with self._chain:  # one chain per station: batches go one at a time
            now = datetime.now(UTC)
            records = []
            for kind, operator, body in specs:
                self.seq += 1
                records.append(new_record(self.id, self.seq, kind, operator, body, at=now))
            batch, request = make_batch(self.key, self.id, self.number + 1, self.prev,
                                        records)
            async with self._http.post("/v1/batches", data=request,
                                       headers={"Content-Type": "application/json"}) as r:
                answer = await r.read()
                assert r.status == 200, answer
            verify_receipt(answer, self.node.central_key, batch)
            self.number, self.prev = batch.number, batch.sha256
        return records

    async def put_blob(self, data: bytes) -> None:
        sha256 = hashlib.sha256(data).hexdigest()
        answer = await self.call("PUT", f"/v1/blobs/{sha256}", raw=data)
        assert answer.status == 200, answer.body

    async def digitize(self, actas: Sequence[Acta], operator: str | None = None,
                       origen: str = "CATD", acopio: bool = True) -> None:
        """Acopio (optional) and one image per acta, in batches of up to 400 records:
        by ``operator``, else by the site's acopiador and digitalizador (the intake
        station's own operator for PREP Casilla photos)."""
        acopiador = digitalizador = operator or INTAKE_OPERATOR
        if operator is None and self.sitio != "CCV":
            acopiador = await asyncio.to_thread(site_account, self.node, "acopiador",
                                                self.sitio)
            digitalizador = await asyncio.to_thread(site_account, self.node,
                                                    "digitalizador", self.sitio)
        specs: list[tuple[Kind, str, Mapping[str, Any]]] = []
        for acta in actas:
            data = png(f"{origen}:{acta.clave}")
            await self.put_blob(data)
            if acopio:
                specs.append((Kind.ACOPIO, acopiador, {"clave_acta": acta.clave}))
            specs.append((Kind.IMAGEN, digitalizador, image_body(acta.clave, data, origen)))
        for start in range(0, len(specs), 400):
            await self.send(specs[start:start + 400])

    async def capture(self, operator: str, lease: Mapping[str, Any],
                      valores: Mapping[str, int | str]) -> Record:
        """Send the capture (or verification) of ``lease``'s acta, made on its image."""
        kind = Kind.CAPTURA if lease["kind"] == "captura" else Kind.VERIFICACION
        body = {"clave_acta": lease["clave_acta"], "valores": dict(valores),
                "imagen_sha256": lease["image_sha256"], "lease": lease.get("lease_id")}
        if kind is Kind.VERIFICACION:
            body["motivo"] = "Valores leídos en la imagen del acta"
        [record] = await self.send([(kind, operator, body)])
        return record

    async def capture_truth(self, operator: str, catalog: Catalog, prefetch: int) -> None:
        """``operator`` takes up to ``prefetch`` actas and captures each one's true values."""
        for lease in await self.next(operator, prefetch=prefetch):
            acta = catalog.acta(lease["clave_acta"])
            assert acta is not None
            await self.capture(operator, lease, truth(acta))

    async def ilegible(self, operator: str, lease: Mapping[str, Any],
                       motivo: str = "imagen borrosa") -> Record:
        """Declare ``lease``'s image unreadable (an ``ilegible`` record)."""
        [record] = await self.send([(Kind.ILEGIBLE, operator, {
            "clave_acta": lease["clave_acta"], "imagen_sha256": lease["image_sha256"],
            "lease": lease.get("lease_id"), "motivo": motivo})])
        return record
