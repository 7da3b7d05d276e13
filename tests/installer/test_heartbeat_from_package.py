"""A station installed from the package reports its build fingerprint in its heartbeats,
and the central flags it until the fingerprint is registered as audited."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from tests.harness.central import CentralNode
from tests.harness.espera import esperar
from tests.installer.conftest import Built
from tests.installer.conftest import program_env
from tests.installer.conftest import run_program

#: The packaged station's first heartbeat (one a second, once enrolled and synced):
#: seconds alone, generous for a loaded machine.
HEARTBEAT_WAIT_S = 300


def _health(node: CentralNode, station: str) -> Any:
    with psycopg.connect(node.dsn) as conn:
        return conn.execute("SELECT build FROM station_health WHERE station = %s",
                            (station,)).fetchone()


def _anomalies(node: CentralNode, station: str) -> list[Any]:
    with psycopg.connect(node.dsn) as conn:
        return conn.execute("SELECT detail->>'build' FROM anomalies WHERE type = "
                            "'unaudited_build' AND station = %s", (station,)).fetchall()


def _installed_station(built: Built, node: CentralNode, tmp_path: Path, name: str) -> str:
    """Enroll a station with the packaged ``prep``, run its sync agent until the central
    holds its heartbeat; returns the station id."""
    data = tmp_path / name
    enroll = run_program(built, "prep", "station", "enroll", "--data-dir", str(data),
                         "--url", node.url, "--code", node.enroll_code(catd=7),
                         "--cert-sha256", node.cert_sha256, tmp_path=tmp_path)
    assert enroll.returncode == 0, enroll.stdout + enroll.stderr
    with psycopg.connect(node.dsn) as conn:
        station = conn.execute("SELECT id FROM stations ORDER BY enrolled_at DESC "
                               "LIMIT 1").fetchone()[0]
    log = tmp_path / f"{name}.log"
    with log.open("w") as stderr:
        agent = subprocess.Popen([str(built.bundle / "prep"), "station", "run", "--data-dir",
                                  str(data), "--heartbeat", "1"], cwd=tmp_path,
                                 env=program_env(tmp_path), stdout=subprocess.DEVNULL,
                                 stderr=stderr)
        try:
            esperar(lambda: (row := _health(node, station)) is not None and row[0] is not None,
                    HEARTBEAT_WAIT_S, "the central held no heartbeat of the packaged station",
                    vivo=lambda: None if agent.poll() is None else log.read_text())
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(30)
    return str(station)


def test_an_unaudited_package_is_flagged_once_and_an_audited_one_not(
        built: Built, central_node: CentralNode, tmp_path: Path) -> None:
    first = _installed_station(built, central_node, tmp_path, "estacion-1")
    assert _health(central_node, first)[0] == built.fingerprint
    assert _anomalies(central_node, first) == [(built.fingerprint,)]

    added = run_program(built, "prep", "central", "audited-build", "add", built.fingerprint,
                        "--nombre", "PREP de prueba", "--data-dir",
                        str(central_node.data_dir), "--dsn", central_node.dsn,
                        tmp_path=tmp_path)
    assert added.returncode == 0, added.stdout + added.stderr
    second = _installed_station(built, central_node, tmp_path, "estacion-2")
    assert _health(central_node, second)[0] == built.fingerprint
    assert _anomalies(central_node, second) == []
    assert _anomalies(central_node, first) == [(built.fingerprint,)]  # still only once
