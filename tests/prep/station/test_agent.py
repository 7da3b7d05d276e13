"""The sync agent without a central: its own thread, its backoff, its status for the GUI,
and ``prep station run`` as a process that stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

from prep.station.station import wait_until
from prep.station.sync import SyncOptions
from prep.station.sync import SyncState
from tests.harness.espera import holgado
from tests.harness.espera import sin_colgarse
from tests.prep.station.support import REPO
from tests.prep.station.support import clave
from tests.prep.station.support import offline_station


def test_backoff_is_exponential_with_full_jitter(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        agent = station.agent(SyncOptions(backoff_base=0.5, backoff_cap=30.0))
        for attempt, ceiling in [(1, 0.5), (2, 1.0), (4, 4.0), (7, 30.0), (60, 30.0)]:
            delays = [agent._backoff(attempt) for _ in range(400)]
            assert all(0 <= d <= ceiling for d in delays)
            assert max(delays) > 0.8 * ceiling and min(delays) < 0.2 * ceiling


def test_agent_runs_off_the_callers_thread_and_reports_offline(tmp_path: Path) -> None:
    seen: list[tuple[str, SyncState]] = []
    caller = threading.current_thread().name
    with offline_station(tmp_path) as station:
        agent = station.start_sync(
            SyncOptions(backoff_base=0.01, backoff_cap=0.05, heartbeat_interval=0),
            on_change=lambda state: seen.append((threading.current_thread().name, state)))
        for i in range(3):
            station.acopio(clave(i), "op1")
        assert wait_until(lambda: agent.state().last_error_code == "unreachable"
                          and agent.state().backlog_records == 3, holgado(60)), agent.state()
        state = agent.state()
        assert state.running and not state.online and not state.blocked
        assert state.found_via == "configurada" and state.backlog_bytes > 0
        assert "Sin conexión con el nodo central" in state.last_error
        # Out of its backoff wait at once: the thread has ended when stop_sync returns
        # (its joins are bounded; a thread still alive is caught below).
        sin_colgarse(station.stop_sync, 60, "stop_sync no volvió: el agente no se detuvo")
    assert seen and {name for name, _ in seen} == {"prep-sync"} and caller != "prep-sync"
    assert not any(t.name == "prep-sync" for t in threading.enumerate())


def test_run_command_stops_on_sigterm(tmp_path: Path) -> None:
    offline_station(tmp_path).close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-W", "error", "-m", "prep", "station", "run",
                             "--data-dir", str(tmp_path), "--heartbeat", "0.2",
                             "--backoff-cap", "0.2"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # SIGTERM once it works (its handlers are set before the agent starts, and the agent
    # records a heartbeat first): a fixed 1.5 s was sometimes still the interpreter's
    # start-up on a loaded machine, and the default action killed it (-15).
    wait_until(lambda: _heartbeats(tmp_path) > 0 or proc.poll() is not None, holgado(60), 0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()
    # It was alive and working while offline: a heartbeat record is waiting.
    # One unsent heartbeat is enough: they do not pile up during an outage.
    with sqlite3.connect(tmp_path / "station.sqlite3") as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM records")]
    assert kinds == ["heartbeat"]


def _heartbeats(data_dir: Path) -> int:
    try:
        # closing(): sqlite3's own context manager ends the transaction, not the connection.
        with closing(sqlite3.connect(f"file:{data_dir / 'station.sqlite3'}?mode=ro",
                                     uri=True, timeout=1)) as conn:
            return int(conn.execute(
                "SELECT count(*) FROM records WHERE kind = 'heartbeat'").fetchone()[0])
    except sqlite3.OperationalError:  # busy, or a table not there yet
        return 0
