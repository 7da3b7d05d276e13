"""A bare-bones station for central tests: prep.crypto and prep.protocol used directly,
so each test controls exactly which bytes reach the central."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import LiteralString

import psycopg

from prep.crypto import SigningKey
from prep.crypto import b64encode
from prep.protocol import CLOCK_HEADER
from prep.protocol import GENESIS
from prep.protocol import Batch
from prep.protocol import make_batch
from prep.protocol import request_message
from prep.records import Kind
from prep.records import Record
from prep.records import format_time
from prep.records import new_record
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.coordinador import LOGIN
from tests.harness.coordinador import STDIN
from tests.harness.coordinador import coordinador as create_coordinator
from tests.harness.images import tiny_png

CLAVE = "090001B010001"
PNG = tiny_png("estacion de prueba")


class Station:
    """An enrolled station with its key, its next seq and its batch chain."""

    def __init__(self, node: CentralNode, station_id: str, key: SigningKey) -> None:
        self.node = node
        self.id = station_id
        self.key = key
        self.seq = 0
        self.number = 0
        self.prev = GENESIS

    @classmethod
    def enroll(cls, node: CentralNode, catd: int | None = 7, role: str = "catd") -> Station:
        key = SigningKey.generate()
        status, body = node.request("POST", "/v1/enroll", json.dumps({
            "code": node.enroll_code(catd, role), "public_key": key.public.b64(),
            "hostname": "estacion-prueba"}).encode())
        assert status == 200, body
        return cls(node, json.loads(body)["station_id"], key)

    def records(self, n: int = 3, kind: Kind = Kind.ACOPIO, body: dict[str, Any] | None = None,
                at: datetime | None = None, operator: str = "op1") -> list[Record]:
        """The station's next ``n`` records (seq advances). ``operator``: an account of
        the station's site for records that must move an acta; the default names none
        (the central stores and quarantines those: tests of batches, not of actas)."""
        out = []
        for _ in range(n):
            self.seq += 1
            out.append(new_record(self.id, self.seq, kind, operator,
                                  body or {"clave_acta": CLAVE}, at=at or datetime.now(UTC)))
        return out

    def batch(self, records: Sequence[Record]) -> tuple[Batch, bytes]:
        """The next batch in the chain (number and prev advance, as once persisted)."""
        self.number += 1
        batch, body = make_batch(self.key, self.id, self.number, self.prev, records)
        self.prev = batch.sha256
        return batch, body

    def post(self, body: bytes, clock: datetime | None = None) -> tuple[int, bytes]:
        """POST a batch; ``clock`` is the station clock sent in ``X-Prep-Clock``."""
        headers = {} if clock is None else {CLOCK_HEADER: format_time(clock)}
        return self.node.request("POST", "/v1/batches", body, headers)

    def signed(self, method: str, path: str, body_sha256: str,
               key: SigningKey | None = None) -> dict[str, str]:
        signature = (key or self.key).sign(request_message(method, path, body_sha256))
        return {"X-Prep-Station": self.id, "X-Prep-Signature": b64encode(signature)}

    def put_blob(self, data: bytes, sha256: str | None = None) -> tuple[int, bytes]:
        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        path = f"/v1/blobs/{sha256}"
        return self.node.request("PUT", path, data, self.signed("PUT", path, sha256))

    def cursor(self) -> dict[str, Any]:
        path = f"/v1/stations/{self.id}/cursor"
        status, body = self.node.request("GET", path, b"",
                                         self.signed("GET", path, hashlib.sha256().hexdigest()))
        assert status == 200, body
        return dict(json.loads(body))


def image_body(data: bytes = PNG) -> dict[str, Any]:
    return {"clave_acta": CLAVE, "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "media_type": "image/png", "origen": "CATD",
            "digitalizacion": "Escáner"}


def query(dsn: str, sql: LiteralString, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the central's database (constant SQL, bound parameters)."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def error_of(body: bytes) -> tuple[str, str]:
    data = json.loads(body)
    return data["error"], data["message"]


def central_cli(node: CentralNode, *args: str, coordinador: bool = False
                ) -> subprocess.CompletedProcess[str]:
    """Run ``prep central <args>`` on the node's data directory and database;
    ``coordinador``: logged in as the test coordinator (a coordinator's command)."""
    login: tuple[str, ...] = ()
    if coordinador:
        create_coordinator(node.dsn)
        login = LOGIN
    return subprocess.run([sys.executable, "-m", "prep", "central", *args, *login,
                           "--data-dir", str(node.data_dir), "--dsn", node.dsn], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False,
                          input=STDIN if coordinador else None)


def anomalies(node: CentralNode, type_: str) -> list[dict[str, Any]]:
    """The details of the node's anomalies of ``type_``, oldest first."""
    return [r[0] for r in query(node.dsn, "SELECT detail FROM anomalies WHERE type = %s "
                                "ORDER BY id", type_)]


def rebuild_agrees(node: CentralNode) -> None:
    """``rebuild-state --check``: the state folded again from the records is the one
    ingest keeps."""
    done = central_cli(node, "rebuild-state", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
