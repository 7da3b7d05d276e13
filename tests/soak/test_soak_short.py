"""The short version of ``bench/soak.py`` (issue 33) for CI: the real central (serve and
its embedded PostgreSQL), four station processes and a fault proxy each, about two
minutes of faults of every kind on concurrent lanes (``--carriles``: one lane per
station for station SIGKILL, link cut, reset mid-upload, slow link, a station's disk
full and a station clock jump, and a lane each for serve SIGKILL and postmaster SIGKILL,
which overlap), then the drain and the exact comparison. The long runs are in
``bench/RESULTS.md``."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from bench.soak import KINDS
from bench.soak import REPO
from bench.soak import MountNamespace
from tests.conftest import in_ci


@pytest.mark.timeout(900)
def test_two_minutes_of_concurrent_faults_lose_and_double_nothing() -> None:
    if not MountNamespace.available():  # the disk-full fault needs a private tmpfs
        reason = "unshare -m is not permitted here (disk_full needs a private tmpfs)"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    done = subprocess.run([sys.executable, str(REPO / "bench" / "soak.py"), "--carriles",
                           "--minutes", "2", "--estaciones", "4", "--semilla", "33"],
                          capture_output=True, text=True, timeout=840, cwd=REPO, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-4000:]
    result = json.loads(lines[-1])
    assert result["ok"], json.dumps(result, indent=1)
    assert result["lost"] == result["doubled"] == result["mismatched"] == 0
    assert result["blobs_lost"] == result["blobs_mismatched"] == 0
    assert result["records"] > 100 and result["blobs"] > 50
    assert set(KINDS) <= {kind for kind, n in result["faults_by_kind"].items() if n >= 1}
    assert result["faults_total"] == sum(result["faults_by_kind"].values())
    assert result["mode"] == "carriles" and result["lane_errors"] == []
    assert result["missing_kinds"] == []
    assert result["verify_audit"] and result["rebuild_state"]
    # the progress line, every minute, for whoever watches a long run
    assert re.search(r"^soak 1\.\d min: \d+ faults \(", done.stderr, re.M), done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-4000:]
