"""A benchmark that cannot run says why in JSON (issue 64), run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.requisitos import NO_CORRIO

REPO = Path(__file__).resolve().parents[2]


def test_the_site_benchmark_without_wrk_prints_why_in_json(tmp_path: Path) -> None:
    # A PATH with python only: no wrk, no nginx (as on a fresh machine).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    done = subprocess.run([str(bin_dir / "python3"), "-m", "bench.sitio", "--segundos", "1"],
                          capture_output=True, text=True, cwd=REPO, check=False,
                          env={**os.environ, "PATH": str(bin_dir)})
    assert done.returncode == NO_CORRIO, done.stderr
    [line] = done.stdout.splitlines()
    said = json.loads(line)
    assert said["benchmark"] == "bench.sitio" and said["corrio"] is False
    assert "wrk (paquete Debian wrk)" in said["motivo"]
    assert "scripts/bootstrap.sh --bench" in said["motivo"]
