"""Backups with PostgreSQL's own tools (pg_basebackup, pg_receivewal) and restore to a
point in time, with a real embedded server: what was committed before the point is
back, what came after is not (the stations send that again), and the identity and the
images come with it."""

from __future__ import annotations

import hashlib
import signal
import stat
import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from central.continuity import backup as respaldo
from central.continuity.replication import ContinuityError
from central.db.embedded import start_server
from central.node.config import DataDir
from central.node.config import initialize
from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.postgres import server_base


@pytest.fixture
def base() -> Iterator[Path]:
    with server_base("prep-backup-") as path:
        yield path


def _rows(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [int(r[0]) for r in conn.execute("SELECT n FROM recibos ORDER BY n")]


def _flushed(dsn: str, lsn: str) -> bool:
    """Whether a WAL receiver reports ``lsn`` flushed (pg_stat_replication)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return bool(conn.execute("SELECT count(*) FROM pg_stat_replication "
                                 "WHERE flush_lsn >= %s::pg_lsn", (lsn,)).fetchone()[0])


def _blob(data_dir: DataDir, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    (data_dir.blobs / sha[:2]).mkdir(exist_ok=True)
    (data_dir.blobs / sha[:2] / sha[2:]).write_bytes(data)
    return sha


def test_restore_to_a_point_in_time(base: Path) -> None:
    central, copy = DataDir(base / "central"), respaldo.BackupDir(base / "respaldo")
    initialize(central)
    server = start_server(central.pgdata)
    dsn = server.get_uri("postgres")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE recibos (n int PRIMARY KEY)")
        conn.execute("INSERT INTO recibos SELECT generate_series(1, 11 - 1)")
    first = _blob(central, b"imagen uno")

    conninfo = respaldo.embedded_replication(central)
    taken = respaldo.base_backup(conninfo, central, copy)
    assert taken.blobs_copied == 1 and taken.bytes > 0
    receiver = respaldo.receive_wal(conninfo, copy)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO recibos SELECT generate_series(11, 21 - 1)")
        time.sleep(1.1)
        point = datetime.now(UTC)
        time.sleep(1.1)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO recibos SELECT generate_series(21, 31 - 1)")
            [(written,)] = conn.execute("SELECT pg_current_wal_lsn()::text").fetchall()
        second = _blob(central, b"imagen dos")
        assert respaldo.copy_blobs(central.blobs, copy.blobs) == 1
        # pg_receivewal --synchronous has flushed the last rows' WAL to the copy.
        esperar(lambda: _flushed(dsn, written), holgado(60),
                f"pg_receivewal no guardó el WAL hasta {written}")
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(30)
    server.cleanup()

    # To the point: the rows committed before it, not those after.
    earlier = DataDir(base / "restaurado")
    used = respaldo.restore(copy, earlier, point)
    assert used == taken.path
    restored = start_server(earlier.pgdata)
    assert _rows(restored.get_uri("postgres")) == list(range(1, 21))
    with psycopg.connect(restored.get_uri("postgres"), autocommit=True) as conn:
        conn.execute("INSERT INTO recibos VALUES (21)")  # promoted: writable
    restored.cleanup()
    for path in (earlier.key, earlier.tls_key, earlier.settings):
        assert path.read_bytes() == (central.root / path.relative_to(earlier.root)).read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for sha in (first, second):
        assert (earlier.blobs / sha[:2] / sha[2:]).exists()

    # To the end of the archive: everything.
    latest = DataDir(base / "ultimo")
    respaldo.restore(copy, latest, None)
    restored = start_server(latest.pgdata)
    assert _rows(restored.get_uri("postgres")) == list(range(1, 31))
    restored.cleanup()

    with pytest.raises(ContinuityError, match="ya contiene una base de datos"):
        respaldo.restore(copy, latest, None)
    with pytest.raises(ContinuityError, match="no hay una copia base completa antes"):
        respaldo.restore(copy, DataDir(base / "otro"), datetime(2020, 1, 1, tzinfo=UTC))


def test_a_damaged_blob_is_not_backed_up(base: Path) -> None:
    central = DataDir(base / "central")
    initialize(central)
    sha = _blob(central, b"imagen")
    (central.blobs / sha[:2] / sha[2:]).write_bytes(b"alterada")
    with pytest.raises(ContinuityError, match="no corresponde a su SHA-256"):
        respaldo.copy_blobs(central.blobs, base / "copia")
