"""Starting the drill's stations by ``fork`` from one process that imported them once.

Each drill station is its own process (its own interpreter, SQLite store, blob folder
and signals), but starting 34 Python interpreters that each import SQLAlchemy, aiohttp,
Pillow and the station took ≈1 s of CPU apiece: a tenth of a 3,996-acta drill's CPU,
and its stations' set-up took 36–38 s instead of 21 on two cores. The *zygote* (``python -m
simulacro.zygote``) imports :mod:`simulacro.estacion` and then only forks:
each child is a fresh station process that runs :func:`simulacro.estacion.main`
with the modules already loaded. The zygote starts no thread, opens no connection and
touches no station data before forking, so a child starts from a clean slate.

The drill talks to it over a pipe, one line each way:

- drill → zygote: ``start NAME LOG CONFIG`` (tab-separated); the child's stderr goes
  to LOG, its stdin and stdout to ``/dev/null``;
- zygote → drill: ``ready`` once, ``started NAME PID``, and ``exited PID CODE`` for each
  child it reaps (``CODE`` as :attr:`subprocess.Popen.returncode`: negative for a signal).

The drill signals the children itself (``os.kill``); the zygote only forks and reaps.
It blocks the terminal's Ctrl+C and the signals the stations handle (its children handle
theirs) and exits when the drill closes the pipe and its last child is reaped. A child
inherits those signals blocked; the station unblocks them once its own handlers are in
place, so a stop sent the moment it starts waits for them instead of being lost.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

#: The signals a station handles (its stop, the link down and up): blocked in the
#: zygote, so its children start with them pending rather than lost or fatal.
STATION_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2})
READY_TIMEOUT = 120.0


class ZygoteError(subprocess.SubprocessError):
    """The zygote did not start or stopped answering."""


class ForkedStation:
    """A station process the zygote forked: the part of :class:`subprocess.Popen` the
    drill uses (``pid``, ``poll``, ``wait``, ``send_signal``, ``kill``,
    ``returncode``)."""

    def __init__(self, zygote: Zygote, name: str, pid: int) -> None:
        self.zygote = zygote
        self.name = name
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self.zygote.changed:
            if not self.zygote.changed.wait_for(
                    lambda: self.returncode is not None or self.zygote.gone, timeout):
                raise subprocess.TimeoutExpired(self.name, timeout or 0.0)
        if self.returncode is None:
            raise ZygoteError(f"el proceso que arranca las estaciones terminó sin informar "
                              f"el fin de {self.name}")
        return self.returncode

    def send_signal(self, sig: int) -> None:
        # Reaped processes are never signalled (their pid may be someone else's now).
        with self.zygote.changed:
            if self.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Zygote:
    """The drill's end of the zygote: start it, ask it for stations, close it."""

    def __init__(self, log: Path) -> None:
        with log.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "simulacro.zygote"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=err)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._to: IO[bytes] = self.process.stdin
        self._from: IO[bytes] = self.process.stdout
        self.changed = threading.Condition()
        self.gone = False
        self._by_pid: dict[int, ForkedStation] = {}
        self._exited: dict[int, int] = {}  # reaped before its "started" was read
        self._started: dict[str, int] = {}
        self._ready = False
        self._reader = threading.Thread(target=self._read, name="zygote", daemon=True)
        self._reader.start()
        with self.changed:
            if not self.changed.wait_for(lambda: self._ready or self.gone, READY_TIMEOUT):
                self.close()
                raise ZygoteError(f"el proceso que arranca las estaciones no quedó listo en "
                                  f"{READY_TIMEOUT:.0f} s; vea {log}")
        if not self._ready:
            self.close()
            raise ZygoteError(f"el proceso que arranca las estaciones terminó al arrancar; "
                              f"vea {log}")

    def start(self, name: str, log: Path, config: Path) -> ForkedStation:
        """Fork the station ``name`` (config file ``config``, stderr appended to ``log``)."""
        if any(part for part in (name, str(log), str(config)) if "\t" in part or "\n" in part):
            raise ValueError("names and paths must not contain tabs or line ends")
        with self.changed:
            self._started.pop(name, None)
            try:
                self._to.write(f"start\t{name}\t{log}\t{config}\n".encode())
                self._to.flush()
            except (BrokenPipeError, ValueError):
                raise ZygoteError("el proceso que arranca las estaciones ya no responde") \
                    from None
            if not self.changed.wait_for(lambda: name in self._started or self.gone,
                                         READY_TIMEOUT):
                raise ZygoteError(f"no se pudo arrancar la estación {name}")
            if name not in self._started:
                raise ZygoteError(f"el proceso que arranca las estaciones terminó; no se "
                                  f"pudo arrancar la estación {name}")
            station = ForkedStation(self, name, self._started.pop(name))
            self._by_pid[station.pid] = station
            if station.pid in self._exited:
                station.returncode = self._exited.pop(station.pid)
            return station

    def close(self, timeout: float = 30.0) -> None:
        """Close the pipe: the zygote exits once its last child is reaped (killed if it
        has not after ``timeout``)."""
        with contextlib.suppress(OSError, ValueError):
            self._to.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(5.0)
        with contextlib.suppress(OSError):
            self._from.close()

    def _read(self) -> None:
        try:
            for raw in self._from:
                what, *args = raw.decode("utf-8", "replace").split()
                with self.changed:
                    if what == "ready":
                        self._ready = True
                    elif what == "started" and len(args) == 2:
                        self._started[args[0]] = int(args[1])
                    elif what == "exited" and len(args) == 2:
                        pid, code = int(args[0]), int(args[1])
                        station = self._by_pid.pop(pid, None)
                        if station is None:
                            self._exited[pid] = code
                        else:
                            station.returncode = code
                    self.changed.notify_all()
        finally:
            with self.changed:
                self.gone = True
                self.changed.notify_all()


# the zygote process -------------------------------------------------------------------


def serve() -> int:
    """The zygote: import the station, then fork one per request and report each
    reaped child. In a child, returns that station's exit code (the interpreter then
    exits as a station started on its own would: threads joined, ``atexit`` run)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STATION_SIGNALS)
    from simulacro import estacion  # the point: imported once, here

    job = _loop()
    if job is None:
        return 0
    log, config = job
    devnull = os.open(os.devnull, os.O_RDWR)
    err = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for fd, target in ((0, devnull), (1, devnull), (2, err)):
        os.dup2(target, fd)
    os.close(devnull)
    os.close(err)
    sys.argv = ["simulacro.estacion", config]
    return estacion.main([config])


def _loop() -> tuple[str, str] | None:
    """Fork a child per ``start`` line until the pipe closes and the last child is
    reaped (``None``); in a child, its ``(log, config)``."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _s, _f: None)
    out = sys.stdout.buffer
    stdin = sys.stdin.fileno()
    pending = b""
    children: set[int] = set()
    open_pipe = True

    def say(line: str) -> None:
        with contextlib.suppress(BrokenPipeError):
            out.write(line.encode() + b"\n")
            out.flush()

    say("ready")
    while open_pipe or children:
        watched = [wake_r] + ([stdin] if open_pipe else [])
        try:
            readable, _, _ = select.select(watched, [], [], 5.0)
        except InterruptedError:
            readable = []
        if wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 512)
        if stdin in readable:
            chunk = os.read(stdin, 65536)
            open_pipe = bool(chunk)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                what, *args = line.decode("utf-8", "replace").split("\t")
                if what != "start" or len(args) != 3:
                    print(f"zygote: petición desconocida: {line!r}", file=sys.stderr,
                          flush=True)
                    continue
                name, log, config = args
                sys.stdout.flush()
                named_r, named_w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    os.close(wake_r)
                    os.close(wake_w)
                    os.close(named_r)
                    _own_names(name)
                    os.close(named_w)  # named: the zygote may say it started
                    return log, config
                os.close(named_w)
                os.read(named_r, 1)  # until the child has its name (or died)
                os.close(named_r)
                children.add(pid)
                say(f"started {name} {pid}")
        while children:  # reap
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if pid == 0:
                break
            children.discard(pid)
            say(f"exited {pid} {os.waitstatus_to_exitcode(status)}")
    return None


def _own_names(name: str) -> None:
    """In a child: its thread's id as the kernel knows it (Python 3.11 keeps the
    zygote's after ``fork``, and the station reads its threads' CPU from
    ``/proc/self/task/<id>``), and the station's name in ``ps``/``top`` (the command line
    stays the zygote's)."""
    main = threading.current_thread()
    set_native_id = getattr(main, "_set_native_id", None)
    if callable(set_native_id):
        set_native_id()
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(f"prep-{name}"[:15], encoding="utf-8")


if __name__ == "__main__":
    sys.exit(serve())
