"""``prep central audited-build``: the list of audited build fingerprints, and the
``unaudited_build`` anomaly a real station's heartbeat raises when its build is not in it
(once per station and fingerprint)."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from prep.build_info import current_build
from prep.records import Kind
from prep.records import RecordError
from prep.records import validate_body
from prep.station.station import Station as RealStation
from prep.station.sync import SyncOptions
from tests.central.station import Station
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode

HEARTBEATS = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.1,
                         heartbeat_interval=0.01)
AUDITED = "a" * 64


def _sync_with_heartbeat(node: CentralNode, data_dir: Path) -> str:
    """Enroll (once) the real station kept in ``data_dir`` and deliver one heartbeat."""
    with RealStation.open(data_dir) as station:
        if station.store.identity() is None:
            station.enroll(node.url, node.enroll_code(catd=7), node.cert_sha256)
        assert station.sync_until_drained(30, HEARTBEATS)
        return station.store.require_identity().station_id


def _unaudited(node: CentralNode, station: str) -> list[str]:
    return [r[0] for r in query(node.dsn, "SELECT detail->>'build' FROM anomalies WHERE "
                                "type = 'unaudited_build' AND station = %s ORDER BY id",
                                station)]


def test_a_station_running_an_unaudited_build_raises_one_anomaly(central_node: CentralNode,
                                                                 tmp_path: Path) -> None:
    label = current_build().label
    assert label.startswith("desarrollo:")  # a source checkout never passes for a package
    station = _sync_with_heartbeat(central_node, tmp_path / "estacion")
    assert _unaudited(central_node, station) == [label]
    assert query(central_node.dsn, "SELECT count(*) FROM records WHERE station = %s AND "
                 "kind = 'heartbeat'", station) == [(1,)]

    # More heartbeats with the same build: still one anomaly, not one per heartbeat.
    _sync_with_heartbeat(central_node, tmp_path / "estacion")
    assert query(central_node.dsn, "SELECT count(*) FROM records WHERE station = %s AND "
                 "kind = 'heartbeat'", station) == [(2,)]
    assert _unaudited(central_node, station) == [label]
    done = central_cli(central_node, "stations")
    assert done.returncode == 0, done.stderr
    [row] = [r for r in json.loads(done.stdout) if r["station"] == station]
    assert row["build"] == label

    # Once the coordinators register it, a station running it raises nothing.
    added = central_cli(central_node, "audited-build", "add", label, "--nombre", "Desarrollo")
    assert added.returncode == 0, added.stderr
    other = _sync_with_heartbeat(central_node, tmp_path / "otra")
    assert _unaudited(central_node, other) == []


def test_a_heartbeat_without_a_fingerprint_is_flagged_as_such(central_node: CentralNode) -> None:
    """Software older than the fingerprint sends none: it is not the audited build."""
    station = Station.enroll(central_node)
    old = {"version": "0.0.9", "backlog": 0, "backlog_bytes": 0, "last_error": ""}
    _, body = station.batch(station.records(1, Kind.HEARTBEAT, old, at=datetime.now(UTC)))
    assert station.post(body)[0] == 200
    assert _unaudited(central_node, station.id) == ["sin huella"]


def test_a_heartbeat_fingerprint_must_be_one() -> None:
    base = {"version": "1", "backlog": 0, "backlog_bytes": 0, "last_error": ""}
    for good in (AUDITED, f"desarrollo:{AUDITED}"):
        validate_body(Kind.HEARTBEAT, {**base, "build": good})
    for bad in ("no-es-una-huella", AUDITED.upper(), f"paquete:{AUDITED}", AUDITED[:-1], 7):
        with pytest.raises(RecordError, match="build must be a build fingerprint"):
            validate_body(Kind.HEARTBEAT, {**base, "build": bad})


def test_the_technician_adds_lists_and_removes_audited_builds(central_node: CentralNode) -> None:
    bad = central_cli(central_node, "audited-build", "add", "1234", "--nombre", "x")
    assert bad.returncode == 2
    assert "64 dígitos hexadecimales" in bad.stderr
    unnamed = central_cli(central_node, "audited-build", "add", AUDITED, "--nombre", "  ")
    assert unnamed.returncode == 2 and "el nombre es obligatorio" in unnamed.stderr

    added = central_cli(central_node, "audited-build", "add", AUDITED.upper(), "--nombre",
                        "PREP 0.1.0, auditoría de mayo")
    assert added.returncode == 0, added.stderr
    assert f"Huella {AUDITED} registrada como auditada" in added.stdout
    again = central_cli(central_node, "audited-build", "add", AUDITED, "--nombre", "otra")
    assert again.returncode == 0 and "ya estaba registrada" in again.stdout

    listing = central_cli(central_node, "audited-build", "list")
    assert listing.returncode == 0, listing.stderr
    [entry] = json.loads(listing.stdout)
    assert (entry["fingerprint"], entry["nombre"]) == (AUDITED, "PREP 0.1.0, auditoría de mayo")
    # The installation technician's command (docs/seguridad.md, «Quién firma cada orden»):
    # recorded as the technician's OS login, never passed off as a coordinator's.
    assert entry["added_by"].startswith("tecnico:") and entry["added_at"]

    removed = central_cli(central_node, "audited-build", "remove", AUDITED)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(central_cli(central_node, "audited-build", "list").stdout) == []
    missing = central_cli(central_node, "audited-build", "remove", AUDITED)
    assert missing.returncode == 1 and "no está en la lista" in missing.stderr

    events = query(central_node.dsn, "SELECT event, detail FROM audit_log WHERE event LIKE "
                   "'audited_build_%%' ORDER BY id")
    assert events == [
        ("audited_build_added", {"fingerprint": AUDITED,
                                 "nombre": "PREP 0.1.0, auditoría de mayo"}),
        ("audited_build_removed", {"fingerprint": AUDITED,
                                   "nombre": "PREP 0.1.0, auditoría de mayo"})]
    assert central_cli(central_node, "verify-audit").returncode == 0
