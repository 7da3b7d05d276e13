"""The central of the soak (``bench/soak.py``): ``prep central`` commands, the ``serve``
child, and its embedded PostgreSQL, whose postmaster the ``postgres_kill`` fault kills
and starts again; the soak is the child subreaper of what it starts, so a killed
postmaster is reaped at once."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from bench.soak_procs import REPO
from bench.soak_procs import START_TIMEOUT
from bench.soak_procs import SoakError
from bench.soak_procs import child_env
from bench.soak_procs import run_checked

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make the processes this one starts that are orphaned (the postmaster, after
    ``pg_ctl`` exits; its backends, after the postmaster is killed) its children instead
    of init's: this machine's init reaps them only every second or two, and a killed
    postmaster's zombie keeps its lock file held (systemd, on a real central, reaps at
    once)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _state(pid: int) -> str | None:
    """The state letter of ``pid`` (``Z``: a zombie), ``None`` if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def reap_orphans() -> int:
    """Reap this process's dead ``postgres`` children (orphans it adopted as subreaper).
    Only those: the others are :class:`subprocess.Popen` children, waited by their owner."""
    reaped = 0
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat.rsplit(")", 1)[1].split()
        if comm == "postgres" and fields[1] == me and fields[0] == "Z":
            try:
                os.waitpid(int(entry.name), os.WNOHANG)
                reaped += 1
            except ChildProcessError:
                pass
    return reaped


class Central:
    """``prep central`` commands and the ``serve`` child (embedded PostgreSQL)."""

    def __init__(self, data_dir: Path, logs: Path) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pgdata"
        self.logs = logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""
        self.cert_sha256 = ""
        self.starts = 0
        self.ready = False  # the running ``serve`` printed its address (it listens)
        self.on_event: Callable[[str], None] = lambda text: None

    def cli(self, *args: str, timeout: float = 300.0) -> str:
        return run_checked(sys.executable, "-m", "prep", "central", *args, "--data-dir",
                    str(self.data_dir), timeout=timeout)

    def serve(self) -> None:
        self.starts += 1
        self.ready = False
        self.on_event(f"serve {self.starts} starting")
        stdout = self.logs / f"central-{self.starts}.json"
        with stdout.open("wb") as out, (self.logs / f"central-{self.starts}.log").open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "prep", "central", "serve", "--data-dir",
                 str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out, stderr=err, env=child_env(), cwd=REPO)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            parts = stdout.read_bytes().split(b"\n", 1)
            if len(parts) == 2:
                info = json.loads(parts[0])
                self.url, self.cert_sha256 = str(info["url"]), str(info["cert_sha256"])
                self.port = urlsplit(self.url).port or 0
                self.ready = True
                self.on_event(f"serve {self.starts} listening")
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        log = (self.logs / f"central-{self.starts}.log").read_text(errors="replace")
        raise SoakError(f"serve did not start:\n{log[-3000:]}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def serving(self) -> bool:
        return self.ready and self.alive()

    def kill(self) -> None:
        self.ready = False
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # the embedded PostgreSQL ---------------------------------------------------------

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill_postgres(self) -> bool:
        """SIGKILL the postmaster; wait (up to 10 s) until it is gone, reaped: while
        its pid exists, even as a zombie, a new postmaster takes the lock file as held.
        It is this process's child (:func:`become_subreaper`), reaped here."""
        pid = self.postmaster_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            reap_orphans()
            time.sleep(0.02)
        return True

    def postgres_running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and _state(pid) not in (None, "Z")

    def start_postgres(self, timeout: float = 60.0) -> None:
        """Start the embedded server as ``serve`` does (``central.db.embedded``): its
        orphaned backends may hold the old shared memory for a moment, so retry."""
        from central.db import embedded

        embedded._server_type()  # imports pgserver (and makes pg_ctl)
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]
        from pgserver.utils import PostmasterInfo

        # A failed try (the old backends still hold the shared memory) is retried here;
        # pgserver logs each failure with its whole command line.
        logging.getLogger("pgserver").setLevel(logging.CRITICAL)
        user = "pgserver" if os.geteuid() == 0 else None
        socket_dir = embedded.socket_dir_for(self.pgdata.resolve())
        deadline = time.monotonic() + timeout
        while True:
            info = embedded.read_postmaster_info(PostmasterInfo, self.pgdata.resolve())
            if info is not None and info.status == "ready" \
                    and embedded.postmaster_alive(info.pid, self.pgdata.resolve()):
                return  # serve's watchdog started it (central.db.embedded.Watchdog)
            try:
                embedded._start(pg_ctl, PostmasterInfo, self.pgdata.resolve(),
                                self.pgdata / "log", socket_dir, user)
                return
            except embedded.EmbeddedError:
                if time.monotonic() > deadline:
                    raise
                reap_orphans()
                time.sleep(0.2)

    def stop_postgres(self) -> None:
        """Stop the postmaster if one still runs (``pg_ctl stop``, fast): ``serve``'s
        clean stop leaves it running once a ``serve`` was killed or the soak started it."""
        if not self.postgres_running():
            return
        from central.db import embedded

        embedded._server_type()
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=self.pgdata.resolve(), user=user)

    def connect(self) -> psycopg.Connection[Any]:
        from central.db.embedded import socket_dir_for

        return psycopg.connect(host=str(socket_dir_for(self.pgdata.resolve())),
                               user="postgres", dbname="prep_central", connect_timeout=5)

    def record_count(self) -> int | None:
        try:
            with self.connect() as conn:
                row = conn.execute("SELECT count(*) FROM records").fetchone()
                return int(row[0]) if row else 0
        except psycopg.Error:
            return None
