"""A station against the real central node (subprocess, HTTPS on loopback, PostgreSQL):
enrollment and its pin, delivery exactly once, crashes at the station's named points, a
central that goes away and comes back, a skewed clock and a tampered batch."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from prep.canonical import canonical_bytes
from prep.canonical import parse_json
from prep.canonical import sha256_hex
from prep.crypto import SigningKey
from prep.protocol import verify_receipt
from prep.station.client import CentralClient
from prep.station.errors import EnrollmentError
from prep.station.station import Station
from prep.station.station import wait_until
from prep.station.store import Clock
from prep.station.store import system_clock
from prep.station.sync import SyncOptions
from prep.station.tls import pem_fingerprint
from tests.harness.espera import holgado
from tests.harness.station_cli import station_cmd
from tests.harness.work import site_account
from tests.prep.station.support import clave
from tests.prep.station.support import jpeg_bytes
from tests.prep.station.support import self_signed_pem

if TYPE_CHECKING:
    from tests.harness.central import CentralNode

FAST = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.1,
                   heartbeat_interval=0)
KILLED = -signal.SIGKILL
#: The acopiador and digitalizador of CATD 07 the central knows (site_account).
ACOPIADOR = "op-07-acopiador-de-pruebas"
DIGITALIZADOR = "op-07-digitalizador-de-pruebas"


def _enrolled(node: CentralNode, data_dir: Path, clock: Clock = system_clock) -> Station:
    # Real accounts of CATD 07: the central takes records only from those.
    assert site_account(node, "acopiador", "07") == ACOPIADOR
    assert site_account(node, "digitalizador", "07") == DIGITALIZADOR
    station = Station.open(data_dir, clock)
    station.enroll(node.url, node.enroll_code(catd=7), node.cert_sha256)
    return station


def _central_records(node: CentralNode, station_id: str) -> list[tuple[str, str, int]]:
    with psycopg.connect(node.dsn) as conn:
        return [(str(i), s, q) for i, s, q in conn.execute(
            "SELECT id, sha256, seq FROM records WHERE station = %s ORDER BY seq",
            (station_id,))]


def _local_records(station: Station) -> list[tuple[str, str, int]]:
    out = []
    for seq, sha, canonical in station.store.records(limit=100_000):
        out.append((parse_json(canonical, 1 << 16)["id"], sha, seq))
    return out


def _central_batches(node: CentralNode, station_id: str) -> list[tuple[int, bytes]]:
    with psycopg.connect(node.dsn) as conn:
        return [(n, bytes(b)) for n, b in conn.execute(
            "SELECT number, body FROM batches WHERE station = %s ORDER BY number",
            (station_id,))]


def _local_batches(data_dir: Path) -> list[tuple[int, bytes]]:
    with sqlite3.connect(data_dir / "station.sqlite3") as conn:
        return list(conn.execute("SELECT number, body FROM batches ORDER BY number"))


def test_enroll_pins_the_central_certificate(central_node: CentralNode,
                                             tmp_path: Path) -> None:
    code = central_node.enroll_code(catd=7)
    wrong = "ab" * 32
    with Station.open(tmp_path / "a") as careful, pytest.raises(EnrollmentError) as refused:
        careful.enroll(central_node.url, code, expected_cert_sha256=wrong)
    assert refused.value.code == "possible_spoof"
    assert "posible suplantación" in str(refused.value)

    # The refused attempt did not spend the code: the real enrollment goes through.
    done = station_cmd("enroll", "--data-dir", str(tmp_path / "a"), "--url", central_node.url,
                       "--code", code, "--cert-sha256", central_node.cert_sha256)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["station_id"].startswith("catd-07-")
    assert (answer["sitio"], answer["role"], answer["node"], answer["cert_sha256"]) == (
        "07", "catd", central_node.node, central_node.cert_sha256)
    with Station.open(tmp_path / "a") as station:
        identity = station.identity
        assert identity is not None and identity.central_key == central_node.central_key
        assert pem_fingerprint(identity.cert_pem) == central_node.cert_sha256
        public_key = station.key().public.raw()
    with psycopg.connect(central_node.dsn) as conn:
        row = conn.execute("SELECT public_key FROM stations WHERE id = %s",
                           (answer["station_id"],)).fetchone()
    assert row is not None and bytes(row[0]) == public_key

    again = station_cmd("enroll", "--data-dir", str(tmp_path / "b"), "--url", central_node.url,
                        "--code", code, "--cert-sha256", central_node.cert_sha256)
    assert again.returncode == 2
    assert "rechazó el código de alta" in again.stderr


def test_a_central_with_another_certificate_is_refused(central_node: CentralNode,
                                                       tmp_path: Path) -> None:
    with _enrolled(central_node, tmp_path) as station:
        station.acopio(clave(1), ACOPIADOR)
    impostor = self_signed_pem("prep-central")
    with sqlite3.connect(tmp_path / "station.sqlite3") as conn:
        conn.execute("UPDATE identity SET cert_pem = ?, cert_sha256 = ?",
                     (impostor, pem_fingerprint(impostor)))
    done = station_cmd("sync", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert json.loads(done.stdout)["last_error_code"] == "possible_spoof"
    assert "posible suplantación" in done.stderr
    assert _central_batches(central_node, station.store.require_identity().station_id) == []


def test_acopios_and_images_arrive_exactly_once(central_node: CentralNode,
                                                tmp_path: Path) -> None:
    images = [jpeg_bytes(120_000) for _ in range(5)]
    with _enrolled(central_node, tmp_path) as station:
        for i in range(50):
            station.acopio(clave(i), ACOPIADOR)
        for i, image in enumerate(images):
            station.imagen(clave(i), image, "image/jpeg", DIGITALIZADOR)
        assert station.sync_until_drained(30, SyncOptions(batch_records=20,
                                                          heartbeat_interval=0))
        station_id = station.store.require_identity().station_id
        local = _local_records(station)
        assert len(local) == 55
        assert _central_records(central_node, station_id) == local
        status = station.status()
        assert (status.backlog_records, status.backlog_bytes, status.batches,
                status.batches_delivered) == (0, 0, 3, 3)
        # Nothing is sent twice: another sync finds nothing to do.
        assert station.sync_until_drained(10, FAST)
        assert station.status().batches == 3
        assert _central_records(central_node, station_id) == local
    blobs = central_node.data_dir / "blobs"
    stored = [p.read_bytes() for p in blobs.rglob("*") if p.is_file() and p.parent.name != "tmp"]
    assert sorted(stored) == sorted(images)
    with sqlite3.connect(tmp_path / "station.sqlite3") as conn:
        receipts = [r[0] for r in conn.execute("SELECT receipt FROM batches ORDER BY number")]
    assert all(r is not None for r in receipts)
    with Station.open(tmp_path) as reopened:
        batch = reopened.outbox().batch(1)
        assert batch is not None
        receipt = verify_receipt(receipts[0], central_node.central_key, batch.parsed())
        assert (receipt.number, receipt.records, receipt.new) == (1, 20, 20)


def test_crashes_lose_nothing_and_double_nothing(central_node: CentralNode,
                                                 tmp_path: Path) -> None:
    with _enrolled(central_node, tmp_path) as station:
        for i in range(12):
            station.acopio(clave(i), ACOPIADOR)
            if i % 4 == 0:
                station.imagen(clave(i), jpeg_bytes(400_000), "image/jpeg", DIGITALIZADOR)
        station_id = station.store.require_identity().station_id
        local = _local_records(station)
    data = str(tmp_path)

    frozen = station_cmd("sync", "--data-dir", data, env={"PREP_CRASH_AT": "after_freeze"})
    assert frozen.returncode == KILLED, frozen.stderr
    persisted = _local_batches(tmp_path)
    assert [n for n, _ in persisted] == [1]

    mid_blob = station_cmd("sync", "--data-dir", data, env={"PREP_CRASH_AT": "mid_blob_upload"})
    assert mid_blob.returncode == KILLED, mid_blob.stderr
    assert _central_records(central_node, station_id) == []
    blobs = central_node.data_dir / "blobs"
    for path in blobs.rglob("*"):  # the central kept no half image
        if path.is_file() and path.parent.name != "tmp":
            assert sha256_hex(path.read_bytes()) == path.parent.name + path.name

    answered = station_cmd("sync", "--data-dir", data,
                           env={"PREP_CRASH_AT": "after_send_before_receipt"})
    assert answered.returncode == KILLED, answered.stderr
    assert _central_records(central_node, station_id) == local  # the central has it…
    with Station.open(tmp_path) as station:
        assert station.status().backlog_records == len(local)  # …without a receipt here

    done = station_cmd("sync", "--data-dir", data, "--until-drained", "--timeout", "30")
    assert done.returncode == 0, done.stderr
    assert _central_records(central_node, station_id) == local
    # Batch 1 went out byte for byte as frozen before the first crash.
    assert _central_batches(central_node, station_id) == persisted == _local_batches(tmp_path)
    with Station.open(tmp_path) as station:
        status = station.status()
        assert (status.backlog_records, status.batches_delivered) == (0, 1)


def test_station_drains_after_the_central_comes_back(central_node: CentralNode,
                                                     tmp_path: Path) -> None:
    with _enrolled(central_node, tmp_path) as station:
        station_id = station.store.require_identity().station_id
        agent = station.start_sync(SyncOptions(backoff_base=0.05, backoff_cap=0.5,
                                               poll_interval=0.1, heartbeat_interval=0.5))
        for i in range(10):
            station.acopio(clave(i), ACOPIADOR)

        def drained() -> bool:
            return station.status().backlog_records == agent.state().backlog_records == 0

        assert wait_until(drained, holgado(60)), agent.state()
        assert agent.state().online and agent.state().found_via == "configurada"

        central_node.kill()
        for i in range(10, 40):
            station.acopio(clave(i), ACOPIADOR)  # acopio never waits for the central
        assert wait_until(lambda: agent.state().last_error_code == "unreachable"
                          and agent.state().backlog_records >= 30, holgado(60)), agent.state()
        state = agent.state()
        assert not state.online
        assert "Sin conexión con el nodo central" in state.last_error

        central_node.restart()
        assert wait_until(drained, holgado(60)), agent.state()
        state = agent.state()
        assert state.online and state.last_error == "" and state.last_receipt_at is not None
        station.stop_sync()
        local = _local_records(station)
    central = _central_records(central_node, station_id)
    assert central == local
    with psycopg.connect(central_node.dsn) as conn:
        kinds = {k for (k,) in conn.execute("SELECT kind FROM records WHERE station = %s",
                                            (station_id,))}
    assert kinds == {"acopio", "heartbeat"}


def test_a_skewed_station_clock_still_syncs(central_node: CentralNode,
                                            tmp_path: Path) -> None:
    skew = timedelta(days=2, hours=3)
    with _enrolled(central_node, tmp_path, lambda: datetime.now(UTC) + skew) as station:
        for i in range(5):
            station.acopio(clave(i), ACOPIADOR)
        assert station.sync_until_drained(20, FAST)
        station_id = station.store.require_identity().station_id
    with psycopg.connect(central_node.dsn) as conn:
        ats = [a for (a,) in conn.execute("SELECT at FROM records WHERE station = %s",
                                          (station_id,))]
        skews = conn.execute("SELECT count(*) FROM anomalies WHERE type = 'clock_skew' "
                             "AND station = %s", (station_id,)).fetchone()
    assert len(ats) == 5
    assert all(abs(a - (datetime.now(UTC) + skew)) < timedelta(minutes=5) for a in ats)
    assert skews == (1,)  # the central noticed, and took the records all the same


def test_a_refused_batch_stops_until_a_coordinator_acts(central_node: CentralNode,
                                                        tmp_path: Path) -> None:
    with _enrolled(central_node, tmp_path) as station:
        for i in range(3):
            station.acopio(clave(i), ACOPIADOR)
        frozen = station.outbox().freeze()
        assert frozen is not None
    tampered = parse_json(frozen.body, 1 << 20)
    tampered["batch"]["records"][0]["operator"] = "intruso"
    with sqlite3.connect(tmp_path / "station.sqlite3") as conn:
        conn.execute("UPDATE batches SET body = ? WHERE number = 1",
                     (canonical_bytes(tampered),))

    done = station_cmd("sync", "--data-dir", str(tmp_path), "--until-drained",
                       "--timeout", "20")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["last_error_code"] == "bad_signature"
    assert "rechazó el lote 1" in done.stderr and "coordinador" in done.stderr
    status = station_cmd("status", "--data-dir", str(tmp_path))
    assert "rechazó el lote 1" in json.loads(status.stdout)["blocked"]
    # Blocked: the next run does not try again on its own…
    again = station_cmd("sync", "--data-dir", str(tmp_path))
    assert again.returncode == 1 and "rechazó el lote 1" in again.stderr
    with psycopg.connect(central_node.dsn) as conn:
        refusals = conn.execute("SELECT station, detail->>'claimed' FROM anomalies WHERE "
                                "type = 'bad_signature'").fetchall()
    # Refused once; a signature that does not verify is never pinned on the station it
    # names, only on the address it came from (issue 36).
    assert refusals == [(None, station.store.require_identity().station_id)]
    # …until a coordinator clears it (here the batch is still bad, so it blocks again).
    cleared = station_cmd("unblock", "--data-dir", str(tmp_path))
    assert json.loads(cleared.stdout) == {"unblocked": 1}


def test_resends_what_a_restored_central_lost(central_node: CentralNode,
                                              tmp_path: Path) -> None:
    with _enrolled(central_node, tmp_path) as station:
        for i in range(30):
            station.acopio(clave(i), ACOPIADOR)
        assert station.sync_until_drained(20, SyncOptions(batch_records=10,
                                                          heartbeat_interval=0))
        station_id = station.store.require_identity().station_id
        two = station.outbox().batch(2)
        assert two is not None
        # The central is restored from a backup taken after batch 2 (as a restore works:
        # below the append-only triggers).
        with psycopg.connect(central_node.dsn) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("DELETE FROM records WHERE station = %s AND batch_number = 3",
                         (station_id,))
            conn.execute("DELETE FROM batches WHERE station = %s AND number = 3",
                         (station_id,))
            conn.execute("UPDATE stations SET last_batch = 2, last_batch_sha256 = %s, "
                         "last_seq = 20 WHERE id = %s", (two.sha256, station_id))
        for i in range(30, 35):
            station.acopio(clave(i), ACOPIADOR)
        assert station.sync_until_drained(20, SyncOptions(batch_records=10,
                                                          heartbeat_interval=0))
        local = _local_records(station)
    assert len(local) == 35
    assert _central_records(central_node, station_id) == local
    assert [n for n, _ in _central_batches(central_node, station_id)] == [1, 2, 3, 4]
    assert _central_batches(central_node, station_id) == _local_batches(tmp_path)


def test_a_central_found_elsewhere_by_discovery_is_used(central_node: CentralNode,
                                                        tmp_path: Path) -> None:
    with _enrolled(central_node, tmp_path) as station:
        station.acopio(clave(1), ACOPIADOR)
    # The configured address went stale (the central moved); discovery knows the new one.
    with sqlite3.connect(tmp_path / "station.sqlite3") as conn:
        conn.execute("UPDATE identity SET central_url = 'https://127.0.0.1:9'")
    asked: list[str] = []

    async def locator() -> tuple[str, str] | None:
        asked.append("mDNS")
        return central_node.url, "mDNS"

    with Station.open(tmp_path) as station:
        agent = station.agent(FAST, locator=locator)
        assert agent.state().found_via == "configurada"
        assert agent.run_until_drained(20)
        state = agent.state()
        assert (state.found_via, state.central_url, state.online) == (
            "mDNS", central_node.url, True)
        assert asked == ["mDNS"]  # after a few misses, not at every retry
        assert station.identity is not None
        assert station.identity.central_url == "https://127.0.0.1:9"  # a hint, not config
        station_id = station.identity.station_id
    assert len(_central_records(central_node, station_id)) == 1


def test_a_receipt_not_signed_by_the_enrolled_key_delivers_nothing(
        central_node: CentralNode, tmp_path: Path) -> None:
    with _enrolled(central_node, tmp_path) as station:
        station.acopio(clave(1), ACOPIADOR)
    with sqlite3.connect(tmp_path / "station.sqlite3") as conn:
        conn.execute("UPDATE identity SET central_key = ?",
                     (SigningKey.generate().public.b64(),))
    with Station.open(tmp_path) as station:
        agent = station.agent(FAST)
        assert not agent.run_until_drained(10)
        state = agent.state()
        # Not even sent: the node cannot sign its timeline with the enrolled key, and a
        # station sends nothing before it did (issue 62; prep.linea).
        assert state.last_error_code == "timeline_unconfirmed" and not state.blocked
        assert "no demostró con la firma" in state.last_error
        status = station.status()
        assert (status.backlog_records, status.batches_delivered) == (1, 0)
        station_id = station.store.require_identity().station_id
    assert _central_records(central_node, station_id) == []


def test_a_store_busy_past_its_timeout_delays_delivery_but_never_stops_the_agent(
        central_node: CentralNode, tmp_path: Path) -> None:
    """Another process holds the station's SQLite for longer than its busy timeout (a
    station overloaded on election night): the agent's writes fail, it says so and
    tries again; once the lock is gone everything arrives."""
    with _enrolled(central_node, tmp_path) as station:
        station.imagen(clave(1), jpeg_bytes(50_000), "image/jpeg", DIGITALIZADOR)
        holder = sqlite3.connect(tmp_path / "station.sqlite3", timeout=1)
        holder.execute("BEGIN EXCLUSIVE")
        agent = station.start_sync(FAST)
        try:
            assert wait_until(lambda: agent.state().last_error_code == "storage", holgado(60))
            assert agent.state().running
            assert "ocupada" in agent.state().last_error
        finally:
            holder.rollback()
            holder.close()
        assert wait_until(lambda: station.status().backlog_records == 0, holgado(60))
        assert agent.state().running
        station_id = station.store.require_identity().station_id
        assert _central_records(central_node, station_id) == _local_records(station)


def test_last_contact_is_noted_without_a_write_per_request(central_node: CentralNode,
                                                           tmp_path: Path) -> None:
    """The coordinator sees when each station last spoke (``stations.last_seen_at``), but
    a station's many requests (batches, images, leases) must not each commit a write to
    its row: within 10 s the row is not rewritten (its PostgreSQL ``xmin`` stays)."""
    station = _enrolled(central_node, tmp_path / "st")
    identity = station.identity
    assert identity is not None

    def row() -> tuple[datetime | None, str]:
        with psycopg.connect(central_node.dsn) as conn:
            found = conn.execute("SELECT last_seen_at, xmin::text FROM stations "
                                 "WHERE id = %s", (identity.station_id,)).fetchone()
            assert found is not None
            return found[0], found[1]

    async def ask(times: int) -> list[int]:
        async with CentralClient(identity, station.key(), identity.central_url) as client:
            return [(await client.cursor())[0] for _ in range(times)]

    before = datetime.now(UTC)
    assert asyncio.run(ask(1)) == [200]
    seen, xmin = row()
    assert seen is not None and seen >= before - timedelta(seconds=1)
    assert asyncio.run(ask(20)) == [200] * 20
    assert row() == (seen, xmin)
    station.close()


def test_a_steady_trickle_goes_out_in_few_batches(central_node: CentralNode,
                                                  tmp_path: Path) -> None:
    """Records written one by one while the agent delivers (an acopio every 20 ms for
    3 s): those written during a batch's round trip wait ``gather_seconds`` for the
    next pass instead of leaving at once, one small batch per round trip (each batch
    costs the central as much as about 15 records). All arrive, once each."""
    options = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.1,
                          heartbeat_interval=0, gather_seconds=1.0)
    with _enrolled(central_node, tmp_path) as station:
        station.start_sync(options)
        for i in range(150):
            station.acopio(clave(i), ACOPIADOR)
            time.sleep(0.02)
        assert wait_until(lambda: station.status().backlog_records == 0, holgado(60))
        station.stop_sync()
        station_id = station.store.require_identity().station_id
        assert _central_records(central_node, station_id) == _local_records(station)
        assert len(_local_records(station)) == 150
        # ≈3.5 s of writing at one batch per (round trip + 1 s): a handful, not dozens.
        assert 2 <= station.status().batches <= 8, station.status().batches
