"""A restore no longer undoes revocations in silence (issue 62).

The audit's attack with real parts: a central on its own embedded PostgreSQL, a
continuous backup (``prep central backup --continuo``: pg_basebackup, pg_receivewal),
then a station disabled as «llave robada» and an operator disabled; the central is
restored (``prep central restore``) to a moment before them. The restored database has
both enabled again, as PostgreSQL must; what is new is that the copy of the audit chain
kept outside the database (the data directory's anchor, copied by the backup) makes
``restore`` list them, ``serve`` refuse to start until a coordinator acts, and
``prep central revocaciones reaplicar`` put them back, audited.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from central.db.embedded import start_server
from central.node.config import DataDir
from prep.bundle import BUNDLE_PATH
from tests.central.station import Station
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.central import embedded_dsn
from tests.harness.coordinador import LOGIN
from tests.harness.coordinador import STDIN
from tests.harness.coordinador import coordinador
from tests.harness.espera import esperar
from tests.harness.postgres import server_base
from tests.harness.work import site_account

BOUND_S = 120.0


@pytest.fixture
def base() -> Iterator[Path]:
    with server_base("prep-restore-rev-") as path:
        yield path


def _central(data_dir: Path, *args: str, dsn: str | None = None,
             timeout: float = 300, login: bool = False) -> subprocess.CompletedProcess[str]:
    """``prep central ARGS``; ``login``: as the test coordinator (made before the backup,
    so the restored database has the account too)."""
    extra = [] if dsn is None else ["--dsn", dsn]
    return subprocess.run([sys.executable, "-m", "prep", "central", *args,
                           *(LOGIN if login else ()), "--data-dir", str(data_dir), *extra],
                          cwd=REPO, capture_output=True, input=STDIN if login else None,
                          text=True, timeout=timeout, check=False)


def _one(dsn: str, sql: str, *params: object) -> object:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def _rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def _ended(receiver: subprocess.Popen[bytes], backup: Path) -> str | None:
    if receiver.poll() is None:
        return None
    return (f"prep central backup terminó ({receiver.returncode}): "
            + (backup.parent / "respaldo.log").read_text("utf-8", "replace")[-2000:]
            + (backup / "pg_receivewal.log").read_text("utf-8", "replace")[-2000:])


def _ancla_text(path: Path) -> str:
    return "".join(p.read_text("utf-8") for p in sorted(path.glob("bitacora*.jsonl")))


def test_a_restore_lists_the_revocations_it_undid_and_serve_waits_for_a_coordinator(
        base: Path) -> None:
    node = CentralNode(base, None)
    node.start()
    backup = base / "respaldo"
    receiver: subprocess.Popen[bytes] | None = None
    try:
        station = Station.enroll(node, catd=7)
        operator = site_account(node, "capturista", "07")
        coordinador(node.dsn)
        with (base / "respaldo.log").open("wb") as log:
            receiver = subprocess.Popen(
                [sys.executable, "-m", "prep", "central", "backup", "--data-dir",
                 str(node.data_dir), "--destino", str(backup), "--continuo", "--cada",
                 "0.2"], cwd=REPO, stdout=subprocess.PIPE, stderr=log)
        assert receiver.stdout is not None
        taken = json.loads(receiver.stdout.readline())  # the base backup is whole
        assert taken["wal_continuo"] is True
        # The moment to restore to: after the base backup, before the revocations.
        point: datetime = _one(node.dsn, "SELECT now()")  # type: ignore[assignment]

        for args in (("station", "disable", station.id, "--motivo", "llave robada"),
                     ("operator", "disable", operator)):
            done = _central(node.data_dir, *args, dsn=node.dsn, login=True)
            assert done.returncode == 0, done.stderr
        after = _one(node.dsn, "SELECT pg_current_wal_lsn()::text")
        # The backup has the WAL of both (its slot confirmed past them) and the anchor.
        esperar(lambda: _one(node.dsn, "SELECT coalesce(max(flush_lsn) >= %s::pg_lsn, "
                             "false) FROM pg_stat_replication", after), BOUND_S,
                "pg_receivewal recibió el WAL", vivo=lambda: _ended(receiver, backup))
        esperar(lambda: "operator_disabled" in _ancla_text(backup / "ancla"), BOUND_S,
                "el respaldo copió el ancla con las revocaciones")
    finally:
        if receiver is not None:
            receiver.send_signal(signal.SIGTERM)
            receiver.wait(60)
            assert receiver.stdout is not None
            receiver.stdout.close()
        node.stop()

    # The restore, to the moment before the revocations.
    restored = DataDir(base / "restaurado" / "central")
    done = _central(restored.root, "restore", "--respaldo", str(backup), "--hasta",
                    point.isoformat())
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout.splitlines()[0])["revocaciones_pendientes"]
    assert {(r["tipo"], r["sujeto"]) for r in listed} == {("equipo", station.id),
                                                          ("operador", operator)}
    assert "ATENCIÓN" in done.stderr and "llave robada" in done.stderr
    assert f"operador {operator}" in done.stderr
    assert "prep central revocaciones reaplicar" in done.stderr

    again = CentralNode(base / "restaurado", None)  # init: the schema as it is
    server = start_server(restored.pgdata)  # for the test's own queries
    try:
        _after_restore(again, station, operator)
    finally:
        server.cleanup()


def _after_restore(again: CentralNode, station: Station, operator: str) -> None:
    dsn = embedded_dsn(again.data_dir)
    # What PostgreSQL restored: both enabled again, as at that moment.
    assert _one(dsn, "SELECT enabled FROM stations WHERE id = %s", station.id) is True
    assert _one(dsn, "SELECT enabled FROM operators WHERE id = %s", operator) is True
    assert _one(dsn, "SELECT count(*) FROM audit_log WHERE event = "
                "'revocaciones_pendientes'") == 1

    # serve will not start while they are pending, and says what to do.
    refused = _central(again.data_dir, "serve", "--port", "0", timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "llave robada" in refused.stderr and "revocaciones reaplicar" in refused.stderr
    assert _one(dsn, "SELECT count(*) FROM audit_log WHERE event = "
                "'revocaciones_pendientes'") == 2

    # The coordinator re-applies the station's and confirms that the operator's no
    # longer holds (the institute decided so): each audited.
    done = _central(again.data_dir, "revocaciones", "reaplicar", "--sujeto", station.id,
                    "--motivo", "restauración de las 23:10, acta de la coordinación")
    assert done.returncode == 2 and "--coordinador" in done.stderr  # no login: refused
    assert _one(dsn, "SELECT enabled FROM stations WHERE id = %s", station.id) is True
    done = _central(again.data_dir, "revocaciones", "reaplicar", "--sujeto", station.id,
                    "--motivo", "restauración de las 23:10, acta de la coordinación",
                    login=True)
    assert done.returncode == 0, done.stderr
    assert _one(dsn, "SELECT enabled FROM stations WHERE id = %s", station.id) is False
    assert _one(dsn, "SELECT count(*) FROM audit_log WHERE event = 'station_disabled' "
                "AND detail->>'reason' LIKE '%%llave robada%%'") == 1
    done = _central(again.data_dir, "revocaciones", "pendientes")
    assert done.returncode == 1 and [r["sujeto"] for r in json.loads(done.stdout)] == [
        operator], done.stdout
    done = _central(again.data_dir, "revocaciones", "confirmar", "--motivo",
                    "la coordinación la volvió a habilitar en papel", login=True)
    assert done.returncode == 0, done.stderr
    assert _one(dsn, "SELECT enabled FROM operators WHERE id = %s", operator) is True
    assert _one(dsn, "SELECT count(*) FROM audit_log WHERE event = "
                "'revocacion_reaplicada'") == 1
    assert _one(dsn, "SELECT detail->>'sujeto' FROM audit_log WHERE event = "
                "'revocacion_confirmada'") == operator
    done = _central(again.data_dir, "revocaciones", "pendientes")
    assert done.returncode == 0 and json.loads(done.stdout) == [], done.stderr

    again.start()  # now it serves, and refuses the station whose key was stolen
    try:
        headers = station.signed("GET", BUNDLE_PATH, hashlib.sha256().hexdigest())
        status, body = again.request("GET", BUNDLE_PATH, b"", headers)
        assert status == 403 and b"unknown_station" in body, body
    finally:
        again.stop()
