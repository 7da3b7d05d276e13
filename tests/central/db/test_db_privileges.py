"""A read-only login cannot stop the central, and the central's own lock waits are
bounded (issue 36): the attack of the audit (a dashboard login holding the advisory
locks ingest waits on) over a real ``serve`` and PostgreSQL, and what it leaves now."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import errors
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy import text

from central.audit.audit import AUDIT_LOCK
from central.db import make_engine
from central.db import upgrade
from central.db.locks import LOCK_TIMEOUT
from central.db.locks import DatabaseBusy
from central.db.locks import lock_wait
from central.db.read_only import STATEMENT_TIMEOUT
from central.db.read_only import set_read_only_login
from central.pipeline.apply import PIPELINE_LOCK
from central.publication.corte import CORTE_LOCK
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.publicar import CorteError
from prep.crypto import SigningKey
from tests.central.station import Station
from tests.central.station import error_of
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.espera import holgado
from tests.harness.espera import sin_colgarse


@pytest.fixture
def login_name(pg_dsn: str) -> Iterator[str]:
    """A fresh login name; the role (cluster-wide) is dropped afterwards."""
    name = f"tablero_{secrets.token_hex(4)}"
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def _as_attacker(login_dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    """The login, with the defaults a hostile client would switch off first."""
    conn = psycopg.connect(login_dsn, autocommit=True)
    conn.execute("SET default_transaction_read_only = off")
    conn.execute("SET statement_timeout = 0")
    return conn


@pytest.mark.parametrize("statement", [
    "SELECT pg_advisory_lock(1347568976, 4)",           # ingest's pipeline lock
    "SELECT pg_advisory_lock(1)",
    "SELECT pg_advisory_lock_shared(1347568976, 1)",    # the audit chain's
    "SELECT pg_try_advisory_lock(1347568976, 70)",      # the corte's
    "SELECT pg_try_advisory_lock_shared(1)",
    "SELECT pg_advisory_xact_lock(1)",
    "SELECT pg_try_advisory_xact_lock(1, 2)",
    "SELECT pg_notify('prep_dashboard', 'acta_states')",
    "CREATE TEMP TABLE relleno (x text)",
    "SELECT lo_from_bytea(0, 'relleno')",
])
def test_the_read_only_login_is_refused_what_could_stop_the_central(
        migrated: Engine, pg_database: str, login_name: str, statement: str) -> None:
    login = set_read_only_login(pg_database, login_name)
    with _as_attacker(login.dsn) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement)  # constant SQL from the list above
    # The central's own user still takes them (ingest, cortes, the dashboard triggers).
    with migrated.connect() as central:
        assert central.execute(text("SELECT pg_try_advisory_xact_lock(1347568976, 4)")).scalar()
        central.execute(text("SELECT pg_notify('prep_dashboard', 'x')"))
        central.execute(text("CREATE TEMP TABLE propia (x int)"))


def test_a_read_only_statement_is_cut_by_its_timeout(
        migrated: Engine, pg_database: str, login_name: str) -> None:
    login = set_read_only_login(pg_database, login_name)
    with psycopg.connect(login.dsn, autocommit=True) as conn:
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1min",)
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SHOW statement_timeout").fetchone() == (STATEMENT_TIMEOUT,)
        # An hour's statement, cut by the timeout (not by the test's bound).
        with pytest.raises(errors.QueryCanceled, match="statement timeout"):
            sin_colgarse(lambda: conn.execute("SELECT pg_sleep(3600)"), 60,
                         "la consulta de una hora no se cortó", al_colgarse=conn.cancel)
    assert STATEMENT_TIMEOUT == "15s"
    assert query(pg_database, "SELECT rolconnlimit FROM pg_roles WHERE rolname = %s",
                 login_name) == [(10,)]


def test_the_migration_bounds_a_login_made_before_it(pg_database: str, pg_dsn: str,
                                                      login_name: str) -> None:
    engine = make_engine(pg_database)
    try:
        upgrade(engine, "0010")
        with psycopg.connect(pg_dsn, autocommit=True) as conn:  # as docs/dashboard.md said
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE prep_lectura").format(
                sql.Identifier(login_name)))
        upgrade(engine)
    finally:
        engine.dispose()
    member = psycopg.conninfo.make_conninfo(pg_database, user=login_name)
    with psycopg.connect(member, autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("15s",)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT pg_advisory_lock(1347568976, 4)")


def test_a_lock_wait_that_runs_out_is_a_spanish_busy_error(migrated: Engine,
                                                          pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", AUDIT_LOCK)
        with migrated.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "10s"
            # An hour otherwise, so only lock_wait's own 0.3 s can end the wait in time.
            conn.execute(text("SET lock_timeout = '1h'"))

            def wait_briefly() -> None:
                with lock_wait(conn, timedelta(seconds=0.3)):
                    conn.execute(text("SELECT pg_advisory_lock(1347568976, 1)"))
            with pytest.raises(DatabaseBusy) as busy:
                sin_colgarse(wait_briefly, 60, "lock_wait no cortó la espera del candado",
                             al_colgarse=lambda: holder.execute(
                                 "SELECT pg_advisory_unlock_all()"))
            assert "está ocupada" in str(busy.value) and "0.3 s" in str(busy.value)
            # Back to the connection's own value, not the one it had when it started.
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "10s"


def test_a_corte_behind_a_stuck_lock_gives_up_and_says_why(migrated: Engine,
                                                           pg_database: str,
                                                           tmp_path: Path) -> None:
    settings = CorteSettings(tmp_path / "publicacion", blobs=None, sitio=False)
    with psycopg.connect(pg_database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", CORTE_LOCK)
        with pytest.raises(CorteError, match="otro corte lleva más de 1 s en curso"):
            sin_colgarse(lambda: make_corte(
                migrated, SigningKey.generate(), settings, motivo="a_pedido",
                actor="pruebas", lock_wait=timedelta(seconds=1)), 60,
                "el corte no se rindió ante el candado de otro corte")
    reasons = query(pg_database, "SELECT detail->>'reason' FROM audit_log "
                                 "WHERE event = 'corte_failed'")
    assert len(reasons) == 1 and "otro corte" in str(reasons[0][0])
    assert not (tmp_path / "publicacion").exists()


def test_a_stuck_lock_holder_no_longer_freezes_ingest_nor_health(
        central_node: CentralNode) -> None:
    """The audit's attack: the locks every batch and every refusal wait on, held (here
    by the owner: a read-only login can no longer take them) while ten stations send."""
    stations = [Station.enroll(central_node) for _ in range(10)]
    bodies = [s.batch(s.records(2))[1] for s in stations]
    holder = psycopg.connect(central_node.dsn, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s, %s)", PIPELINE_LOCK)
    holder.execute("SELECT pg_advisory_lock(%s, %s)", AUDIT_LOCK)
    released = threading.Event()
    let_go = threading.Event()  # the holder gave up its locks

    def release_at_the_latest() -> None:
        # On the code before the fix every request hangs until this: fail, not hang.
        # Far past ten requests' two rounds of lock_timeout on this machine now.
        if not released.wait(holgado(4 * LOCK_TIMEOUT.total_seconds() + 60)):
            let_go.set()
            holder.close()

    threading.Thread(target=release_at_the_latest, daemon=True).start()

    def post(station_body: tuple[Station, bytes]) -> tuple[int, bytes, bool]:
        # A client's bound past the two rounds of lock_timeout, on this machine now.
        status, body = central_node.request("POST", "/v1/batches", station_body[1],
                                            timeout=holgado(120))
        return status, body, not let_go.is_set()

    def health() -> tuple[int, bool]:
        time.sleep(0.5)  # behind the batches, as in the audit
        status, _ = central_node.request("GET", "/v1/health", timeout=holgado(120))
        return status, not let_go.is_set()

    try:
        with ThreadPoolExecutor(12) as pool:
            answers = pool.map(post, zip(stations, bodies, strict=True))
            health_answer = pool.submit(health)
            answers_list = list(answers)
            health_status, health_held = health_answer.result()
    finally:
        released.set()
        holder.close()
    # Every answer came while the locks were still held: nothing waited for the holder.
    assert health_status == 200 and health_held
    for status, body, held in answers_list:
        assert status == 503, body
        assert held, "un lote esperó a que se soltara el candado"
        code, message = error_of(body)
        assert code == "database_busy" and "vuelva a intentar" in message, message
    # Nothing was lost: the same bytes again, once the holder is gone, are accepted.
    for station, body in zip(stations, bodies, strict=True):
        status, answer = station.post(body)
        assert status == 200, answer


def test_the_read_only_login_cannot_flood_the_serve_nodes_log_through_notify(
        central_node: CentralNode, login_name: str) -> None:
    """Issue 62: NOTIFY is a command every login may send on any channel; 300 unreadable
    payloads on ``prep_trabajo`` from the dashboard's read-only login wrote 300 lines in
    every serve node's log. Now one line per kind of problem and minute."""
    from central.pipeline.ingest import WORK_CHANNEL
    from tests.harness.espera import esperar

    login = set_read_only_login(central_node.dsn, login_name)
    esperar(lambda: query(central_node.dsn, "SELECT count(*) FROM pg_stat_activity WHERE "
                          "application_name = 'prep-central-trabajo' "
                          "AND datname = current_database()") == [(1,)], 60,
            "el nodo escucha los avisos de trabajo de otros nodos")
    with _as_attacker(login.dsn) as conn:
        for number in range(300):
            conn.execute(sql.SQL("NOTIFY {}, {}").format(
                sql.Identifier(WORK_CHANNEL), sql.Literal(f"relleno {number} " + "x" * 200)))
        # Another kind of problem, sent last: once it is in the log, so are the others
        # (a listener gets notifications in the order they were sent).
        conn.execute(sql.SQL("NOTIFY {}, {}").format(sql.Identifier(WORK_CHANNEL),
                                                     sql.Literal('{"fin": 1}')))
    log = central_node.wait_for_log('"fin"')
    lines = [line for line in log.splitlines() if "aviso de trabajo ilegible" in line]
    assert len(lines) == 2, lines[:5]
