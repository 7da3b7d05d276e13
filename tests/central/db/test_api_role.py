"""The API's PostgreSQL role (issue 33, least privilege): ``prep central serve`` serves as
``prep_api``, which inserts records, batches and audit events but cannot change or
delete them nor alter the schema; every table has its decision in
``central/db/privileges.py`` and the database grants exactly that.

Over a real PostgreSQL and a real ``serve``: as the DBA of docs/seguridad.md sets it up
(the roles made by hand, ``init`` as the owner, ``serve`` with its own login) and as
the embedded node runs (one superuser DSN, serve acting as ``prep_api``)."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from typing import LiteralString

import psycopg
import pytest
from alembic import command
from psycopg import errors
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine

from central.db import make_engine
from central.db.migrate import alembic_config
from central.db.privileges import API_OPTIONS
from central.db.privileges import API_ROLE
from central.db.privileges import READ_ROLE
from central.db.privileges import TABLES
from prep.catalog import Catalog
from prep.records import Kind
from prep.selftest import EXIT_DATABASE
from tests.central.station import Station
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.coordinador import LOGIN
from tests.harness.coordinador import STDIN
from tests.harness.coordinador import coordinador
from tests.harness.work import WorkStation
from tests.harness.work import capturistas
from tests.harness.work import load_catalog
from tests.harness.work import truth

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
DOC = REPO / "docs" / "seguridad.md"


@pytest.fixture
def service_login(pg_dsn: str) -> Iterator[str]:
    """The service's own login, made as docs/seguridad.md tells the DBA (before
    ``init``: the role first, then a login in it); dropped afterwards."""
    name = f"prep_servicio_{secrets.token_hex(4)}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                        (API_ROLE,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(API_ROLE)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
            sql.Identifier(name), sql.Identifier(API_ROLE)))
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def _rows(dsn: str, statement: LiteralString, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def test_every_table_has_a_decision_and_the_database_grants_exactly_it(
        migrated: Engine, pg_database: str) -> None:
    tables = {t for (t,) in _rows(pg_database, """
        SELECT relname::text FROM pg_class
        WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')""")}
    assert tables - TABLES.keys() == set(), \
        "tablas sin decisión de permisos en central/db/privileges.py"
    assert TABLES.keys() - tables == set(), "decisiones de tablas que ya no existen"
    wrong = []
    for table, grants in sorted(TABLES.items()):
        columns = {c for (c,) in _rows(pg_database, """
            SELECT attname::text FROM pg_attribute
            WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped""", table)}
        for privilege in PRIVILEGES:
            [(held,)] = _rows(pg_database, "SELECT has_table_privilege(%s, %s, %s)",
                              API_ROLE, table, privilege)
            if held != (privilege in grants.api):
                wrong.append(f"{table}: {API_ROLE} {privilege} = {held}")
        updatable = {c for (c,) in _rows(pg_database, """
            SELECT attname::text FROM pg_attribute WHERE attrelid = %s::regclass
              AND attnum > 0 AND NOT attisdropped
              AND has_column_privilege(%s, attrelid, attnum, 'UPDATE')""", table, API_ROLE)}
        expected = columns if "UPDATE" in grants.api else set(grants.api_update)
        if updatable != expected:
            wrong.append(f"{table}: {API_ROLE} UPDATE columns {sorted(updatable)}")
        readable = {c for (c,) in _rows(pg_database, """
            SELECT attname::text FROM pg_attribute WHERE attrelid = %s::regclass
              AND attnum > 0 AND NOT attisdropped
              AND has_column_privilege(%s, attrelid, attnum, 'SELECT')""", table, READ_ROLE)}
        lectura = (columns if grants.lectura is True
                   else set(grants.lectura) if grants.lectura else set())
        if readable != lectura:
            wrong.append(f"{table}: {READ_ROLE} SELECT columns {sorted(readable)}")
    assert wrong == []
    # A sequence is usable exactly where the API inserts into the table it numbers.
    sequences = _rows(pg_database, """
        SELECT t.relname::text, has_sequence_privilege(%s, s.oid, 'USAGE')
        FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype = 'a'
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE s.relkind = 'S' AND s.relnamespace = current_schema()::regnamespace""",
                      API_ROLE)
    assert sequences and all(usable == ("INSERT" in TABLES[table].api)
                             for table, usable in sequences), sequences
    # Owns nothing, creates nothing; takes the locks and sends the notifications the
    # central's own code and the dashboard triggers need (revoked from PUBLIC in 0011).
    [role] = _rows(pg_database, """
        SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls,
               (SELECT count(*) FROM pg_class WHERE relowner = r.oid),
               has_schema_privilege(r.oid, current_schema(), 'CREATE'),
               has_schema_privilege(r.oid, current_schema(), 'USAGE'),
               has_database_privilege(r.oid, current_database(), 'CREATE'),
               has_function_privilege(r.oid, 'pg_notify(text, text)', 'EXECUTE'),
               has_function_privilege(r.oid, 'pg_advisory_xact_lock(bigint)', 'EXECUTE'),
               has_function_privilege(r.oid, 'pg_advisory_xact_lock(integer, integer)',
                                      'EXECUTE')
        FROM pg_roles r WHERE rolname = %s""", API_ROLE)
    assert role == (False, False, False, False, False, 0, False, True, False,
                    True, True, True)


def test_the_dbas_table_in_the_docs_says_what_the_code_decides() -> None:
    def cell(columns: tuple[str, ...]) -> str:
        return ", ".join(f"`{c}`" for c in columns)

    expected = [
        f"| `{table}` | {', '.join(g.api) or '—'} | {cell(g.api_update) or '—'} | "
        f"{'sí' if g.lectura is True else cell(g.lectura) if g.lectura else 'no'} | "
        f"{g.why} |" for table, g in TABLES.items()]
    section = DOC.read_text(encoding="utf-8").split("### Qué puede cada rol en cada tabla")[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows == expected


REFUSED: list[LiteralString] = [
    "UPDATE records SET operator = 'otro'",
    "DELETE FROM records",
    "UPDATE batches SET receipt = NULL",
    "DELETE FROM batches",
    "UPDATE audit_log SET actor = 'otro'",
    "DELETE FROM audit_log",
    "TRUNCATE records, batches, audit_log",
    "ALTER TABLE records DISABLE TRIGGER records_append_only",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "CREATE TABLE propia (x int)",
    "UPDATE stations SET enabled = true",
    "UPDATE operators SET enabled = true",
    "INSERT INTO enrollment_codes (code_sha256, role, sitio, created_at, created_by, "
    "expires_at) VALUES (repeat('0', 64), 'catd', '07', now(), 'x', now() + '1 day')",
    "UPDATE publicacion SET inicio = now(), fin = now() + interval '1 day'",
    "DELETE FROM leases",
    "UPDATE installation SET simulacro = NOT simulacro",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_the_api_role_is_refused_changing_facts_and_the_schema(
        shared_central: CentralNode, statement: LiteralString) -> None:
    station = Station.enroll(shared_central)
    assert station.post(station.batch(station.records(2))[1])[0] == 200
    counts: LiteralString = ("SELECT (SELECT count(*) FROM records), "
                             "(SELECT count(*) FROM batches), (SELECT count(*) FROM audit_log)")
    before = query(shared_central.dsn, counts)
    # As serve connects: the node's DSN acting as prep_api from the connection's start.
    with psycopg.connect(shared_central.dsn, options=API_OPTIONS) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (API_ROLE,)
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute(statement)
    # Refused by the privileges, not by the append-only triggers behind them.
    assert ("permission denied" in str(refused.value)
            or "must be owner" in str(refused.value)), refused.value
    assert query(shared_central.dsn, counts) == before


def test_serve_acts_as_the_api_role_even_given_the_owners_dsn(
        central_node: CentralNode) -> None:
    """Take one privilege from prep_api: the superuser-DSN serve loses it too (so every
    serve test runs under prep_api), and gets it back with the grant."""
    station = Station.enroll(central_node)
    _, body = station.batch(station.records(1))
    with psycopg.connect(central_node.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("REVOKE INSERT ON records FROM {}").format(
            sql.Identifier(API_ROLE)))
    status, answer = station.post(body)
    assert status == 503, answer  # the station keeps the batch and sends it again
    assert query(central_node.dsn, "SELECT count(*) FROM records") == [(0,)]
    with psycopg.connect(central_node.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT INSERT ON records TO {}").format(
            sql.Identifier(API_ROLE)))
    assert station.post(body)[0] == 200
    assert query(central_node.dsn, "SELECT count(*) FROM records") == [(1,)]


def test_the_whole_serve_path_works_with_the_service_login(
        pg_dsn: str, tmp_path: Path, service_login: str) -> None:
    """The DBA's set-up: init as the owner, serve with a login of prep_api only. A
    station enrolls, sends acopio and images, two operators lease and capture an acta
    until it is validated, the último corte is made as the API role; then the audit
    chain verifies and the acta state rebuilds from the records."""
    with running_central(tmp_path / "central", pg_dsn, serve_user=service_login) as node:
        assert _rows(node.serve_dsn, "SELECT current_user, session_user") == [
            (service_login, service_login)]
        catalog = load_catalog(node)
        _capture_until_validated(node, catalog)
        # The Consejo's window is the owner's to fix; the corte (here the último, which
        # closes the publication) is the API's, as serve's scheduler makes it.
        ventana = central_cli(node, "ventana", "--inicio", "ahora")
        assert ventana.returncode == 0, ventana.stderr
        coordinador(node.dsn)  # the último is a coordinator's (logged in)
        done = subprocess.run(
            [sys.executable, "-m", "prep", "central", "corte", "--data-dir",
             str(node.data_dir), "--dsn", node.serve_dsn, "--publicacion",
             str(tmp_path / "publicacion"), "--ultimo", *LOGIN], cwd=REPO,
            capture_output=True, text=True, timeout=120, check=False, input=STDIN)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["actas_capturadas"] == 1
        node.stop()
        verified = central_cli(node, "verify-audit")
        assert verified.returncode == 0 and "Bitácora íntegra" in verified.stdout, verified
        rebuilt = central_cli(node, "rebuild-state", "--check")
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        events = {e for (e,) in query(node.dsn, "SELECT DISTINCT event FROM audit_log")}
        assert {"station_enrolled", "corte_published", "publication_closed"} <= events, \
            events


def _capture_until_validated(node: CentralNode, catalog: Catalog) -> None:
    acta = next(a for a in catalog.iter_actas() if a.casilla.distrito_id == 1)
    ana, beto = capturistas(node)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour:
            await station.digitize([acta])
            [first] = await station.next(ana)
            renewed = await station.lease_action(first["lease_id"], "renew")
            assert renewed.status == 200, renewed.body
            await station.capture(ana, first, truth(acta))
            [second] = await neighbour.next(beto)
            await neighbour.capture(beto, second, truth(acta))
            await neighbour.send([(Kind.HEARTBEAT, "", {
                "version": "pruebas", "backlog": 0, "backlog_bytes": 0,
                "last_error": ""})])

    asyncio.run(scenario())
    assert query(node.dsn, "SELECT estado FROM acta_states WHERE clave_acta = %s",
                 acta.clave) == [("validada",)]
    assert query(node.dsn, "SELECT count(*) FROM leases WHERE status = 'completed'") \
        == [(2,)]


def test_serve_with_the_service_login_on_an_old_schema_says_who_migrates(
        pg_database: str, service_login: str, tmp_path: Path) -> None:
    init = subprocess.run([sys.executable, "-m", "prep", "central", "init", "--data-dir",
                           str(tmp_path / "central"), "--dsn", pg_database], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert init.returncode == 0, init.stderr
    engine = make_engine(pg_database, pool_size=1)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0018")
    finally:
        engine.dispose()
    with psycopg.connect(pg_database, autocommit=True) as conn:  # 0018 as the DBA had it
        conn.execute(sql.SQL("GRANT SELECT ON alembic_version TO {}").format(
            sql.Identifier(API_ROLE)))
    done = subprocess.run(
        [sys.executable, "-m", "prep", "central", "serve", "--data-dir",
         str(tmp_path / "central"), "--dsn", make_conninfo(pg_database, user=service_login),
         "--port", "0"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "revisión 0018" in done.stderr and "prep central init" in done.stderr, done.stderr


def test_the_self_test_and_commands_say_when_the_dsn_cannot_act_as_the_api_role(
        pg_database: str, pg_dsn: str, service_login: str, tmp_path: Path) -> None:
    data_dir = str(tmp_path / "central")
    init = subprocess.run([sys.executable, "-m", "prep", "central", "init", "--data-dir",
                           data_dir, "--dsn", pg_database], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert init.returncode == 0, init.stderr
    outsider = f"prep_ajeno_{secrets.token_hex(4)}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(outsider)))
    try:
        answers = {user: subprocess.run(
            [sys.executable, "-m", "prep", "central", "self-test", "--data-dir", data_dir,
             "--dsn", make_conninfo(pg_database, user=user)], cwd=REPO, capture_output=True,
            text=True, timeout=120, check=False) for user in (service_login, outsider)}
        corte = subprocess.run(
            [sys.executable, "-m", "prep", "central", "corte", "--data-dir", data_dir,
             "--dsn", make_conninfo(pg_database, user=outsider)], cwd=REPO,
            capture_output=True, text=True, timeout=120, check=False)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(outsider)))
    assert f"serve atenderá como {API_ROLE}" in answers[service_login].stdout, \
        answers[service_login].stdout
    refused = answers[outsider]
    assert refused.returncode == EXIT_DATABASE, refused.stdout + refused.stderr
    assert "no podrá atender" in refused.stdout and f"GRANT {API_ROLE} TO" in refused.stdout
    # A command that acts as prep_api says the same, not «no se pudo conectar».
    assert corte.returncode == 2 and "Traceback" not in corte.stderr, corte.stderr
    assert f"GRANT {API_ROLE} TO" in corte.stderr, corte.stderr
