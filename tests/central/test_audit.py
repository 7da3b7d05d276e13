"""The audit log: every row's hash recomputes and links to the one before, the database
refuses to edit it, tampering is detected, and every event emitted is declared."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import psycopg
import pytest

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
    with (CENTRAL / "audit_events.toml").open("rb") as f:
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
    """Event names at ``emit(session, "name", …)`` calls and at ``Refused(…,
    event="name")`` (refusals, emitted by central.anomalies.record_refusal)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        where = f"{path.relative_to(REPO)}:{node.lineno}"
        name = node.func.attr if isinstance(node.func, ast.Attribute) else \
            getattr(node.func, "id", "")
        candidates = [k.value for k in node.keywords if k.arg == "event" and name == "Refused"]
        if name == "emit" and len(node.args) >= 2:
            candidates.append(node.args[1])
        for value in candidates:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.append((value.value, where))
            elif path.name != "anomalies.py":  # the one place that forwards refusals
                raise AssertionError(f"{where}: the event must be a literal string")
    return found
