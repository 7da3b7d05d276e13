"""A station the coordinator disabled (issue 36) keeps everything it records, says
plainly that the central disabled it and to call the coordinator (``prep station
sync``, ``prep station status``, the sync agent's state the workstation's status bar
shows), blocks none of its batches, and delivers all it kept once enabled again.
Real central (``prep central serve``, HTTPS, PostgreSQL) and real station processes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from sqlalchemy import Engine

from central.db import make_engine
from central.stations.stations_admin import set_station_enabled
from prep.station.errors import DISABLED_MESSAGE
from prep.station.station import Station
from prep.station.station import wait_until
from prep.station.sync import SyncOptions
from prep.station.work import WorkQueue
from tests.harness.espera import holgado
from tests.harness.station_cli import station_cmd
from tests.prep.station.support import clave
from tests.prep.station.support import jpeg_bytes

if TYPE_CHECKING:
    from tests.harness.central import CentralNode

FAST = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.1,
                   heartbeat_interval=0, bundle_interval=0.2)


@pytest.fixture
def engine(central_node: CentralNode) -> Iterator[Engine]:
    engine = make_engine(central_node.dsn, pool_size=1)
    yield engine
    engine.dispose()


def _at_central(node: CentralNode, station_id: str) -> int:
    with psycopg.connect(node.dsn) as conn:
        row = conn.execute("SELECT count(*) FROM records WHERE station = %s",
                           (station_id,)).fetchone()
    assert row is not None
    return int(row[0])


def _record(station: Station, first: int, n: int) -> None:
    for i in range(first, first + n):
        station.acopio(clave(i), "op1")
    station.imagen(clave(first), jpeg_bytes(30_000), "image/jpeg", "op1")


def test_a_disabled_station_keeps_its_records_says_so_and_drains_once_enabled(
        central_node: CentralNode, engine: Engine, tmp_path: Path) -> None:
    node = central_node
    data = str(tmp_path)
    with Station.open(tmp_path) as station:
        station.enroll(node.url, node.enroll_code(catd=7), node.cert_sha256)
        station_id = station.store.require_identity().station_id
        _record(station, 1, 3)
    first = station_cmd("sync", "--data-dir", data, "--until-drained", "--timeout", "60")
    assert first.returncode == 0, first.stderr
    assert _at_central(node, station_id) == 4

    set_station_enabled(engine, station_id, False, actor="coordinador:pruebas",
                        reason="equipo extraviado")
    with Station.open(tmp_path) as station:
        _record(station, 10, 5)  # recorded as ever: the station works without the central

    # Told at once, not after retrying until its timeout: an hour, so a sync that kept
    # retrying would not have answered within the command's bound.
    try:
        refused = station_cmd("sync", "--data-dir", data, "--until-drained",
                              "--timeout", "3600", timeout=holgado(120))
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("la sincronización de un equipo deshabilitado no terminó: "
                             "siguió reintentando en vez de decirlo") from exc
    assert refused.returncode == 1, refused.stderr
    answer = json.loads(refused.stdout)
    assert (answer["drained"], answer["disabled"], answer["last_error_code"]) == (
        False, True, "station_disabled")
    assert answer["backlog_records"] == 6
    assert refused.stderr.strip().endswith(f"error: {DISABLED_MESSAGE}")
    assert "El nodo central deshabilitó este equipo" in DISABLED_MESSAGE
    assert "Llame a su coordinador" in DISABLED_MESSAGE

    status = station_cmd("status", "--data-dir", data)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["disabled"] == DISABLED_MESSAGE and shown["disabled_since"]
    assert shown["blocked"] is None  # no batch was blamed: nothing to unblock later
    assert (shown["records"], shown["backlog_records"]) == (10, 6)
    assert f"ATENCIÓN: {DISABLED_MESSAGE}" in status.stderr

    with Station.open(tmp_path) as station:
        # The capture screen hears the same, not «sin conexión».
        queue = WorkQueue(station, "op-07-nadie")
        try:
            outcome = queue.refill()
        finally:
            queue.close()
        assert (outcome.online, outcome.message) == (False, DISABLED_MESSAGE)

        agent = station.start_sync(FAST)
        assert wait_until(lambda: agent.state().disabled, holgado(60), interval=0.05)
        state = agent.state()
        assert (state.last_error, state.blocked) == (DISABLED_MESSAGE, False)
        assert _at_central(node, station_id) == 4

        set_station_enabled(engine, station_id, True, actor="coordinador:pruebas",
                            reason="equipo recuperado")
        assert wait_until(lambda: station.outbox().backlog() == (0, 0)
                          and not agent.state().disabled, holgado(60), interval=0.05)
        station.stop_sync()
        status_after = station.status()
        assert (status_after.disabled, status_after.disabled_since) == (None, None)
        assert status_after.sync is None or not status_after.sync.last_error
    assert _at_central(node, station_id) == 10
