"""The coordinator's commands take their actor from a login, not from ``LOGNAME`` (issue
62, «Coordinator commands take their actor from a login»): over a real PostgreSQL, each
of them without ``--coordinador`` is refused with a Spanish message and exit code 2 and
writes nothing (no change, no audit row); with the login, the audit log names the
account. The technician's commands say they are a technician's (``tecnico:<cuenta>``),
never a coordinator's."""

from __future__ import annotations

import io
from pathlib import Path

import psycopg
import pytest

from central.db import make_engine
from central.db.migrate import upgrade
from central.stations.difusores import alta
from central.stations.nodes import add_node
from central.stations.operators import add_operator
from prep.cli import main
from tests.harness.coordinador import CLAVE
from tests.harness.coordinador import NOMBRE
from tests.harness.coordinador import coordinador
from tests.harness.netns_targets import make_identity

STATION = "catd-07-x"


def _central(dsn: str, tmp_path: Path) -> dict[str, str]:
    """A central with one of each thing a coordinator may revoke; their ids."""
    engine = make_engine(dsn, pool_size=1)
    try:
        upgrade(engine)
        operator = add_operator(engine, "Ana Robles", "capturista", "07",
                                "contraseña de prueba larga", actor="pruebas").id
        difusor = alta(engine, "Universidad de prueba", "https://espejo.example.org",
                       actor="pruebas").id
        for name in ("a", "b"):
            tls = make_identity(tmp_path, f"nodo-{name}")
            add_node(engine, f"https://10.0.0.{ord(name)}:8443",
                     tls.cert_file.read_text(encoding="ascii"), reserva=False,
                     actor="pruebas")
    finally:
        engine.dispose()
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO stations (id, role, sitio, public_key, hostname, "
                     "enrolled_at) VALUES (%s, 'catd', '07', %s, 'h', now())",
                     (STATION, bytes(32)))
    return {"operator": operator, "difusor": difusor, "coordinador": coordinador(dsn)}


def _state(dsn: str) -> tuple[object, ...]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM audit_log), "
            "(SELECT enabled FROM stations WHERE id = %s), "
            "(SELECT string_agg(id || ':' || enabled::text || ':' || "
            "encode(scrypt_hash, 'hex'), ',' ORDER BY id) FROM operators), "
            "(SELECT count(*) FROM central_nodes WHERE NOT removed), "
            "(SELECT string_agg(id || ':' || enabled::text, ',') FROM difusores), "
            "(SELECT count(*) FROM catd_estado_oculto)", (STATION,)).fetchone()
    assert row is not None
    return tuple(row)


def test_a_coordinator_command_without_a_login_is_refused_and_writes_nothing(
        pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    ids = _central(pg_database, tmp_path)
    monkeypatch.setenv("LOGNAME", "alguien")
    monkeypatch.setenv("USER", "alguien")
    where = ["--data-dir", str(tmp_path / "central"), "--dsn", pg_database]
    commands = [
        ["station", "disable", STATION, "--motivo", "llave robada"],
        ["station", "enable", STATION],
        ["operator", "disable", ids["operator"]],
        ["operator", "enable", ids["operator"]],
        ["operator", "password", ids["operator"], "--password-stdin"],
        ["nodos", "quitar", "--url", "https://10.0.0.97:8443", "--motivo", "se retira"],
        ["difusor", "baja", ids["difusor"], "--motivo", "dejó de replicar"],
        ["catd-estado", "ocultar", "--catd", "7", "--motivo", "equipo en revisión"],
        ["revocaciones", "confirmar", "--motivo", "la coordinación lo decidió"],
        ["reabrir-publicacion", "--motivo", "acuerdo del Consejo"],
        ["corte", "--ultimo", "--motivo", "100 % de las actas",
         "--publicacion", str(tmp_path / "publicacion")],
    ]
    assert main(["central", "init", *where]) == 0  # the corte needs the node's key
    capsys.readouterr()
    before = _state(pg_database)
    for command in commands:
        monkeypatch.setattr("sys.stdin", io.StringIO("otra-clave-segura-8\n"))
        assert main(["central", *command, *where]) == 2, command
        err = capsys.readouterr().err
        assert "esta orden es de un coordinador" in err and "--coordinador" in err, command
        assert "No se cambió nada" in err
        assert _state(pg_database) == before, command
    assert not (tmp_path / "publicacion").exists()

    # A wrong password is refused the same way.
    monkeypatch.setattr("sys.stdin", io.StringIO("no-es-la-suya\n"))
    assert main(["central", "station", "disable", STATION, "--motivo", "llave robada",
                 "--coordinador", NOMBRE, "--password-stdin", *where]) == 2
    assert "usuario o contraseña incorrectos" in capsys.readouterr().err
    assert _state(pg_database) == before

    # Logged in: done, and the audit log names the account, not LOGNAME.
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{CLAVE}\n"))
    assert main(["central", "difusor", "baja", ids["difusor"], "--motivo",
                 "dejó de replicar", "--coordinador", NOMBRE, "--password-stdin",
                 *where]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{CLAVE}\notra-clave-segura-8\n"))
    assert main(["central", "operator", "password", ids["operator"], "--coordinador",
                 NOMBRE, "--password-stdin", *where]) == 0
    with psycopg.connect(pg_database) as conn:
        actors = conn.execute("SELECT event, actor FROM audit_log WHERE event IN "
                              "('difusor_baja', 'operator_password_set') ORDER BY id"
                              ).fetchall()
    assert actors == [("difusor_baja", ids["coordinador"]),
                      ("operator_password_set", ids["coordinador"])]


def test_a_technician_s_command_says_it_is_a_technician_s(
        pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _central(pg_database, tmp_path)
    monkeypatch.setenv("LOGNAME", "maria")
    monkeypatch.setenv("USER", "maria")
    assert main(["central", "enroll-code", "--catd", "7", "--data-dir",
                 str(tmp_path / "central"), "--dsn", pg_database]) == 0
    capsys.readouterr()
    with psycopg.connect(pg_database) as conn:
        actor = conn.execute("SELECT actor FROM audit_log WHERE event = "
                             "'enrollment_code_created' ORDER BY id DESC LIMIT 1").fetchone()
    assert actor == ("tecnico:maria",)
