"""The audit log: every row's hash recomputes and links to the one before, the database
refuses to edit it, tampering is detected, and every event emitted is declared."""

from __future__ import annotations

import ast
import tomllib
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.auditoria import AuditEntry
from prep.canonical import canonical_hash
from prep.protocol import GENESIS
from prep.records import format_time
from tests.central.station import Station
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import REPO
from tests.harness.central import CentralNode

CENTRAL = REPO / "central"


def test_every_row_hash_recomputes_and_chains(shared_central: CentralNode) -> None:
    node = shared_central
    station = Station.enroll(node)  # some events of every kind: enrollment, refusal, …
    station.put_blob(b"x", "0" * 64)
    rows = query(node.dsn, "SELECT at, actor, event, detail, prev_sha256, sha256 "
                 "FROM audit_log ORDER BY id")
    assert {"central_initialized", "central_started", "station_enrolled",
            "blob_refused"} <= {r[2] for r in rows}

    prev = GENESIS
    for at, actor, event, detail, prev_sha256, sha256 in rows:
        assert prev_sha256 == prev
        assert sha256 == canonical_hash({"at": format_time(at), "actor": actor,
                                         "event": event, "detail": detail, "prev": prev})
        prev = sha256

    done = central_cli(node, "verify-audit")
    assert done.returncode == 0 and f"{len(rows)} eventos" in done.stdout, done.stderr


def test_a_batch_chains_as_the_same_events_one_by_one(migrated: Engine) -> None:
    """A corte records the corrected actas it publishes in one batch
    (``audit.emit_many``): the rows come between the single events in the order given,
    each linked to the one before, and the whole chain verifies."""
    corte = "20270607_2300"
    actas = [{"corte": corte, "clave_acta": f"GUB-{n:04d}", "motivo": "cotejo"}
             for n in range(5)]
    with Session(migrated) as session, session.begin():
        audit.emit(session, "corte_published", actor="pruebas", detail={"corte": "antes"})
    with Session(migrated) as session, session.begin():
        primero = audit.emit(session, "corte_published", actor="pruebas",
                             detail={"corte": corte})
        lote = audit.emit_many(session, "correccion_publicada", actor="pruebas", details=actas)
        ultimo = audit.emit(session, "corte_published", actor="pruebas",
                            detail={"corte": "despues"})
        ids = [primero.id, *(e.id for e in lote), ultimo.id]  # flushed: in order
        assert audit.emit_many(session, "correccion_publicada", actor="pruebas",
                               details=[]) == []
        with pytest.raises(ValueError, match="not declared"):
            audit.emit_many(session, "correccion_inventada", actor="pruebas", details=actas)

    with Session(migrated) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.id >= ids[0])
                               .order_by(AuditEntry.id)).all()
        check = audit.verify_chain(session)
    assert check.ok, check.reason
    assert [r.id for r in rows] == ids
    assert [(r.event, r.detail) for r in rows] == [
        ("corte_published", {"corte": corte}),
        *(("correccion_publicada", a) for a in actas),
        ("corte_published", {"corte": "despues"})]
    assert all(r.prev_sha256 == antes.sha256 for antes, r in pairwise(rows))
    assert [r.at for r in rows] == sorted(r.at for r in rows)


@pytest.mark.parametrize("statement, count", [
    ("UPDATE audit_log SET actor = 'alguien'", "SELECT count(*) FROM audit_log"),
    ("DELETE FROM audit_log", "SELECT count(*) FROM audit_log"),
    ("TRUNCATE audit_log", "SELECT count(*) FROM audit_log"),
    ("UPDATE records SET operator = 'alguien'", "SELECT count(DISTINCT operator) FROM records"),
    ("DELETE FROM records", "SELECT count(*) FROM records"),
    ("DELETE FROM batches", "SELECT count(*) FROM batches"),
])
def test_the_database_refuses_to_change_history(shared_central: CentralNode, statement: str,
                                                count: str) -> None:
    node = shared_central
    station = Station.enroll(node)
    assert station.post(station.batch(station.records(1))[1])[0] == 200
    before = query(node.dsn, count)
    with psycopg.connect(node.dsn) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="solo admite inserciones"):
        conn.execute(statement)
    assert query(node.dsn, count) == before


def test_tampering_is_detected(central_node: CentralNode) -> None:
    """Even a superuser who disables the trigger cannot edit a row unnoticed."""
    node = central_node
    assert central_cli(node, "verify-audit").returncode == 0
    with psycopg.connect(node.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.execute("UPDATE audit_log SET detail = '{\"created\": false}' WHERE id = 1")
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")

    done = central_cli(node, "verify-audit")

    assert done.returncode == 1
    assert "ALTERADA en el evento 1" in done.stderr


def test_every_emitted_event_is_declared_once_and_used() -> None:
    with (CENTRAL / "audit" / "audit_events.toml").open("rb") as f:
        declared = tomllib.load(f)["events"]
    for name, spec in declared.items():
        assert spec["meaning"] and spec["emitter"], name
    emitted: dict[str, list[str]] = {}
    for path in CENTRAL.rglob("*.py"):
        for event, where in _emitted_events(path):
            emitted.setdefault(event, []).append(where)
    undeclared = {e: w for e, w in emitted.items() if e not in declared}
    assert not undeclared, f"events emitted but not declared: {undeclared}"
    assert set(declared) == set(emitted), f"declared but never emitted: " \
                                          f"{set(declared) - set(emitted)}"


def _emitted_events(path: Path) -> list[tuple[str, str]]:
    """Event names at ``emit(session, "name", …)`` and ``emit_many(session, "name", …)``
    calls and at ``Refused(…, event="name")`` (refusals, emitted by
    central.audit.anomalies.record_refusal)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        where = f"{path.relative_to(REPO)}:{node.lineno}"
        name = node.func.attr if isinstance(node.func, ast.Attribute) else \
            getattr(node.func, "id", "")
        candidates = [k.value for k in node.keywords if k.arg == "event" and name == "Refused"]
        if name in ("emit", "emit_many") and len(node.args) >= 2:
            candidates.append(node.args[1])
        for value in candidates:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.append((value.value, where))
            elif path.name != "anomalies.py":  # the one place that forwards refusals
                raise AssertionError(f"{where}: the event must be a literal string")
    return found
