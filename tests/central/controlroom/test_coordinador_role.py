"""The dashboard's actions run as ``prep_coordinador`` and only inside a coordinator's
login (issue 62, «The dashboard's action lane is the schema owner…»).

The audit found the action lane connected as the schema owner and that the
:class:`~central.controlroom.actions.Coordinator` object acted as any coordinator with no
password and no login record. Over a real PostgreSQL, with the login ``prep central
usuario-coordinacion`` makes: nothing is written without a session, a session writes only
as its own coordinator, the role reads no password hash, and the owner's DSN is refused.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from central.controlroom.actions import ActionError
from central.controlroom.actions import Coordinator
from central.controlroom.login import LoginError
from central.controlroom.login import LoginThrottle
from central.controlroom.login import authenticate
from central.db import make_engine
from central.db.auditoria import Anomaly
from central.db.migrate import upgrade
from central.db.privileges import COORDINADOR
from central.db.privileges import COORDINATOR_ROLE
from central.db.read_only import set_read_only_login
from central.stations.operators import add_operator
from prep.cli import main

PASSWORD = "sala-de-control-7"


@pytest.fixture
def central(pg_database: str) -> Iterator[tuple[str, str, dict[str, str], int]]:
    """(owner DSN, actions DSN, accounts by name, an open anomaly's id)."""
    owner = make_engine(pg_database, pool_size=1)
    try:
        upgrade(owner)
        accounts = {name: add_operator(owner, name, role, sitio, PASSWORD, actor="pruebas").id
                    for name, role, sitio in (("Olga Rivas", "coordinador", "CENTRAL"),
                                              ("Pablo Mena", "coordinador", "CENTRAL"),
                                              ("Ana Robles", "capturista", "01"))}
        with Session(owner) as session, session.begin():
            anomaly = Anomaly(type="conflicting_batch", station=None, detail={})
            session.add(anomaly)
            session.flush()
            anomaly_id = anomaly.id
    finally:
        owner.dispose()
    login = set_read_only_login(pg_database, "tablero_acciones", COORDINATOR_ROLE)
    yield pg_database, login.dsn, accounts, anomaly_id
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP OWNED BY tablero_acciones")
        conn.execute("DROP ROLE tablero_acciones")


def _state(dsn: str, anomaly_id: int) -> tuple[object, ...]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT (SELECT acknowledged FROM anomalies WHERE id = %s), "
                           "(SELECT count(*) FROM audit_log)", (anomaly_id,)).fetchone()
    assert row is not None
    return tuple(row)


def _coordinator(dsn: str) -> Coordinator:
    return Coordinator(make_engine(dsn, pool_size=1), dsn=dsn)


def _refused(call: object) -> str:
    with pytest.raises(DBAPIError) as refused:
        call()  # type: ignore[operator]
    assert isinstance(refused.value.orig, errors.InsufficientPrivilege), refused.value
    return str(refused.value.orig)


def test_without_a_login_the_actions_role_acts_as_nobody(
        central: tuple[str, str, dict[str, str], int]) -> None:
    owner, actions, accounts, anomaly_id = central
    before = _state(owner, anomaly_id)
    bare = _coordinator(actions)
    try:
        # The audit's attack: the object told it is a coordinator, with no password.
        posing = replace(bare, actor=accounts["Olga Rivas"])
        assert "sin sesión de coordinador" in _refused(lambda: posing.ack(anomaly_id, "x"))
        # A made-up session token is no session either.
        forged = bare.acting_as(accounts["Olga Rivas"], "ab" * 32)
        try:
            _refused(lambda: forged.ack(anomaly_id, "revisado"))
            _refused(lambda: forged.enrollment_code(1, "catd"))
        finally:
            forged.engine.dispose()
        # Nor by hand, as the login itself.
        with psycopg.connect(actions) as conn:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("UPDATE anomalies SET acknowledged = true")
            conn.rollback()
            with pytest.raises(errors.InsufficientPrivilege):  # no password hash to replay
                conn.execute("SELECT scrypt_hash FROM operators")
            conn.rollback()
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM coordinador_sesiones")
        assert _state(owner, anomaly_id) == before
    finally:
        bare.engine.dispose()


def test_a_login_acts_only_as_its_own_coordinator_and_is_in_the_audit_log(
        central: tuple[str, str, dict[str, str], int]) -> None:
    owner, actions, accounts, anomaly_id = central
    bare = _coordinator(actions)
    throttle = LoginThrottle()
    try:
        with pytest.raises(LoginError, match="incorrectos"):
            authenticate(bare.engine, "Olga Rivas", "no-es-la-clave", throttle, dsn=actions)
        olga = authenticate(bare.engine, "Olga Rivas", PASSWORD, throttle, dsn=actions)
        before = _state(owner, anomaly_id)
        as_olga = bare.acting_as(olga.id, olga.token)
        try:
            # Olga's session cannot write as Pablo.
            as_pablo = replace(as_olga, actor=accounts["Pablo Mena"])
            assert "la sesión abierta es de" in _refused(
                lambda: as_pablo.ack(anomaly_id, "revisado por Pablo"))
            assert _state(owner, anomaly_id) == before
            # Nor make a coordinator account (a second coordinator of her own).
            _refused(lambda: as_olga.operator("Otro Yo", "coordinador", "CENTRAL",
                                              "clave-larga-123"))
            # As herself, it works, and the log says so.
            as_olga.ack(anomaly_id, "revisado: lote repetido de la estación")
        finally:
            as_olga.engine.dispose()
        with psycopg.connect(owner) as conn:
            rows = conn.execute(
                "SELECT event, actor, detail->>'sesion' FROM audit_log "
                "WHERE event IN ('dashboard_login', 'anomaly_acknowledged') ORDER BY id"
            ).fetchall()
            [(opened, operator)] = conn.execute(
                "SELECT abierta_at IS NOT NULL, operator FROM coordinador_sesiones").fetchall()
        assert rows == [("dashboard_login", olga.id, olga.sesion_id),
                        ("anomaly_acknowledged", olga.id, None)]
        assert (opened, operator) == (True, olga.id)
        assert _state(owner, anomaly_id)[0] is True
        # Logged out, the token is worth nothing.
        from central.controlroom.login import close_session
        close_session(bare.engine, olga)
        closed = bare.acting_as(olga.id, olga.token)
        try:
            _refused(lambda: closed.enrollment_code(1, "catd"))
        finally:
            closed.engine.dispose()
    finally:
        bare.engine.dispose()


def test_the_owner_and_non_coordinators_are_refused_at_login(
        central: tuple[str, str, dict[str, str], int]) -> None:
    owner, actions, _accounts, _anomaly = central
    engine: Engine = make_engine(owner, pool_size=1)
    try:
        with pytest.raises(LoginError, match="dueño del esquema o de un superusuario"):
            authenticate(engine, "Olga Rivas", PASSWORD, LoginThrottle(), dsn=owner)
    finally:
        engine.dispose()
    bare = _coordinator(actions)
    try:
        with pytest.raises(LoginError, match="solo para coordinadores"):
            authenticate(bare.engine, "op-01-ana-robles", PASSWORD, LoginThrottle(),
                         dsn=actions)
    finally:
        bare.engine.dispose()


def test_a_corte_outside_the_window_needs_a_reason_and_another_coordinators_session(
        central: tuple[str, str, dict[str, str], int]) -> None:
    owner, actions, _accounts, _anomaly = central
    bare = _coordinator(actions)
    throttle = LoginThrottle()
    try:
        olga = authenticate(bare.engine, "Olga Rivas", PASSWORD, throttle, dsn=actions)
        pablo = authenticate(bare.engine, "Pablo Mena", PASSWORD, throttle, dsn=actions)
        as_olga = bare.acting_as(olga.id, olga.token)
        try:
            for trivial in ("prueba", "x", "ok ok ok", "   "):
                with pytest.raises(ActionError, match=r"(?i)motivo"):
                    as_olga.corte(fuera_de_ventana=trivial, segundo_token=pablo.token)
            reason = "Acuerdo del Consejo: se repite el corte por falla de la red"
            with pytest.raises(ActionError, match="segundo coordinador"):
                as_olga.corte(fuera_de_ventana=reason)
            # Her own session is not a second coordinator, in the database either.
            from central.publication.peticiones import pedir_corte
            assert "otra persona" in _refused(lambda: pedir_corte(
                as_olga.engine, actor=olga.id, ultimo=False, motivo=None,
                fuera_de_ventana=reason, segundo_token=olga.token))
            assert "segundo" in _refused(lambda: pedir_corte(
                as_olga.engine, actor=olga.id, ultimo=False, motivo=None,
                fuera_de_ventana=reason, segundo_token="cd" * 32))
            pedido = pedir_corte(as_olga.engine, actor="lo que sea", ultimo=False,
                                 motivo=None, fuera_de_ventana=reason,
                                 segundo_token=pablo.token)
        finally:
            as_olga.engine.dispose()
        with psycopg.connect(owner) as conn:
            row = conn.execute("SELECT actor, segundo, segundo_token, estado FROM "
                               "corte_peticiones WHERE id = %s", (pedido,)).fetchone()
        # The database names who asked and who confirmed; the token is not kept.
        assert row == (olga.id, pablo.id, None, "pendiente")
    finally:
        bare.engine.dispose()


def test_the_role_holds_exactly_what_privileges_py_decides(
        central: tuple[str, str, dict[str, str], int]) -> None:
    owner = central[0]
    wrong = []
    with psycopg.connect(owner) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT relname::text FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = current_schema()::regnamespace")]
        for table in tables:
            columns = {c for (c,) in conn.execute(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped", (table,))}
            decided = COORDINADOR.get(table, {})
            for privilege in ("SELECT", "INSERT", "UPDATE"):
                held = {c for (c,) in conn.execute(
                    "SELECT attname::text FROM pg_attribute WHERE attrelid = %s::regclass "
                    "AND attnum > 0 AND NOT attisdropped "
                    "AND has_column_privilege(%s, attrelid, attnum, %s)",
                    (table, COORDINATOR_ROLE, privilege))}
                expected = (set() if privilege not in decided
                            else set(decided[privilege]) or columns)
                if held != expected:
                    wrong.append(f"{table} {privilege}: {sorted(held)}")
            for privilege in ("DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"):
                [(has,)] = conn.execute("SELECT has_table_privilege(%s, %s, %s)",
                                        (COORDINATOR_ROLE, table, privilege)).fetchall()
                if has:
                    wrong.append(f"{table} {privilege}")
    assert wrong == []


def test_each_dashboard_login_keeps_its_own_bounds(
        central: tuple[str, str, dict[str, str], int]) -> None:
    """The read-only login stays read-only; the actions login may write (in a session)."""
    owner = central[0]
    set_read_only_login(owner, "tablero_lectura")
    try:
        with psycopg.connect(owner) as conn:
            settings: dict[str, list[str]] = dict(conn.execute(
                "SELECT r.rolname::text, s.setconfig FROM pg_db_role_setting s "
                "JOIN pg_roles r ON r.oid = s.setrole "
                "WHERE r.rolname IN ('tablero_lectura', 'tablero_acciones')").fetchall())
    finally:
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute("DROP ROLE tablero_lectura")
    assert "default_transaction_read_only=on" in settings["tablero_lectura"]
    assert not any(s.startswith("default_transaction_read_only")
                   for s in settings["tablero_acciones"])
    assert "statement_timeout=15s" in settings["tablero_acciones"]


def test_station_disable_at_the_console_acts_as_the_coordinator_who_logs_in(
        central: tuple[str, str, dict[str, str], int], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``prep central station disable --coordinador``: the audit log names the account
    whose password was given, never the desktop's LOGNAME; a wrong password changes
    nothing."""
    owner, _actions, accounts, _anomaly = central
    with psycopg.connect(owner) as conn:
        conn.execute("INSERT INTO stations (id, role, sitio, public_key, hostname, "
                     "enrolled_at) VALUES ('catd-07-x', 'catd', '07', %s, 'h', now())",
                     (bytes(32),))
    monkeypatch.setenv("LOGNAME", "alguien")
    command = ["central", "station", "disable", "catd-07-x", "--motivo", "llave robada",
               "--coordinador", "Olga Rivas", "--password-stdin", "--data-dir",
               str(tmp_path / "central"), "--dsn", owner]
    monkeypatch.setattr("sys.stdin", io.StringIO("no-es-la-suya\n"))
    assert main(command) == 2
    assert "usuario o contraseña incorrectos" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert main(command) == 0
    with psycopg.connect(owner) as conn:
        assert conn.execute("SELECT enabled FROM stations").fetchall() == [(False,)]
        assert conn.execute("SELECT actor FROM audit_log WHERE event = 'station_disabled'"
                            ).fetchall() == [(accounts["Olga Rivas"],)]
