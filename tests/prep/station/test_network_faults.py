"""A station and the real central with a broken network between them: a loopback TCP
proxy (tests/harness/proxy.py) cuts, slows and resets the connections while the station's
sync agent runs, and stored batches are replayed and reordered against the central.

Whatever the network did, the end must be what a coordinator expects to see: every
record in PostgreSQL exactly once and in the station's order, every batch once with the
very bytes the station froze, every image byte-identical on the central and nothing
half-written in its blob directory, no anomaly raised against the station, and a station
with nothing left to send.

"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from sqlalchemy import select

from prep.crypto import b64encode
from prep.protocol import request_message
from prep.protocol import verify_receipt
from prep.station.models import BatchRow
from prep.station.models import BlobRow
from prep.station.models import OutboxRow
from prep.station.models import RecordRow
from prep.station.station import Station
from prep.station.station import wait_until
from prep.station.store import Clock
from prep.station.store import system_clock
from prep.station.sync import SyncAgent
from prep.station.sync import SyncOptions
from prep.station.sync import SyncState
from tests.harness.espera import holgado
from tests.harness.proxy import FaultProxy
from tests.prep.station.support import clave
from tests.prep.station.support import jpeg_bytes

if TYPE_CHECKING:
    from tests.harness.central import CentralNode

FAST = SyncOptions(batch_records=10, backoff_base=0.05, backoff_cap=0.3, poll_interval=0.1,
                   heartbeat_interval=0, request_timeout=15)

Row = tuple[str, str, int, int]
"""A record as both sides must agree on it: (id, sha256, seq, batch number)."""


#: The CATD 07 accounts the records name (made with the module's central).
OPERATOR: dict[str, str] = {}


@pytest.fixture(scope="module")
def central(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralNode]:
    """One real central for the module; each test enrolls a station of its own."""
    from tests.harness.central import running_central
    from tests.harness.work import site_account

    with running_central(tmp_path_factory.mktemp("faults-central"), pg_dsn) as node:
        # The central takes records only from real accounts of the station's site.
        for role in ("acopiador", "digitalizador"):
            OPERATOR[role] = site_account(node, role, "07")
        yield node


@pytest.fixture
def proxy(central: CentralNode) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", central.port) as link:
        yield link


def _enrolled(node: CentralNode, data_dir: Path, via: FaultProxy | None = None,
              clock: Clock = system_clock) -> Station:
    """A station enrolled with a fresh code, talking to the central through ``via``."""
    station = Station.open(data_dir, clock)
    station.enroll(via.url_for(node.url) if via else node.url, node.enroll_code(catd=7),
                   node.cert_sha256)
    return station


def _drained(station: Station) -> bool:
    status = station.status()
    return status.backlog_records == 0 and status.batches == status.batches_delivered


def _settled(station: Station, agent: SyncAgent) -> bool:
    """Drained, and the agent's status bar says so (online, no error)."""
    state = agent.state()
    return _drained(station) and state.online and state.last_error == ""


def _local_rows(station: Station) -> list[Row]:
    with station.store.read() as session:
        rows = session.execute(select(RecordRow.id, RecordRow.sha256, RecordRow.seq,
                                      OutboxRow.batch_number)
                               .join(OutboxRow, OutboxRow.record_id == RecordRow.id)
                               .order_by(RecordRow.seq))
        return [(r.id, r.sha256, r.seq, r.batch_number) for r in rows]


def _central_rows(node: CentralNode, station_id: str) -> list[Row]:
    with psycopg.connect(node.dsn) as conn:
        return [(str(i), s, q, b) for i, s, q, b in conn.execute(
            "SELECT id, sha256, seq, batch_number FROM records WHERE station = %s "
            "ORDER BY seq, id", (station_id,))]


def _central_blob(node: CentralNode, sha256: str) -> Path:
    return node.data_dir / "blobs" / sha256[:2] / sha256[2:]


def _central_leftovers(node: CentralNode) -> list[Path]:
    """Half-received uploads still in the central's temporary blob directory."""
    return sorted((node.data_dir / "blobs" / "tmp").iterdir())


def _anomalies(node: CentralNode, station_id: str) -> list[str]:
    with psycopg.connect(node.dsn) as conn:
        found = [t for (t,) in conn.execute(
            "SELECT type FROM anomalies WHERE station = %s ORDER BY id", (station_id,))]
        found += [f"quarantine:{n}" for (n,) in conn.execute(
            "SELECT number FROM quarantine WHERE station = %s", (station_id,))]
    return found


@dataclass(frozen=True)
class Delivered:
    records: int
    batches: int
    images: int
    image_bytes: int


def _assert_delivered_exactly_once(node: CentralNode, station: Station,
                                   anomalies: frozenset[str] = frozenset()) -> Delivered:
    """What a coordinator checks after the storm: nothing lost, nothing twice."""
    identity = station.store.require_identity()
    status = station.status()
    assert (status.backlog_records, status.backlog_bytes, status.blocked) == (0, 0, None)
    assert status.batches == status.batches_delivered > 0

    local = _local_rows(station)
    assert [seq for _, _, seq, _ in local] == list(range(1, len(local) + 1))
    assert _central_rows(node, identity.station_id) == local  # each record once, same batch

    with station.store.read() as session:
        batches = [(b.number, b.sha256, b.body, b.receipt) for b in
                   session.scalars(select(BatchRow).order_by(BatchRow.number))]
        blobs = list(session.scalars(select(BlobRow.sha256)))
    with psycopg.connect(node.dsn) as conn:
        stored = [(n, s, bytes(b)) for n, s, b in conn.execute(
            "SELECT number, sha256, body FROM batches WHERE station = %s ORDER BY number",
            (identity.station_id,))]
        cursor = conn.execute("SELECT last_batch, last_seq FROM stations WHERE id = %s",
                              (identity.station_id,)).fetchone()
    # Every batch once, numbered without gaps, with the bytes frozen at the station…
    assert stored == [(n, s, body) for n, s, body, _ in batches]
    assert [n for n, *_ in stored] == list(range(1, len(stored) + 1))
    assert cursor == (len(batches), len(local))
    # …and acknowledged by a receipt the central signed for exactly that batch.
    for number, _, body, receipt in batches:
        assert receipt is not None, f"batch {number} without receipt"
        frozen = station.outbox().batch(number)
        assert frozen is not None and frozen.body == body
        assert verify_receipt(receipt, identity.central_key, frozen.parsed()).number == number

    size = 0
    for sha256 in blobs:  # every image byte-identical on the central
        data = station.blobs.read(sha256)
        assert _central_blob(node, sha256).read_bytes() == data, sha256
        size += len(data)
    assert _central_leftovers(node) == []
    assert set(_anomalies(node, identity.station_id)) <= anomalies
    return Delivered(len(local), len(batches), len(blobs), size)


class _Flapping:
    """Cuts and restores the proxy at random intervals in a thread of its own."""

    def __init__(self, proxy: FaultProxy, seed: int, up: tuple[float, float],
                 down: tuple[float, float]) -> None:
        self.proxy = proxy
        self.cuts = 0
        self._random = random.Random(seed)
        self._up, self._down = up, down
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flapping", daemon=True)

    def __enter__(self) -> _Flapping:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.proxy.restore()

    def _run(self) -> None:
        while not self._stop.wait(self._random.uniform(*self._up)):
            self.proxy.cut()
            self.cuts += 1
            self._stop.wait(self._random.uniform(*self._down))
            self.proxy.restore()


def test_connections_cut_again_and_again(central: CentralNode, proxy: FaultProxy,
                                         tmp_path: Path) -> None:
    images = 0
    with _enrolled(central, tmp_path, proxy) as station:
        agent = station.start_sync(FAST)
        with _Flapping(proxy, seed=3, up=(0.1, 0.4), down=(0.05, 0.25)) as flapping:
            for i in range(100):  # an acopio every 30 ms, an image every tenth
                station.acopio(clave(i), OPERATOR["acopiador"])
                if i % 10 == 9:
                    station.imagen(clave(i), jpeg_bytes(300_000), "image/jpeg",
                                   OPERATOR["digitalizador"])
                    images += 1
                time.sleep(0.03)
            assert wait_until(lambda: flapping.cuts >= 20, holgado(60))
        assert wait_until(lambda: _settled(station, agent), holgado(60)), agent.state()
        station.stop_sync()
        done = _assert_delivered_exactly_once(central, station)
    stats = proxy.stats()
    assert (done.records, done.images) == (110, images)
    assert stats.cut > 0  # open connections really were cut under the agent
    print(f"cuts={flapping.cuts} {stats} {done}")


def test_a_slow_link_still_drains(central: CentralNode, proxy: FaultProxy,
                                  tmp_path: Path) -> None:
    with _enrolled(central, tmp_path, proxy) as station:
        for i in range(100):
            station.acopio(clave(i), OPERATOR["acopiador"])
        for i in range(10):
            station.imagen(clave(i), jpeg_bytes(300_000), "image/jpeg", OPERATOR["digitalizador"])
        proxy.delay(0.2)  # 200 ms each way for every chunk: a 400 ms round trip
        started = time.monotonic()
        errors: list[str] = []

        def note(state: SyncState) -> None:
            if state.last_error:
                errors.append(state.last_error)

        agent = station.start_sync(SyncOptions(batch_records=25, backoff_base=0.05,
                                               backoff_cap=0.3, heartbeat_interval=0,
                                               request_timeout=15), on_change=note)
        assert wait_until(lambda: _settled(station, agent), holgado(60)), agent.state()
        elapsed = time.monotonic() - started
        assert errors == []  # slow is not offline: not one failed attempt
        station.stop_sync()
        done = _assert_delivered_exactly_once(central, station)
    assert (done.records, done.batches, done.images) == (110, 5, 10)
    # At least one TLS handshake and one round trip per batch went over the slow link.
    assert elapsed >= 0.4 * (1 + done.batches)
    print(f"elapsed={elapsed:.1f}s {proxy.stats()} {done}")


def test_reset_mid_upload_leaves_no_half_image(central: CentralNode, proxy: FaultProxy,
                                               tmp_path: Path) -> None:
    image = jpeg_bytes(1 << 20)
    with _enrolled(central, tmp_path, proxy) as station:
        station.acopio(clave(1), OPERATOR["acopiador"])
        sha256 = station.imagen(clave(1), image, "image/jpeg",
                                OPERATOR["digitalizador"]).body["sha256"]
        station_id = station.store.require_identity().station_id
        agent = station.agent(FAST)
        # Upload attempts cut early (just past the headers), halfway and near the end.
        # aiohttp retries an idempotent PUT once on a fresh connection by itself, so the
        # rule stays armed until the agent sees the failure.
        for depth in (4 << 10, 512 << 10, 960 << 10):
            before = proxy.stats()
            proxy.reset_after(depth)
            assert not asyncio.run(agent.run(until_drained=True, give_up=True))
            proxy.reset_after(None)
            after = proxy.stats()
            resets = after.resets - before.resets
            assert resets >= 1  # every connection cut in the middle of the body:
            assert depth * resets <= after.bytes_up - before.bytes_up < len(image) * resets
            assert agent.state().last_error_code == "unreachable"
            assert "Sin conexión con el nodo central" in agent.state().last_error
            # The central kept nothing of it: no blob, no temporary file, no record.
            assert not _central_blob(central, sha256).exists()
            assert wait_until(lambda: _central_leftovers(central) == [], holgado(60))
            assert _central_rows(central, station_id) == []
            status = station.status()
            assert status.backlog_records == 2 and status.backlog_bytes > len(image)

        # One more reset, just once: the HTTP client's own retry absorbs it.
        before = proxy.stats()
        proxy.reset_after(700 << 10, times=1)
        assert agent.run_until_drained(30), agent.state()
        assert proxy.stats().resets == before.resets + 1
        done = _assert_delivered_exactly_once(central, station)
    assert (done.records, done.images, done.image_bytes) == (2, 1, len(image))
    assert _central_blob(central, sha256).read_bytes() == image
    # A dropped link is the station's trouble, not an internal error of the central.
    assert "error interno" not in central.log_path.read_text(encoding="utf-8")
    print(f"{proxy.stats()} {done}")


def test_a_receipt_lost_on_the_wire(central: CentralNode, proxy: FaultProxy,
                                    tmp_path: Path) -> None:
    with _enrolled(central, tmp_path, proxy) as station:
        station_id = station.store.require_identity().station_id
        for i in range(20):
            station.acopio(clave(i), OPERATOR["acopiador"])
        proxy.delay(0.5)  # the central's answers linger on the wire…
        agent = station.start_sync(dataclasses.replace(FAST, batch_records=50))
        assert wait_until(lambda: len(_central_rows(central, station_id)) == 20, holgado(60), 0.01)
        proxy.cut()  # …so cutting now loses the receipt of a batch the central committed
        assert station.status().batches_delivered == 0
        assert wait_until(lambda: agent.state().last_error_code == "unreachable", holgado(60))
        proxy.delay(0)
        proxy.restore()
        assert wait_until(lambda: _settled(station, agent), holgado(60)), agent.state()
        station.stop_sync()
        done = _assert_delivered_exactly_once(central, station)
        with station.store.read() as session:
            kept = session.scalar(select(BatchRow.receipt).where(BatchRow.number == 1))
    with psycopg.connect(central.dsn) as conn:
        stored = conn.execute("SELECT receipt FROM batches WHERE station = %s AND number = 1",
                              (station_id,)).fetchone()
    assert done.batches == 1 and stored is not None
    assert kept == bytes(stored[0])  # the resent batch got the stored receipt back
    print(f"{proxy.stats()} {done}")


def _signed_put(node: CentralNode, station: Station, sha256: str, data: bytes
                ) -> tuple[int, dict[str, object]]:
    path = f"/v1/blobs/{sha256}"
    signature = station.key().sign(request_message("PUT", path, sha256))
    status, body = node.request("PUT", path, data, {
        "Content-Type": "application/octet-stream",
        "X-Prep-Station": station.store.require_identity().station_id,
        "X-Prep-Signature": b64encode(signature)})
    return status, json.loads(body)


def test_replayed_and_reordered_batches(central: CentralNode, tmp_path: Path) -> None:
    with _enrolled(central, tmp_path) as station:
        identity = station.store.require_identity()
        for i in range(40):
            station.acopio(clave(i), OPERATOR["acopiador"])
            if i % 10 == 0:
                station.imagen(clave(i), jpeg_bytes(60_000), "image/jpeg",
                               OPERATOR["digitalizador"])
        outbox = station.outbox()
        assert outbox.freeze_all(6) == 8
        batches = {b.number: b for b in outbox.pending()}
        for sha256 in _blob_shas(station):
            data = station.blobs.read(sha256)
            for new in (True, False):  # an upload replayed: stored once, not rewritten
                status, answer = _signed_put(central, station, sha256, data)
                assert status == 200 and answer == {"sha256": sha256, "bytes": len(data),
                                                    "new": new}

        # Every batch three times, in an order shuffled again each round, one at a time
        # over HTTPS pinned to the central's certificate (the station's stored bytes).
        receipts: dict[int, bytes] = {}
        shuffled = random.Random(11)
        out_of_order = replays = rounds = 0
        while len(receipts) < len(batches):
            rounds += 1
            posts = [n for n in batches for _ in range(3)]
            shuffled.shuffle(posts)
            for number in posts:
                status, body = central.request("POST", "/v1/batches", batches[number].body)
                if number in receipts:  # a replay: the stored receipt, byte for byte
                    assert (status, body) == (200, receipts[number])
                    replays += 1
                elif number == len(receipts) + 1:
                    assert status == 200, body
                    receipt = verify_receipt(body, identity.central_key,
                                             batches[number].parsed())
                    assert receipt.new == receipt.records == batches[number].records
                    receipts[number] = body
                else:  # its predecessor has not arrived: refused, nothing stored
                    assert status == 409, body
                    assert json.loads(body)["error"] == "out_of_order"
                    out_of_order += 1
        assert out_of_order > 0 and replays > 0

        # A last burst: every batch again, all at once on parallel connections.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda n: (n, central.request(
                "POST", "/v1/batches", batches[n].body)), [*batches, *batches]))
        assert all(answer == (200, receipts[n]) for n, answer in answers)

        # The station itself now syncs: it gets the stored receipts and sends nothing new.
        assert station.sync_until_drained(20, FAST)
        done = _assert_delivered_exactly_once(central, station)
        with station.store.read() as session:
            kept = {n: r for n, r in session.execute(select(BatchRow.number, BatchRow.receipt))}
        assert kept == receipts
    assert (done.records, done.batches, done.images) == (44, 8, 4)
    print(f"rounds={rounds} posts={rounds * 24 + 16} out_of_order={out_of_order} "
          f"replays={replays} {done}")


def _blob_shas(station: Station) -> list[str]:
    with station.store.read() as session:
        return list(session.scalars(select(BlobRow.sha256).order_by(BlobRow.created)))


class _CompressedClock:
    """The station's clock for a long outage played fast: it starts ``span`` in the
    past and each :meth:`advance` moves it forward, so after the whole span it reads
    the real time again."""

    def __init__(self, span: timedelta) -> None:
        self._offset = -span

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, step: timedelta) -> None:
        self._offset = min(timedelta(0), self._offset + step)


def test_a_thirty_minute_outage_at_peak_rate(central: CentralNode, proxy: FaultProxy,
                                            tmp_path: Path) -> None:
    # A CATD's peak: about 150 actas and their 150 images in 30 minutes, one record
    # every 6 s of station time; here generated as fast as the station stores them.
    span, actas = timedelta(minutes=30), 150
    step = span / (2 * actas)
    clock = _CompressedClock(span)
    image_size = 250_000
    with _enrolled(central, tmp_path, proxy, clock) as station:
        station_id = station.store.require_identity().station_id
        proxy.cut()
        agent = station.start_sync(SyncOptions(backoff_base=0.05, backoff_cap=0.3,
                                               poll_interval=0.1, heartbeat_interval=0))
        through = proxy.stats()
        samples = []
        first_at = clock()
        for i in range(actas):
            clock.advance(step)
            station.acopio(clave(i), OPERATOR["acopiador"])
            clock.advance(step)
            station.imagen(clave(i), jpeg_bytes(image_size), "image/jpeg",
                           OPERATOR["digitalizador"])
            if i == 0:
                assert wait_until(lambda: agent.state().last_error_code == "unreachable",
                                  holgado(60))
            if i % 15 == 14:
                samples.append(station.status())
        last_at = clock()
        assert last_at - first_at >= span - timedelta(seconds=1)

        # The operator sees an offline station whose backlog grows, and nothing is lost.
        for status in samples:
            assert status.sync is not None
            assert not status.sync.online and status.sync.last_error_code == "unreachable"
            assert "Sin conexión con el nodo central" in status.sync.last_error
            assert status.blocked is None and status.batches_delivered == 0
        counts = [s.backlog_records for s in samples]
        sizes = [s.backlog_bytes for s in samples]
        assert counts == sorted(set(counts)) and counts[-1] == 2 * actas
        assert sizes == sorted(set(sizes)) and sizes[-1] > actas * image_size
        assert _central_rows(central, station_id) == []
        outage = proxy.stats()
        assert outage.refused > through.refused  # it kept trying all along
        assert outage.bytes_up == through.bytes_up  # and nothing got through

        proxy.restore()
        restored = time.monotonic()
        assert wait_until(lambda: _settled(station, agent), holgado(60)), agent.state()
        drain = time.monotonic() - restored
        station.stop_sync()
        # The records are up to 30 minutes old but the station's clock is right: no
        # clock_skew anomaly may be raised.
        done = _assert_delivered_exactly_once(central, station, frozenset())
    assert (done.records, done.images) == (2 * actas, actas)
    with psycopg.connect(central.dsn) as conn:
        kinds = {k: n for k, n in conn.execute("SELECT kind, count(*) FROM records WHERE "
                                               "station = %s GROUP BY kind", (station_id,))}
        ats = conn.execute("SELECT min(at), max(at) FROM records WHERE station = %s",
                           (station_id,)).fetchone()
    assert kinds == {"acopio": actas, "imagen": actas}
    assert ats is not None and ats[1] - ats[0] >= span - timedelta(seconds=10)
    print(f"drain={drain:.1f}s refused_during_outage={outage.refused - through.refused} "
          f"anomalies={_anomalies(central, station_id)} {proxy.stats()} {done}")
