"""A hot standby by PostgreSQL's streaming replication, with real clusters: two embedded
servers on this machine, the second made by ``pg_basebackup`` from the first.

What a coordinator relies on: with the standby named synchronous, a commit on the
primary (a batch's receipt) returns only once the standby has it; while the standby is
down the commit waits, until the standby is back or the coordinator goes asynchronous;
the promoted standby holds every committed row, writes on a new timeline and carries the
central's identity; the primary that was lost stays on the old timeline.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from central.continuity import replication
from central.db.embedded import start_server
from central.node.config import DataDir
from central.node.config import initialize
from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.postgres import server_base


@pytest.fixture
def base() -> Iterator[Path]:
    with server_base("prep-repl-") as path:
        yield path


def _dsn(server: Any) -> str:
    return str(server.get_uri("postgres"))


def _wait(predicate: Any, seconds: float = 120) -> None:
    # The calling line, in the traceback, names what did not happen.
    esperar(predicate, holgado(seconds), "la condición de la línea que llama", cada_s=0.05)


def _rows(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [int(r[0]) for r in conn.execute("SELECT n FROM recibos ORDER BY n")]


def _insert(dsn: str, n: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO recibos VALUES (%s)", (n,))


def _insert_then(dsn: str, n: int, done: threading.Event) -> None:
    _insert(dsn, n)
    done.set()


def _pair(base: Path) -> tuple[DataDir, DataDir, Any, Any]:
    """A primary with a ``recibos`` table and its streaming, synchronous standby."""
    primary, standby = DataDir(base / "primario"), DataDir(base / "standby")
    initialize(primary)
    server_a = start_server(primary.pgdata)
    with psycopg.connect(_dsn(server_a), autocommit=True) as conn:
        conn.execute("CREATE TABLE recibos (n int PRIMARY KEY)")
        conn.execute("INSERT INTO recibos VALUES (1)")
    replication.init_standby(replication.embedded_conninfo(primary), primary, standby)
    server_b = start_server(standby.pgdata)
    replication.wait_streaming(_dsn(server_a))
    replication.set_mode(_dsn(server_a), sincrono=True)
    return primary, standby, server_a, server_b


def test_synchronous_commit_waits_for_the_standby(base: Path) -> None:
    _, _, server_a, server_b = _pair(base)
    primary_dsn, standby_dsn = _dsn(server_a), _dsn(server_b)
    state = replication.status(primary_dsn)
    assert state.modo == "sincrono" and not state.standby
    assert [(r.name, r.state, r.sync_state) for r in state.replicas] == [
        (replication.STANDBY_NAME, "streaming", "sync")]
    assert replication.status(standby_dsn).standby

    _insert(primary_dsn, 2)  # returns only once the standby has flushed it
    _wait(lambda: _rows(standby_dsn) == [1, 2])

    # The standby goes down: a commit on the primary waits for it.
    server_b.cleanup()
    _wait(lambda: not replication.status(primary_dsn).replicas)
    done = threading.Event()
    waiter = threading.Thread(target=_insert_then, args=(primary_dsn, 3, done))
    waiter.start()
    _wait(lambda: _sync_waits(primary_dsn) == 1)
    assert not done.wait(1.0), "the commit returned without the standby"

    # The standby comes back: the commit completes, and the row is on both.
    server_b = start_server(DataDir(base / "standby").pgdata)
    assert done.wait(30)
    waiter.join()
    _wait(lambda: _rows(_dsn(server_b)) == [1, 2, 3])

    # Down again; this time the coordinator goes on asynchronously: the waiting commit
    # is released, and later ones do not wait.
    server_b.cleanup()
    _wait(lambda: not replication.status(primary_dsn).replicas)
    done.clear()
    waiter = threading.Thread(target=_insert_then, args=(primary_dsn, 4, done))
    waiter.start()
    _wait(lambda: _sync_waits(primary_dsn) == 1)
    replication.set_mode(primary_dsn, sincrono=False)
    assert done.wait(holgado(60))
    waiter.join()
    _insert(primary_dsn, 5)
    assert _rows(primary_dsn) == [1, 2, 3, 4, 5]
    assert replication.status(primary_dsn).modo == "sin_standby"
    server_a.cleanup()


def test_promoted_standby_has_every_row_and_the_identity(base: Path) -> None:
    primary, standby, server_a, server_b = _pair(base)
    primary_dsn, standby_dsn = _dsn(server_a), _dsn(server_b)
    for n in range(2, 50):
        _insert(primary_dsn, n)
    old_timeline = replication.status(primary_dsn).timeline

    # The primary's machine dies: its PostgreSQL is killed, not stopped.
    os.kill(server_a.get_pid(), signal.SIGKILL)
    _wait(lambda: not _alive(primary_dsn))

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        _insert(standby_dsn, 100)
    timeline = replication.promote(standby_dsn)
    assert timeline == old_timeline + 1
    state = replication.status(standby_dsn)
    assert not state.standby and state.modo == "sin_standby"
    assert _rows(standby_dsn) == list(range(1, 50))  # every committed row
    _insert(standby_dsn, 100)  # writable, and no commit waits for the lost primary
    with pytest.raises(replication.ContinuityError, match="ya es primario"):
        replication.promote(standby_dsn)

    # The central's identity came with the standby, private.
    for path in (standby.settings, standby.key, standby.cert, standby.tls_key):
        original = primary.root / path.relative_to(standby.root)
        assert path.read_bytes() == original.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    server_b.cleanup()


def test_a_second_standby_init_into_a_used_directory_is_refused(base: Path) -> None:
    primary, standby, server_a, server_b = _pair(base)
    with pytest.raises(replication.ContinuityError, match="ya contiene una base de datos"):
        replication.init_standby(replication.embedded_conninfo(primary), primary, standby)
    other = DataDir(base / "otro")
    initialize(other)  # another central's identity
    with pytest.raises(replication.ContinuityError, match="es de otro nodo central"):
        replication.init_standby(replication.embedded_conninfo(primary), primary, other,
                                 name="prep_standby2")
    server_b.cleanup()
    server_a.cleanup()


def _sync_waits(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity "
                           "WHERE wait_event = 'SyncRep'").fetchone()
        return int(row[0]) if row else 0


def _alive(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False
