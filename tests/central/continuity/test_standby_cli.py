"""``prep central standby …`` and ``prep central promote`` as a coordinator types them,
with the embedded PostgreSQL of two data directories on this machine: the primary's
served by ``prep central serve``, the standby's kept up by ``prep central standby run``.
"""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulacro.nodo import kill_postmaster
from tests.harness.central import REPO
from tests.harness.postgres import server_base

TIMEOUT = 120
_STARTED: list[subprocess.Popen[bytes]] = []  # killed at the end of each test


@pytest.fixture
def base() -> Iterator[Path]:
    with server_base("prep-standby-") as path:
        try:
            yield path
        finally:
            for process in _STARTED:
                if process.poll() is None:
                    process.kill()
                    process.wait(30)
            _STARTED.clear()
            for pid_file in path.glob("*/pgdata/postmaster.pid"):
                kill_postmaster(pid_file.parent)


def _prep(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "prep", "central", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"prep central {' '.join(args)} → {done.returncode}\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def _background(base: Path, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    out = base / f"{name}.out"
    with out.open("wb") as stdout, (base / f"{name}.err").open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "prep", "central", *args],
                                   cwd=REPO, stdout=stdout, stderr=stderr)
    _STARTED.append(process)
    return process, out


def _first_line(process: subprocess.Popen[bytes], out: Path) -> dict[str, object]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        lines = out.read_bytes().split(b"\n", 1)
        if len(lines) == 2:
            return dict(json.loads(lines[0]))
        assert process.poll() is None, (out.with_suffix(".err")).read_text()
        time.sleep(0.05)
    raise AssertionError("no line in time")


def test_standby_sync_async_and_promote(base: Path) -> None:
    a, b = base / "primario", base / "standby"
    _prep("init", "--data-dir", str(a))
    serve, serve_out = _background(base, "serve-a", "serve", "--data-dir", str(a),
                                   "--port", "0")
    _first_line(serve, serve_out)

    done = _prep("standby", "init", "--data-dir", str(b), "--primario-datos", str(a))
    assert "standby run" in done.stderr and "standby sincrono" in done.stderr
    for name in ("central.key", "central.toml", "tls/key.pem"):
        assert (b / name).read_bytes() == (a / name).read_bytes()
        assert stat.S_IMODE((b / name).stat().st_mode) == 0o600
    refused = _prep("standby", "init", "--data-dir", str(b), "--primario-datos", str(a),
                    check=False)
    assert refused.returncode == 1 and "ya contiene una base de datos" in refused.stderr

    run, run_out = _background(base, "standby-run", "standby", "run", "--data-dir", str(b))
    assert _first_line(run, run_out)["rol"] == "standby"
    on_standby = subprocess.run([sys.executable, "-m", "prep", "central", "serve",
                                 "--data-dir", str(b), "--port", "0"], cwd=REPO,
                                capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert on_standby.returncode == 2 and "es un standby" in on_standby.stderr
    state = json.loads(_prep("standby", "sincrono", "--data-dir", str(a)).stdout)
    assert state["modo"] == "sincrono" and state["rol"] == "primario"
    assert [s["sincronia"] for s in state["standbys"]] == ["sync"]

    # The standby's machine goes down; the coordinator goes on without it, audited.
    run.send_signal(signal.SIGTERM)
    assert run.wait(30) == 0
    empty = _prep("standby", "asincrono", "--data-dir", str(a), "--motivo", "x", check=False)
    assert empty.returncode == 1 and "motivo" in empty.stderr
    state = json.loads(_prep("standby", "asincrono", "--data-dir", str(a), "--motivo",
                             "standby en mantenimiento").stdout)
    assert state["modo"] == "sin_standby"
    wrong = _prep("standby", "asincrono", "--data-dir", str(b), "--motivo", "en el standby",
                  check=False)
    assert wrong.returncode == 1 and "es un standby" in wrong.stderr

    # The primary's machine dies (its node and its PostgreSQL killed); the standby is
    # promoted and serves, with the audit chain continued from the primary's.
    serve.kill()
    serve.wait(30)
    kill_postmaster(a / "pgdata")
    promoted = _prep("promote", "--data-dir", str(b), "--motivo", "se perdió el primario")
    state = json.loads(promoted.stdout)
    assert state["rol"] == "primario" and state["timeline"] == 2
    assert "rehágalo como standby" in promoted.stderr
    again = _prep("promote", "--data-dir", str(b), "--motivo", "otra vez", check=False)
    assert again.returncode == 1 and "ya es primario" in again.stderr
    serve_b, serve_b_out = _background(base, "serve-b", "serve", "--data-dir", str(b),
                                       "--port", "0")
    assert _first_line(serve_b, serve_b_out)["cert_sha256"]
    serve_b.send_signal(signal.SIGTERM)
    serve_b.wait(30)
    audit = _prep("verify-audit", "--data-dir", str(b))
    assert "íntegra" in audit.stdout

    # The old primary, started again, is still on timeline 1: a station that has seen
    # timeline 2 can tell it apart (docs/continuidad.md, fencing).
    old = json.loads(_prep("standby", "estado", "--data-dir", str(a)).stdout)
    assert old["rol"] == "primario" and old["timeline"] == 1


def test_backup_and_restore_commands(base: Path) -> None:
    a, copy, c = base / "central", base / "respaldo", base / "restaurado"
    _prep("init", "--data-dir", str(a))
    taken = json.loads(_prep("backup", "--data-dir", str(a), "--destino", str(copy)).stdout)
    assert taken["bytes"] > 0 and not taken["wal_continuo"]
    bad = _prep("restore", "--respaldo", str(copy), "--data-dir", str(c), "--hasta",
                "ayer", check=False)
    assert bad.returncode == 2 and "no es una fecha y hora" in bad.stderr
    done = _prep("restore", "--respaldo", str(copy), "--data-dir", str(c))
    assert json.loads(done.stdout)["copia_base"] == Path(taken["copia_base"]).name
    assert "reenvía" in done.stderr
    assert "íntegra" in _prep("verify-audit", "--data-dir", str(c)).stdout
    state = json.loads(_prep("standby", "estado", "--data-dir", str(c)).stdout)
    assert state["rol"] == "primario" and state["timeline"] == 2
    again = _prep("restore", "--respaldo", str(copy), "--data-dir", str(c), check=False)
    assert again.returncode == 1 and "ya contiene una base de datos" in again.stderr
