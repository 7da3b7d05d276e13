"""The central recovers its own embedded PostgreSQL (issue 33): after the server is
SIGKILLed (as the kernel's OOM killer would) together with ``serve``, the next ``serve``
starts it again and serves, without a traceback, and an orderly stop leaves no
PostgreSQL process and no partial image behind. Real processes, real PostgreSQL.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.db.embedded import leftover_processes
from prep.records import Kind
from simulacro.nodo import kill_postmaster
from tests.central.station import PNG
from tests.central.station import Station
from tests.central.station import image_body
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.espera import holgado
from tests.harness.postgres import busy_backend
from tests.harness.postgres import server_base

TIMEOUT = 60.0


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory the embedded server's own account can enter (outside pytest's
    basetemp, whose modes other pytest sessions reset)."""
    with server_base("prep-recuperacion-") as path:
        try:
            yield path
        finally:
            for pid_file in path.glob("**/pgdata/postmaster.pid"):
                kill_postmaster(pid_file.parent)


def _serving(base: Path) -> tuple[CentralNode, Path, Station]:
    """A node on its own embedded PostgreSQL, serving, with an enrolled station whose
    first batch (two records) it accepted; its data directory's ``pgdata``."""
    node = CentralNode(base, None)
    node.start()
    try:
        station = Station.enroll(node)
        _, first = station.batch(station.records(2))
        assert station.post(first)[0] == 200
    except BaseException:
        node.stop()
        raise
    return node, node.data_dir.resolve() / "pgdata", station


def test_serve_recovers_its_postgresql_killed_with_it_and_leaves_nothing_behind(
        base: Path) -> None:
    node, pgdata, station = _serving(base)
    try:
        partial = _upload_half(node, station)  # serve is killed while receiving it
        busy = busy_backend(node.dsn)  # outlives its postmaster for a while

        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)  # the OOM killer's choice
        node.kill()
        partial.close()
        killed_serve = node.process.pid if node.process else 0
        assert killed_serve in json.loads((pgdata / ".handle_pids.json").read_text())
        leftover = list((node.data_dir / "blobs" / "tmp").iterdir())
        assert leftover and leftover[0].stat().st_size >= 64 * 1024

        node.start()  # waits until /v1/health answers 200

        said = node.log_path.read_text(encoding="utf-8")
        assert "Traceback" not in said, said
        assert "terminó sin detenerse" in said, said
        assert "se terminan" in said, said  # the busy backend, ended after its grace
        assert "pgserver" not in said, said  # no library transcripts without -v
        assert not busy.is_alive()
        # It serves the station's next batch and its images, and kept what it had.
        status, _ = station.put_blob(PNG)
        assert status == 200
        _, second = station.batch([*station.records(1),
                                   *station.records(1, Kind.IMAGEN, image_body())])
        status, body = station.post(second)
        assert status == 200, body
        assert query(node.dsn, "SELECT count(*) FROM records WHERE station = %s",
                     station.id) == [(4,)]
        assert list((node.data_dir / "blobs" / "tmp").iterdir()) == []
    finally:
        node.stop()

    assert node.process is not None and node.process.returncode == 0
    assert leftover_processes(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
    assert list((node.data_dir / "blobs" / "tmp").iterdir()) == []


def test_a_running_serve_starts_its_killed_postgresql_again_and_carries_on(
        base: Path) -> None:
    node, pgdata, station = _serving(base)
    try:
        _, second = station.batch(station.records(2))

        kill_postmaster(pgdata)
        deadline = time.monotonic() + holgado(TIMEOUT)
        status, body = station.post(second)
        while status != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            status, body = station.post(second)  # the station's retry: same bytes

        assert status == 200, body
        assert node.process is not None and node.process.poll() is None  # never restarted
        # The watchdog says so when its `pg_ctl start -w` returns, which can be a moment
        # after the server already took the station's batch.
        said = node.log_path.read_text(encoding="utf-8")
        while "de nuevo en marcha" not in said and time.monotonic() < deadline + 10:
            time.sleep(0.2)
            said = node.log_path.read_text(encoding="utf-8")
        assert "de nuevo en marcha" in said, said
        assert "Traceback" not in said, said
        assert query(node.dsn, "SELECT count(*) FROM records WHERE station = %s",
                     station.id) == [(4,)]
    finally:
        node.stop()

    assert node.process is not None and node.process.returncode == 0
    assert leftover_processes(pgdata) == []


@pytest.mark.parametrize("lock_file", ["unfinished", "pid_reused"])
def test_a_lock_file_left_by_a_dead_server_does_not_stop_the_next_start(
        base: Path, lock_file: str) -> None:
    node = CentralNode(base, None)  # init started and stopped the server
    pgdata = node.data_dir.resolve() / "pgdata"
    stranger = subprocess.Popen(["sleep", "300"])  # now holds the dead postmaster's pid
    try:
        (pgdata / "postmaster.pid").write_text(
            "" if lock_file == "unfinished" else f"{stranger.pid}\n{pgdata}\n",
            encoding="ascii")
        node.start()  # waits until /v1/health answers 200
        said = node.log_path.read_text(encoding="utf-8")
        assert "terminó sin detenerse" in said and "Traceback" not in said, said
        assert stranger.poll() is None  # not a process of the server: left alone
    finally:
        stranger.kill()
        stranger.wait()
        node.stop()
    assert leftover_processes(pgdata) == []


def _upload_half(node: CentralNode, station: Station) -> http.client.HTTPSConnection:
    """Start a signed image upload and send half of it; once serve holds it in a
    temporary file, return the open connection."""
    data = os.urandom(256 * 1024)
    sha256 = hashlib.sha256(data).hexdigest()
    path = f"/v1/blobs/{sha256}"
    conn = http.client.HTTPSConnection("127.0.0.1", node.port, timeout=TIMEOUT,
                                       context=node.ssl_context())
    conn.putrequest("PUT", path)
    for name, value in {**station.signed("PUT", path, sha256),
                        "Content-Type": "image/png",
                        "Content-Length": str(len(data))}.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(data[:len(data) // 2])
    tmp = node.data_dir / "blobs" / "tmp"
    deadline = time.monotonic() + holgado(TIMEOUT)
    while time.monotonic() < deadline:
        if any(f.stat().st_size >= 64 * 1024 for f in tmp.iterdir()):
            return conn
        time.sleep(0.05)
    raise AssertionError("serve never started writing the upload")
