"""The station store on real SQLite files: gap-free seq, atomic record+outbox, blobs,
frozen batches and their chain, and what survives closing and reopening."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from prep.canonical import canonical_hash
from prep.canonical import parse_json
from prep.protocol import GENESIS
from prep.protocol import MAX_BLOB_BYTES
from prep.protocol import read_batch
from prep.protocol import verify_batch
from prep.records import Record
from prep.station.batches import Outbox
from prep.station.errors import NotEnrolledError
from prep.station.errors import StationError
from prep.station.errors import StationInputError
from prep.station.station import Station
from tests.prep.station.support import REPO
from tests.prep.station.support import STATION_ID
from tests.prep.station.support import clave
from tests.prep.station.support import jpeg_bytes
from tests.prep.station.support import offline_station


def _db(station: Station) -> sqlite3.Connection:
    return sqlite3.connect(station.data_dir / "station.sqlite3")


def _seqs(station: Station) -> tuple[list[int], list[int]]:
    with _db(station) as conn:
        records = [r[0] for r in conn.execute("SELECT seq FROM records ORDER BY seq")]
        outbox = [r[0] for r in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
    return records, outbox


def test_pragmas_are_set_on_every_connection(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station, station.store.engine.connect() as conn:
        values = [conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                  for p in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")]
    assert values == ["wal", 2, 5000, 1]
    assert (tmp_path / "station.key").stat().st_mode & 0o777 == 0o600


def test_a_single_read_holds_no_transaction_and_sees_each_commit(tmp_path: Path) -> None:
    """``query_one`` (the reads made for every scan and lease) runs its statement in
    SQLite's own transaction: nothing stays open after it (a read transaction left open
    would keep the WAL from being checkpointed), and each read sees what was committed
    before it; ``query`` still wraps its statements in one snapshot."""
    with offline_station(tmp_path) as station:
        count = "SELECT count(*) FROM records"
        with station.store.query_one() as conn:
            assert conn.exec_driver_sql(count).scalar() == 0
            assert not conn.connection.dbapi_connection.in_transaction
            station.acopio(clave(1), "op-acopio")  # another connection commits meanwhile
            assert conn.exec_driver_sql(count).scalar() == 1
        with station.store.query() as conn:
            assert conn.exec_driver_sql(count).scalar() == 1
            assert conn.connection.dbapi_connection.in_transaction
            station.acopio(clave(2), "op-acopio")
            assert conn.exec_driver_sql(count).scalar() == 1  # its snapshot
        with station.store.query_one() as conn:
            assert conn.exec_driver_sql(count).scalar() == 2


def test_seq_is_gap_free_across_many_appends(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        records = [station.acopio(clave(i), "op1") for i in range(300)]
        assert [r.seq for r in records] == list(range(1, 301))
        assert _seqs(station) == (list(range(1, 301)), list(range(1, 301)))


def test_seq_is_gap_free_with_four_threads_appending(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with offline_station(tmp_path) as station:
        def work(thread: int) -> None:
            try:
                for i in range(60):
                    station.acopio(clave(thread * 1000 + i), f"op{thread}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert _seqs(station) == (list(range(1, 241)), list(range(1, 241)))


CHILD = """
import sys
from pathlib import Path
from prep.station.station import Station
with Station.open(Path(sys.argv[1])) as station:
    for i in range(int(sys.argv[3])):
        station.acopio(f"{int(sys.argv[2]):06d}B{i:06d}", "op")
"""


def test_seq_is_gap_free_with_two_processes_appending(tmp_path: Path) -> None:
    offline_station(tmp_path).close()
    procs = [subprocess.Popen([sys.executable, "-W", "error", "-c", CHILD, str(tmp_path),
                               str(p), "80"], cwd=REPO, stderr=subprocess.PIPE)
             for p in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    with Station.open(tmp_path) as station:
        assert _seqs(station) == (list(range(1, 161)), list(range(1, 161)))


def test_record_and_outbox_row_are_written_together_or_not_at_all(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        station.acopio(clave(1), "op1")
        with _db(station) as conn:  # the outbox insert fails after the record's insert
            conn.execute("CREATE TRIGGER boom BEFORE INSERT ON outbox "
                         "BEGIN SELECT RAISE(ABORT, 'disco roto'); END")
        with pytest.raises(StationError, match="disco roto"):
            station.acopio(clave(2), "op1")
        assert _seqs(station) == ([1], [1])
        with _db(station) as conn:
            conn.execute("DROP TRIGGER boom")
        assert station.acopio(clave(2), "op1").seq == 2
        assert _seqs(station) == ([1, 2], [1, 2])


def test_operator_errors_are_spanish_and_write_nothing(tmp_path: Path) -> None:
    with Station.open(tmp_path / "nueva") as fresh:
        with pytest.raises(NotEnrolledError, match="no está dada de alta"):
            fresh.acopio(clave(1), "op1")
    with offline_station(tmp_path / "s") as station:
        station.acopio(clave(1), "op1")
        with pytest.raises(StationInputError, match="ya se registró en acopio"):
            station.acopio(clave(1), "op1")
        with pytest.raises(StationInputError, match="ya se registró en acopio"):
            station.sin_acta(clave(1), "paquete_sin_sobre", "op1")
        with pytest.raises(StationInputError, match="La clave de acta «09-001» no es válida"):
            station.acopio("09-001", "op1")
        with pytest.raises(StationInputError, match="Causa de sin acta «lluvia»"):
            station.sin_acta(clave(2), "lluvia", "op1")
        with pytest.raises(StationInputError, match="Registro no válido: PAN"):
            station.captura(clave(1), {"PAN": 10_000}, "cap1", "ab" * 32, None)
        with pytest.raises(StationInputError, match="no es una imagen PNG válida"):
            station.imagen(clave(1), jpeg_bytes(100), "image/png", "op1")
        with pytest.raises(StationInputError, match="máximo es 32 MiB"):
            station.imagen(clave(1), b"\xff\xd8\xff" + bytes(MAX_BLOB_BYTES), "image/jpeg",
                           "op1")
        assert station.store.counts() == (1, 1)
        assert list((tmp_path / "s" / "blobs").rglob("*")) == []


def test_blob_round_trip_keeps_the_original_bytes(tmp_path: Path) -> None:
    image = jpeg_bytes(250_000)
    with offline_station(tmp_path) as station:
        record = station.imagen(clave(5), image, "image/jpeg", "dig1")
        sha = hashlib.sha256(image).hexdigest()
        assert dict(record.body) == {"clave_acta": clave(5), "sha256": sha,
                                     "bytes": len(image), "media_type": "image/jpeg",
                                     "origen": "CATD", "digitalizacion": "Escáner"}
        path = tmp_path / "blobs" / sha[:2] / sha
        assert path.read_bytes() == image
        assert station.blobs.read(sha) == image
        assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
        # The same image again is stored once.
        station.imagen(clave(6), image, "image/jpeg", "dig1")
        assert len([p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]) == 1
        assert station.outbox().backlog() == (2, len(image) + sum(
            len(r[2]) for r in station.store.records()))


def _batches(station: Station) -> list[tuple[int, str, str, bytes]]:
    with _db(station) as conn:
        return list(conn.execute("SELECT number, sha256, prev, body FROM batches "
                                 "ORDER BY number"))


def test_freeze_persists_chained_signed_batches(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        for i in range(450):
            station.acopio(clave(i), "op1")
        outbox = station.outbox()
        assert outbox.freeze_all(200) == 3
        assert outbox.freeze() is None
        rows = _batches(station)
        assert [r[0] for r in rows] == [1, 2, 3]
        seqs: list[int] = []
        prev = GENESIS
        for number, sha, stored_prev, body in rows:
            batch, signature = read_batch(body)
            verify_batch(batch, signature, station.key().public, prev)
            assert (batch.number, batch.station, stored_prev, batch.sha256) == (
                number, STATION_ID, prev, sha)
            assert canonical_hash(parse_json(body, 1 << 24)["batch"]) == sha
            seqs += [r.seq for r in batch.records]
            prev = sha
        assert seqs == list(range(1, 451))
        assert [len(read_batch(r[3])[0].records) for r in rows] == [200, 200, 50]
        with _db(station) as conn:
            assert conn.execute("SELECT count(*) FROM outbox WHERE batch_number IS NULL"
                                ).fetchone() == (0,)


def test_a_damaged_record_is_never_signed_into_a_batch(tmp_path: Path) -> None:
    # Batches are put together from the stored bytes; a row that no longer matches its
    # hash (a damaged disk, a hand edit) stops the freeze instead of going out signed.
    with offline_station(tmp_path) as station:
        for i in range(3):
            station.acopio(clave(i), "op1")
        with _db(station) as conn:
            conn.execute("UPDATE records SET canonical = "
                         "CAST(replace(canonical, 'op1', 'op2') AS BLOB) WHERE seq = 2")
        with pytest.raises(StationError, match="registro 2 no coincide"):
            station.outbox().freeze()
        assert _batches(station) == []


def test_a_station_made_before_the_batch_indexes_gets_them_when_opened(tmp_path: Path) -> None:
    # The status line counts delivered batches from an index instead of reading every
    # batch's body; a data directory from before that index gets it at start.
    with offline_station(tmp_path) as station:
        station.acopio(clave(1), "op1")
        station.outbox().freeze()
        with _db(station) as conn:
            conn.execute("DROP INDEX ix_batches_delivered_at")
            conn.execute("DROP INDEX ix_batches_blocked")
    with Station.open(tmp_path) as again:
        with _db(again) as conn:
            names = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'batches'")}
            plan = " ".join(str(r) for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT count(*), count(delivered_at), max(delivered_at) "
                "FROM batches"))
        assert {"ix_batches_delivered_at", "ix_batches_blocked"} <= names
        assert "COVERING INDEX ix_batches_delivered_at" in plan
        status = again.status()
        assert (status.batches, status.batches_delivered, status.blocked) == (1, 0, None)


def test_retries_get_the_same_bytes_even_after_reopening(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        for i in range(5):
            station.acopio(clave(i), "op1")
        frozen = station.outbox().freeze()
        assert frozen is not None
        station.acopio(clave(99), "op1")  # a newer record does not change batch 1
        assert station.outbox().pending()[0].body == frozen.body
    with Station.open(tmp_path) as again:
        pending = again.outbox().pending()
        assert [(b.number, b.body) for b in pending] == [(1, frozen.body)]
        nxt = again.outbox().freeze()
        assert nxt is not None and nxt.number == 2
        assert read_batch(nxt.body)[0].prev == frozen.sha256
        assert [r.seq for r in read_batch(nxt.body)[0].records] == [6]


def test_reopened_store_is_intact(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        made = [station.acopio(clave(i), "op1") for i in range(20)]
        made.append(station.imagen(clave(1), jpeg_bytes(1000), "image/jpeg", "dig1"))
        station.outbox().freeze(10)
        identity = station.identity
    with Station.open(tmp_path) as again:
        assert again.identity == identity
        stored = again.store.records()
        assert [Record.from_json(parse_json(c, 1 << 16)) for _, _, c in stored] == made
        assert all(hashlib.sha256(c).hexdigest() == sha for _, sha, c in stored)
        status = again.status()
        assert (status.records, status.last_seq, status.batches, status.backlog_records) == (
            21, 21, 1, 21)
        with _db(again) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_cursor_marks_delivered_only_on_a_matching_hash(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        for i in range(30):
            station.acopio(clave(i), "op1")
        outbox: Outbox = station.outbox()
        outbox.freeze_all(10)
        second = outbox.batch(2)
        assert second is not None
        refused = outbox.apply_cursor(2, "ab" * 32)
        assert not refused.ok and "otra huella" in refused.message
        assert len(outbox.pending()) == 3
        done = outbox.apply_cursor(2, second.sha256)
        assert (done.ok, done.marked_delivered) == (True, 2)
        assert [b.number for b in outbox.pending()] == [3]
        assert outbox.backlog()[0] == 10
        # The central lost batch 2 (restored from a backup): it goes again.
        again = outbox.apply_cursor(1, outbox.batch(1).sha256)  # type: ignore[union-attr]
        assert (again.ok, again.resent) == (True, 1)
        assert [b.number for b in outbox.pending()] == [2, 3]


def test_timestamps_come_from_the_injected_clock(tmp_path: Path) -> None:
    import datetime as dt

    skewed = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with offline_station(tmp_path, clock=lambda: skewed) as station:
        assert station.acopio(clave(1), "op1").at == skewed
        frozen = station.outbox().freeze()
        assert frozen is not None and read_batch(frozen.body)[0].created == skewed
