"""Faults without a central: the station command killed at named points (real processes,
SIGKILL) and a disk that fills up (a tmpfs in a private mount namespace)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from prep.protocol import read_batch
from tests.conftest import in_ci
from tests.harness.station_cli import station_cmd
from tests.prep.station.support import REPO
from tests.prep.station.support import clave
from tests.prep.station.support import offline_station
from tests.prep.station.support import status_of

KILLED = -signal.SIGKILL


def _batches(data_dir: Path) -> list[tuple[int, bytes, int]]:
    with sqlite3.connect(data_dir / "station.sqlite3") as conn:
        return list(conn.execute("SELECT number, body, records FROM batches ORDER BY number"))


def test_killed_after_local_commit_keeps_the_record(tmp_path: Path) -> None:
    offline_station(tmp_path).close()
    done = station_cmd("acopio", "--data-dir", str(tmp_path), clave(1), "--operator", "op1",
                       env={"PREP_CRASH_AT": "after_local_commit"})
    assert done.returncode == KILLED, done.stderr
    assert done.stdout == ""  # it died before answering…
    status = status_of(tmp_path)  # …yet the record is there, waiting to be sent
    assert (status["records"], status["last_seq"], status["backlog_records"]) == (1, 1, 1)
    again = station_cmd("acopio", "--data-dir", str(tmp_path), clave(2), "--operator", "op1")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["seq"] == 2
    refused = station_cmd("acopio", "--data-dir", str(tmp_path), clave(1), "--operator", "op1")
    assert refused.returncode == 2 and "ya se registró en acopio" in refused.stderr


def test_killed_after_freeze_keeps_the_batch_to_resend(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        for i in range(3):
            station.acopio(clave(i), "op1")
    done = station_cmd("sync", "--data-dir", str(tmp_path),
                       env={"PREP_CRASH_AT": "after_freeze"})
    assert done.returncode == KILLED, done.stderr
    frozen = _batches(tmp_path)
    assert [(n, r) for n, _, r in frozen] == [(1, 3)]
    # The next run (central still unreachable) sends that batch, not a new one.
    with offline_station(tmp_path) as station:
        station.acopio(clave(10), "op1")
    retry = station_cmd("sync", "--data-dir", str(tmp_path))
    assert retry.returncode == 1
    assert "Sin conexión con el nodo central" in retry.stderr
    assert _batches(tmp_path) == frozen
    assert [r.seq for r in read_batch(frozen[0][1])[0].records] == [1, 2, 3]
    assert status_of(tmp_path)["backlog_records"] == 4


def _can_unshare_mount() -> tuple[bool, str]:
    try:
        done = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"unshare -m: {exc}"
    return done.returncode == 0, f"unshare -m: {done.stderr.strip()}"


def test_disk_full_is_explained_and_loses_nothing(tmp_path: Path) -> None:
    available, reason = _can_unshare_mount()
    if not available:
        if in_ci():
            pytest.fail(f"disk-full test cannot run under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    script = ('mount -t tmpfs -o size=512k tmpfs "$1" && '
              'exec "$2" -W error -m tests.prep.station.diskfull_child "$1"')
    done = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(tmp_path),
                           sys.executable], capture_output=True, text=True, timeout=60,
                          cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    full = "El disco de la estación está lleno"
    assert result["image_error"].startswith(f"{full}: no se guardó la imagen")
    assert result["record_error"].startswith(f"{full}: no se guardó el registro")
    assert "Libere espacio" in result["record_error"]
    stored = result["stored"]
    assert len(stored) >= 5  # four images and at least one acopio went in first
    assert result["ids"] == stored
    assert result["seqs"] == list(range(1, len(stored) + 1))
    assert result["hashes_ok"] and result["images_ok"]
    assert result["integrity"] == "ok"
    assert result["temporaries"] == []
    assert result["seq_after_freeing"] == len(stored) + 1
    assert list(tmp_path.iterdir()) == []  # the tmpfs lived only in its namespace
