"""What a stranger on the network can do to the central with requests it cannot sign
(issue 36): as the audit reproduced it, over real HTTPS and PostgreSQL.

Each test sends from its own loopback address (127.0.0.11, .12, …): the central counts
unsigned refusals per source address, so the tests do not share a window.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from central.api.refusals import BURST
from prep.crypto import SigningKey
from prep.protocol import make_batch
from prep.records import Kind
from prep.records import Record
from prep.station.errors import StationInputError
from prep.station.station import Station as RealStation
from tests.central.station import CLAVE
from tests.central.station import Station
from tests.central.station import central_cli
from tests.central.station import error_of
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.central import running_central

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def node(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralNode]:
    with running_central(tmp_path_factory.mktemp("flood-central"), pg_dsn) as central:
        yield central


class Client:
    """HTTPS requests to the node from one loopback address, on one kept-alive
    connection (opened again whenever the central closes it)."""

    def __init__(self, node: CentralNode, source: str) -> None:
        self.node = node
        self.source = source
        self._conn: http.client.HTTPSConnection | None = None

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.node.port, timeout=60,
                    context=self.node.ssl_context(), source_address=(self.source, 0))
            try:
                self._conn.request(method, path, body=body, headers={
                    "Content-Type": "application/json", **(headers or {})})
                response = self._conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None



@pytest.fixture
def clients(node: CentralNode) -> Iterator[Callable[[str], Client]]:
    """Makes :class:`Client` s of the node by source address; closes them after."""
    made: list[Client] = []

    def make(source: str) -> Client:
        made.append(Client(node, source))
        return made[-1]
    yield make
    for client in made:
        client.close()


def _last_audit_id(node: CentralNode) -> int:
    return int(query(node.dsn, "SELECT coalesce(max(id), 0) FROM audit_log")[0][0])


def _audit_since(node: CentralNode, after: int) -> list[tuple[str, str, dict[str, object], int]]:
    """(actor, event, detail, bytes of actor + detail) of the audit rows after ``after``."""
    return [(r[0], r[1], r[2], r[3]) for r in query(
        node.dsn, "SELECT actor, event, detail, octet_length(actor) + "
        "octet_length(detail::text) FROM audit_log WHERE id > %s ORDER BY id", after)]


def _signature_anomalies(node: CentralNode, station: str) -> int:
    return int(query(node.dsn, "SELECT count(*) FROM anomalies WHERE station = %s AND "
                     "type IN ('bad_signature', 'unknown_station')", station)[0][0])


def _tracebacks(node: CentralNode) -> int:
    return node.log_path.read_text(errors="replace").count("Traceback")


def test_seven_megabyte_malformed_batches_leave_a_small_trace(
        node: CentralNode, clients: Callable[[str], Client]) -> None:
    """Three 7 MB requests added 22.9 MB to the append-only audit log: the error text
    repeated the attacker's data."""
    client = clients("127.0.0.11")
    filler = "A" * (7 * MiB)
    half = b"A" * (7 * MiB // 2)
    bodies = [
        json.dumps({"batch": {"v": filler, "station": "x", "number": 1, "prev": "0",
                              "created": "", "records": []}, "signature": ""}).encode(),
        b'{"batch": 1.' + b"0" * (7 * MiB) + b', "signature": ""}',
        b'{"batch": {}, "' + half + b'": 1, "' + half + b'": 2}',
    ]
    before = _last_audit_id(node)

    for body in bodies:
        assert len(body) >= 7 * MiB
        status, answer = client.request("POST", "/v1/batches", body)
        assert status == 400 and error_of(answer)[0] == "malformed", answer[:200]

    rows = _audit_since(node, before)
    assert 1 <= len(rows) <= 3
    assert sum(r[3] for r in rows) < 3 * 1024, rows  # bytes, all three refusals
    assert all("AAAAAAAAAA" not in json.dumps(r[2]) for r in rows)
    assert {r[0] for r in rows} == {"origen:127.0.0.11"}
    assert {r[2]["code"] for r in rows} == {"malformed"}


def test_bad_signatures_naming_a_real_station_are_not_pinned_on_it(
        node: CentralNode, clients: Callable[[str], Client]) -> None:
    """1,828 ``bad_signature`` anomalies were pinned on a real station in 10 s by
    requests it never signed. Now: none on the station, a handful of audit rows by
    source, and one summary with the count."""
    station = Station.enroll(node)
    client = clients("127.0.0.12")
    forger = Station(node, station.id, SigningKey.generate())
    _, forged_batch = forger.batch(forger.records(2))
    cursor = f"/v1/stations/{station.id}/cursor"
    forged_get = forger.signed("GET", cursor, hashlib.sha256().hexdigest())
    before = _last_audit_id(node)
    anomalies_before = int(query(node.dsn, "SELECT coalesce(max(id), 0) FROM anomalies")[0][0])

    for _ in range(500):
        status, body = client.request("POST", "/v1/batches", forged_batch)
        assert status == 401 and error_of(body)[0] == "bad_signature"
        status, body = client.request("GET", cursor, b"", forged_get)
        assert status == 401 and error_of(body)[0] == "bad_signature"

    assert _signature_anomalies(node, station.id) == 0
    rows = _audit_since(node, before)
    assert [r for r in rows if r[0] == station.id] == []
    assert len(rows) <= BURST
    assert all(r[0] == "origen:127.0.0.12" and r[2]["claimed"] == station.id for r in rows)
    [anomaly] = query(node.dsn, "SELECT type, station FROM anomalies WHERE id > %s",
                      anomalies_before)
    assert anomaly == ("bad_signature", None)
    # The real station is not disturbed.
    assert station.post(station.batch(station.records(1))[1])[0] == 200

    node.restart()  # a stop writes what the windows hold

    rows = [r for r in _audit_since(node, before) if r[0] == "origen:127.0.0.12"]
    assert len(rows) <= BURST + 1
    [summary] = [r[2] for r in rows if r[1] == "unsigned_refusals"]
    assert summary["count"] == 1000 and summary["codes"] == {"bad_signature": 1000}
    assert summary["claimed"] == [station.id] and summary["source"] == "127.0.0.12"
    [(detail,)] = query(node.dsn, "SELECT detail FROM anomalies WHERE id > %s AND "
                        "detail->>'source' = '127.0.0.12'", anomalies_before)
    assert detail["count"] == 1000
    assert _signature_anomalies(node, station.id) == 0


def test_a_batch_nobody_signed_neither_waits_for_the_station_nor_is_read(
        node: CentralNode, clients: Callable[[str], Client]) -> None:
    """A batch naming a real station but signed by another key took that station's
    advisory lock and had every record parsed before its signature was checked. Now,
    while the station's lock is held (as by its own batch in flight), the forgery is
    refused at once as ``bad_signature``, also when its records are not even valid
    (it would have said ``control_character``, having read them)."""
    station = Station.enroll(node)
    forger = Station(node, station.id, SigningKey.generate())
    _, forged = forger.batch(forger.records(2))
    _, unreadable = make_batch(forger.key, station.id, 1, station.prev,
                               [_forged_record(forger, "op1", "borrosa\nsigue")])
    client = clients("127.0.0.15")

    with psycopg.connect(node.dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (station.id,))
        for body in (forged, unreadable):
            # Refused before the station's lock is asked for: a batch that asked for it
            # would wait for this holder, who never lets go, until the central's lock
            # wait (10 s) ran out, and be answered 503 database_busy, not 401.
            status, answer = client.request("POST", "/v1/batches", body)
            assert (status, error_of(answer)[0]) == (401, "bad_signature"), answer
    assert station.post(station.batch(station.records(1))[1])[0] == 200


def _forged_record(station: Station, operator: str, motivo: str) -> Record:
    """A record as a station that skipped validation would sign it."""
    station.seq += 1
    return Record(str(uuid.uuid4()), station.id, station.seq, Kind.ILEGIBLE, operator,
                  datetime.now(UTC), {"clave_acta": CLAVE, "imagen_sha256": "ab" * 32,
                                      "lease": None, "motivo": motivo})


@pytest.mark.parametrize("operator, motivo", [
    ("op\x00", "imagen borrosa"),  # U+0000: PostgreSQL refused it, 503 for ever
    ("op1", "borrosa\n2027-06-07 INFO central: corte publicado"),
    ("op1", "\x1b[2Jborrosa"),
])
def test_a_signed_record_with_a_control_character_is_refused_with_its_code(
        node: CentralNode, clients: Callable[[str], Client], operator: str,
        motivo: str) -> None:
    station = Station.enroll(node)
    bad = _forged_record(station, operator, motivo)
    _, request = make_batch(station.key, station.id, 1, station.prev, [bad])

    status, body = clients("127.0.0.13").request("POST", "/v1/batches", request)

    assert status == 400, body
    code, message = error_of(body)
    assert code == "control_character"
    assert "caracteres de control" in message and "soporte técnico" in message
    assert query(node.dsn, "SELECT count(*) FROM records WHERE station = %s",
                 station.id)[0][0] == 0
    # The same number with good records goes through: nothing of the refusal stuck.
    station.seq = 0
    assert station.post(make_batch(station.key, station.id, 1, station.prev,
                                   station.records(1))[1])[0] == 200


def test_a_station_refuses_to_create_a_record_with_control_characters(
        node: CentralNode, tmp_path: Path) -> None:
    """So its outbox never holds a record the central refuses: the operator gets a
    clear message and later records flow."""
    with RealStation.open(tmp_path / "estacion") as station:
        station.enroll(node.url, node.enroll_code(catd=7), node.cert_sha256)
        with pytest.raises(StationInputError) as refused:
            station.ilegible(CLAVE, "op1", "ab" * 32, None, "borrosa\x00")
        assert "motivo contiene caracteres de control" in str(refused.value)
        with pytest.raises(StationInputError):
            station.ilegible(CLAVE, "op1", "ab" * 32, None, "línea 1\nlínea 2")
        station.acopio(CLAVE, "op1")
        assert station.sync_until_drained(60)
        station_id = station.store.require_identity().station_id
    kinds = {k for (k,) in query(node.dsn, "SELECT kind FROM records WHERE station = %s",
                                 station_id)}
    assert kinds - {"heartbeat"} == {"acopio"}


def _work_headers(station: Station, body: bytes) -> dict[str, str]:
    return station.signed("POST", "/v1/work/next", hashlib.sha256(body).hexdigest())


def _hostile(kind: str, path: str, station: Station) -> bytes:
    """A body for ``path`` that is ``kind`` of hostile, where the central reads it."""
    size = {"/v1/batches": 200_000, "/v1/enroll": 12_000, "/v1/work/next": 4000}[path]
    if kind == "deep":
        return b"[" * (size // 2) + b"]" * (size // 2)
    if kind == "huge number":
        return b'{"n": ' + b"7" * min(size - 8, 5000) + b"}"
    surrogate = "\\ud800"  # a JSON escape: the bytes themselves are valid UTF-8
    if path == "/v1/batches":
        _, body = station.batch(station.records(1))
        return body.replace(b'"operator":"op1"', f'"operator":"{surrogate}"'.encode())
    if path == "/v1/enroll":
        return (f'{{"code": "{surrogate}", "hostname": "equipo", "public_key": '
                f'"{SigningKey.generate().public.b64()}"}}').encode()
    return f'{{"operator": "{surrogate}", "kind": "captura"}}'.encode()


@pytest.mark.parametrize("kind", ["deep", "huge number", "lone surrogate"])
def test_hostile_json_is_400_malformed_on_every_endpoint_without_a_traceback(
        node: CentralNode, clients: Callable[[str], Client], kind: str) -> None:
    """Deep nesting, 5,000-digit numbers and lone surrogates answered 500 with a
    traceback in the log."""
    station = Station.enroll(node)
    client = clients("127.0.0.14")
    tracebacks = _tracebacks(node)

    for path in ("/v1/batches", "/v1/enroll", "/v1/work/next"):
        body = _hostile(kind, path, station)
        headers = _work_headers(station, body) if path == "/v1/work/next" else {}
        status, answer = client.request("POST", path, body, headers)
        assert status == 400 and error_of(answer)[0] == "malformed", (path, answer[:300])
    assert _tracebacks(node) == tracebacks


def test_file_names_reach_the_log_on_one_line(node: CentralNode, tmp_path: Path) -> None:
    """A file name with a line break forged a log line (issue 36, "Files")."""
    inbox = tmp_path / "casilla"
    inbox.mkdir()
    (inbox / "acta\n2027-06-07 02:00:00,000 INFO central: todo en orden.jpg").write_bytes(
        b"not an image")
    (inbox / "acta\x1b[2J.jpg").write_bytes(b"not an image either")

    done = central_cli(node, "import-casilla", str(inbox))

    lines = done.stderr.splitlines()
    assert not [line for line in lines if line.startswith("2027-06-07 02:00:00")], lines
    assert "\x1b" not in done.stderr
    assert any("acta\\n2027-06-07" in line for line in lines), done.stderr
    assert any("acta\\x1b[2J.jpg" in line for line in lines), done.stderr
