"""The processes of the soak (``bench/soak.py``) other than the central: how a child is
started and what it inherits, the private mount namespace the stations' tmpfs live in,
and a station process (``bench/soak_station.py``) with its control files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90.0


class SoakError(RuntimeError):
    """A step of the soak failed (the message says which, with the end of its log)."""


#: where the children keep their bytecode (``bench/soak.py`` sets it under its work
#: directory): with ``PYTHONDONTWRITEBYTECODE`` every serve and station restart would
#: compile the repository's modules again (≈0.2 s of CPU each).
PYCACHE: Path | None = None


def child_env() -> dict[str, str]:
    """The environment of every child: the repository importable, output unbuffered."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    if PYCACHE is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def run_checked(*args: str, timeout: float = 300.0) -> str:
    """Run a command to its end; its stdout, or :class:`SoakError` with its stderr."""
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          check=False, env=child_env(), cwd=REPO)
    if done.returncode != 0:
        raise SoakError(f"{' '.join(args)} → {done.returncode}\n{done.stderr[-3000:]}")
    return done.stdout


class MountNamespace:
    """A private mount namespace kept alive by a ``sleep``; tmpfs mounts live in it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sleep",
                                      "infinity"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SoakError("unshare -m failed")
            if os.readlink(f"/proc/{self.proc.pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt"):
                return
            time.sleep(0.02)
        raise SoakError("unshare -m did not make a namespace")

    @staticmethod
    def available() -> bool:
        try:
            return subprocess.run(["unshare", "-m", "true"], capture_output=True,
                                  timeout=10, check=False).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def prefix(self) -> list[str]:
        return ["nsenter", "-t", str(self.proc.pid), "-m", "--"]

    def mount_tmpfs(self, path: Path, size_mb: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        run_checked(*self.prefix(), "mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700",
             "tmpfs", str(path))

    def view(self, path: Path) -> Path:
        """``path`` as the namespace sees it, from outside."""
        return Path(f"/proc/{self.proc.pid}/root") / path.relative_to("/")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class StationProc:
    """A station process of the soak, restarted as faults kill it."""

    def __init__(self, name: str, config_path: Path, ctl: Path, data_dir: Path,
                 view: Path, logs: Path, prefix: list[str]) -> None:
        self.name = name
        self.config_path = config_path
        self.ctl = ctl
        self.data_dir = data_dir
        self.view = view  # data_dir as seen from here
        self.logs = logs
        self.prefix = prefix
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with (self.logs / f"{self.name}-{self.starts}.log").open("wb") as err:
            self.proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "bench.soak_station",
                 str(self.config_path)], stdout=subprocess.DEVNULL, stderr=err, env=child_env(),
                cwd=REPO)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()

    def estado(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.ctl / "estado.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.estado().get("pid") == (self.proc.pid if self.proc else None):
                return
            if not self.alive():
                break
            time.sleep(0.1)
        log = (self.logs / f"{self.name}-{self.starts}.log").read_text(errors="replace")
        raise SoakError(f"station {self.name} did not start:\n{log[-3000:]}")

    def dump(self, full: bool = False) -> dict[str, Any]:
        """What its SQLite holds (``bench/soak_dump.py``, run inside the namespace)."""
        done = subprocess.run([*self.prefix, sys.executable, str(REPO / "bench" / "soak_dump.py"),
                               str(self.data_dir), *(["--full"] if full else [])],
                              capture_output=True, text=True, timeout=120, check=False)
        try:
            return dict(json.loads(done.stdout))
        except ValueError:
            return {"error": done.stderr[-2000:]}

    def backlog(self) -> int | None:
        """Undelivered outbox rows (``None``: not readable now)."""
        value = self.dump().get("backlog")
        return value if isinstance(value, int) else None
