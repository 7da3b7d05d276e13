"""The drill's central node, driven only through ``prep central …`` subprocesses.

``prep`` never imports ``central`` (an import contract): the drill is a coordinator at
a console. It runs ``init``, ``catalog load``, ``catd-distritos``, ``operator add``,
``enroll-code``, ``corte`` and ``report`` as commands, and keeps ``serve`` (HTTPS API with scheduled
cortes) and ``import-casilla --watch`` (the PREP Casilla feed) running as children.
Without ``--dsn`` the central keeps an embedded PostgreSQL in its data directory.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from simulacro.espera import EsperaAgotada
from simulacro.espera import esperar
from simulacro.espera import ritmo

#: Reference seconds (:mod:`simulacro.espera`) for a child to say it is up (``serve``
#: starts its embedded PostgreSQL; the origin, the intake and the standby less).
ARRANQUE_S = 30.0
#: Reference seconds for a one-shot ``prep central`` command (a full-scale corte is 7.5
#: CPU-s; ``init`` makes the schema; ``rebuild-state --check`` folds every record).
COMANDO_S = 150.0


class NodoError(RuntimeError):
    """A ``prep central`` command failed; the message carries its output."""


#: Minutes between the central's own scheduled cortes (``serve --corte-every``), besides
#: the drill's on-demand ones. Each is a whole corte of what the central holds: at full
#: scale 7.5 CPU-s as a command (snapshot 1.3 s, CSVs 1.0, site 1.2, writing 1.4) and
#: 13–56 s of wall time inside the loaded ``serve``, so one a minute made serve's
#: scheduler run almost back to back through the drain (27 cortes in a 1,552 s run).
#: ``serve`` makes one as it starts (and after the central's restart), so even the
#: shortest drill has scheduled cortes.
CORTE_EVERY_MINUTES = 3
log = logging.getLogger("simulacro.nodo")


class Nodo:
    """One central node: its data directory, its ``serve`` and intake children."""

    def __init__(self, data_dir: Path, publicacion: Path, logs: Path,
                 corte_every: int = CORTE_EVERY_MINUTES, reglas: Path | None = None,
                 atencion: int = 1, metricas: tuple[str, int] | None = None) -> None:
        self.data_dir = data_dir
        #: ``--metrics-host/--metrics-port`` of the first serve node (issue 68); its URL
        #: once serving (a restart keeps the port it got).
        self.metricas = metricas
        self.metrics_url = ""
        #: How many ``serve`` nodes answer the stations at once (``--nodos 2``: two, on
        #: the same primary, both in the stations' signed node list).
        self.atencion = atencion
        # The same rules for scheduled and on-demand cortes (and the drill's verdict).
        self.reglas = ["--reglas", str(reglas.resolve())] if reglas is not None else []
        self.publicacion = publicacion
        self.logs = logs
        self.corte_every = corte_every
        self.serve_process: subprocess.Popen[bytes] | None = None
        #: The second serve node (``atencion`` 2): its process, URL and port.
        self.second_process: subprocess.Popen[bytes] | None = None
        self.second_url = ""
        self.second_port = 0
        self.intake_process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.cert_sha256 = ""
        self.huella = ""  # SHA-256 of the central's public key (prep central init)
        self.port = 0
        self.starts = 0
        #: ``--nodos 2``: the synchronous standby's data directory and its ``standby
        #: run``; after :meth:`failover`, ``data_dir`` is the promoted standby's.
        self.standby_dir: Path | None = None
        self.standby_process: subprocess.Popen[bytes] | None = None
        self.intake_dir: Path | None = None
        #: After :meth:`failover`: the lost primary's data directory (issue 62).
        self.replaced_dir: Path | None = None
        #: What an earlier intake process counted (before a failover moved it).
        self.intake_before: dict[str, Any] = {}
        self.command_seconds = 0.0
        #: The drill's coordinator account (made on first use) and its password, kept in
        #: memory only: the coordinator's commands log in with it on stdin (issue 62).
        self._coordinador: tuple[str, str] | None = None
        #: CPU seconds of ``serve`` (every life: it is restarted once) and of the intake,
        #: read just before each is stopped (they are counted in the drill's children too).
        self.cpu: dict[str, float] = {"serve": 0.0, "import_casilla": 0.0}
        logs.mkdir(parents=True, exist_ok=True)

    # one-shot commands -------------------------------------------------------------

    def cli(self, *args: str, stdin: str | None = None, data_dir: Path | None = None) -> str:
        """``prep central ARGS --data-dir D``; its stdout. :class:`NodoError` on failure,
        :class:`~simulacro.espera.EsperaAgotada` if it does not end within its bound."""
        started = time.perf_counter()
        limite = ritmo().limite(COMANDO_S)
        try:
            done = subprocess.run([sys.executable, "-m", "prep", "central", *args,
                                   "--data-dir", str(data_dir or self.data_dir)],
                                  input=stdin, capture_output=True, text=True,
                                  timeout=limite, check=False, env=_env())
        except subprocess.TimeoutExpired:
            raise EsperaAgotada(f"prep central {' '.join(args[:2])} termina",
                                time.perf_counter() - started) from None
        finally:
            self.command_seconds += time.perf_counter() - started
        if done.returncode != 0:
            raise NodoError(f"prep central {' '.join(args)} terminó con {done.returncode}:\n"
                            + _tail(done.stderr))
        return done.stdout

    def init(self, catalogo: Path) -> None:
        # A drill's central: every corte it publishes says SIMULACRO (issue 28).
        said = self.cli("init", "--simulacro")
        # The institute's key fingerprint, as a technician copies it for the difusores.
        match = re.search(r"llave del nodo \(SHA-256\):\s*([0-9a-f]{64})", said)
        self.huella = match.group(1) if match else ""
        self.cli("catalog", "load", str(catalogo))

    def catd_distritos(self, distritos: Sequence[int], catds: int) -> None:
        """With fewer CATD stations than distritos, CATD ``(d - 1) % catds + 1`` receives
        distrito ``d``'s actas (the plan's stations): the central accepts a CATD's
        acopio and digitalización only for the distritos it receives."""
        for catd in range(1, catds + 1):
            others = [d for d in distritos if d != catd and (d - 1) % catds + 1 == catd]
            if others:
                self.cli("catd-distritos", "--catd", str(catd), "--distritos",
                         *map(str, others))

    def operators(self, rows: Sequence[tuple[str, str, int | None]], work_dir: Path
                  ) -> list[str]:
        """Accounts for ``(name, role, sitio)`` rows (``None``: the CCV) in one
        ``operator import``; their ids in the same order. The generated passwords go to
        a 0600 file in ``work_dir`` (the virtual operators never log in)."""
        table = work_dir / "operadores.csv"
        with table.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(("nombre", "rol", "sitio"))
            writer.writerows((name, role, "CCV" if sitio is None else str(sitio))
                             for name, role, sitio in rows)
        credenciales = work_dir / "credenciales.csv"
        credenciales.unlink(missing_ok=True)
        out_json = self.cli("operator", "import", str(table), "--credenciales",
                            str(credenciales))
        return [str(info["id"]) for info in json.loads(out_json)]

    def enroll_codes(self, sitios: Sequence[int | None]) -> list[str]:
        """One single-use enrollment code per site (``None``: the CCV), in order: one
        ``enroll-code`` for every CATD and one for the CCV."""
        catds = [s for s in sitios if s is not None]
        codes: dict[int | None, str] = {}
        if catds:
            lines = self.cli("enroll-code", "--catd", *map(str, catds), "--role",
                             "catd").split()
            codes.update(zip(catds, lines[:len(catds)], strict=True))
        if None in sitios:
            codes[None] = self.cli("enroll-code", "--ccv", "--role", "ccv").split()[0]
        return [codes[s] for s in sitios]

    def corte(self, ultimo: bool = False) -> dict[str, Any]:
        """A corte now (the coordinator's on-demand corte, logged in: the last one ends
        publication, a coordinator's decision); its JSON."""
        user, password = self.coordinador()
        out = self.cli("corte", "--publicacion", str(self.publicacion), *self.reglas,
                       *(["--ultimo"] if ultimo else []), "--coordinador", user,
                       "--password-stdin", stdin=password + "\n")
        return dict(json.loads(out.strip().splitlines()[-1]))

    def coordinador(self) -> tuple[str, str]:
        """The drill's coordinator (account id, password), made on first use with
        ``operator add`` as the installation's technician would."""
        if self._coordinador is None:
            password = secrets.token_urlsafe(18)
            out = self.cli("operator", "add", "--name", "Coordinación del simulacro",
                           "--role", "coordinador", "--central", "--password-stdin",
                           stdin=password + "\n")
            self._coordinador = (str(json.loads(out)["id"]), password)
        return self._coordinador

    def report_final(self, out: Path) -> None:
        self.cli("report", "final", "--out", str(out))

    def read_only_dsn(self, usuario: str = "tablero_simulacro") -> str:
        """A DSN for ``prep dashboard``: a read-only login on the central's PostgreSQL
        (``prep central read-only-user``, as a technician makes it: only ``prep_lectura``,
        bounded statements and connections)."""
        return self.cli("read-only-user", usuario).strip().splitlines()[-1]

    def difusor_alta(self, nombre: str, url: str) -> tuple[str, str]:
        """``prep central difusor alta``: a difusor's id and one-time registration code,
        as the institute hands them to it (issue 30; its cosignatures: issue 67)."""
        out = json.loads(self.cli("difusor", "alta", "--nombre", nombre, "--url", url)
                         .strip().splitlines()[0])
        return str(out["difusor"]), str(out["codigo"])

    @property
    def llave(self) -> Path:
        """The central's signing key (its data directory's ``central.key``): the drill
        plays someone who holds it (the forged history of issue 67)."""
        return self.data_dir / "central.key"

    # long-running children ---------------------------------------------------------

    def serve(self) -> None:
        """Start ``serve`` (the previous port on a restart, so stations keep their URL)
        with cortes scheduled from now; wait for its JSON line. The first start fixes the
        Consejo's window; a restart follows the stored one, as a technician's would.
        With ``atencion`` 2 a second ``serve`` starts at the same time (the night's clock
        does not wait for one start after the other)."""
        self.starts += 1
        ventana = ["--publicacion-inicio", "ahora"] if self.starts == 1 else []
        self.serve_process, first = self._start_serve(f"central-{self.starts}", self.port,
                                                      ventana + self._metricas())
        second = None
        if self.atencion > 1 and self.starts > 1:
            # The window is stored since the first start: both may start together.
            self.second_process, second = self._start_serve(f"central-b-{self.starts}",
                                                            self.second_port, [])
        info = first()
        self.url = str(info["url"])
        self.metrics_url = str(info.get("metrics_url", ""))
        self.cert_sha256 = str(info["cert_sha256"])
        self.port = urlsplit(self.url).port or 0
        if self.atencion > 1 and second is None:
            self.second_process, second = self._start_serve(f"central-b-{self.starts}",
                                                            self.second_port, [])
        if second is not None:
            self.second_url = str(second()["url"])
            self.second_port = urlsplit(self.second_url).port or 0
            if self.starts == 1:
                # The stations' signed node list (prep central nodos, docs/continuidad.md):
                # both nodes, each station at its own and the other when it fails.
                for url in self.urls:
                    self.cli("nodos", "agregar", "--url", url)

    @property
    def urls(self) -> list[str]:
        """Every serve node answering the stations, the first one first."""
        return [self.url, *([self.second_url] if self.second_url else [])]

    def _metricas(self) -> list[str]:
        if self.metricas is None:
            return []
        host, port = self.metricas
        if self.metrics_url:  # a restart: the port the first start got
            port = urlsplit(self.metrics_url).port or port
        return ["--metrics-host", host, "--metrics-port", str(port)]

    def _start_serve(self, name: str, port: int, ventana: list[str]
                     ) -> tuple[subprocess.Popen[bytes], Callable[[], dict[str, Any]]]:
        """Start one ``serve`` of this central (a second one shares the primary and the
        data directory: its blobs, its certificate; the scheduled cortes run on whichever
        node holds the scheduler's lock); and how to wait for its JSON line."""
        stdout = self.logs / f"{name}.json"
        with stdout.open("wb") as out, (self.logs / f"{name}.log").open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "prep", "central", "serve", "--data-dir",
                 str(self.data_dir), "--host", "127.0.0.1", "--port", str(port),
                 *ventana, "--corte-every", str(self.corte_every),
                 "--publicacion", str(self.publicacion), *self.reglas],
                stdout=out, stderr=err, env=_env())
        return process, lambda: _first_json_line(stdout, process, self.logs / f"{name}.log")

    def stop_serve(self) -> None:
        # Both serve nodes told to stop before waiting for either: their orderly ways
        # out overlap instead of adding up on the night's clock.
        if self.second_process is not None and self.second_process.poll() is None:
            self._count_cpu(self.second_process, "serve")
            self.second_process.send_signal(signal.SIGTERM)
        self._stop(self.serve_process, "serve")
        _terminate(self.second_process)

    def restart(self) -> None:
        self.stop_serve()
        self.serve()

    def add_standby(self, standby_dir: Path) -> None:
        """A synchronous hot standby of the central's PostgreSQL (``--nodos 2``, issue
        31): ``standby init`` from the primary, ``standby run`` kept as a child, then
        ``standby sincrono`` on the primary: from here on every receipt waits for it."""
        self.standby_dir = standby_dir
        self.cli("standby", "init", "--primario-datos", str(self.data_dir),
                 data_dir=standby_dir)
        stdout = self.logs / "standby-run.json"
        with stdout.open("wb") as out, (self.logs / "standby-run.log").open("wb") as err:
            self.standby_process = subprocess.Popen(
                [sys.executable, "-m", "prep", "central", "standby", "run", "--data-dir",
                 str(standby_dir)], stdout=out, stderr=err, env=_env())
        _first_json_line(stdout, self.standby_process, self.logs / "standby-run.log")
        self.cli("standby", "sincrono")

    def failover(self) -> float:
        """The primary's machine is lost: its ``serve``, its intake and its PostgreSQL
        are SIGKILLed (both serve nodes: they ran on that machine); the standby is
        promoted (``prep central promote``) and serves at the same addresses (floating
        IPs), the intake with it. Seconds until it answers."""
        if self.standby_dir is None:
            raise NodoError("no hay standby: el simulacro corre con --nodos 1")
        started = time.monotonic()
        intake = self.intake_process is not None and self.intake_process.poll() is None
        self._kill(self.serve_process, "serve")
        self._kill(self.second_process, "serve")
        if intake:
            # The intake watcher is stopped in order (its counts so far kept) and started
            # again against the promoted node: PostgreSQL and serve are what is lost.
            self.intake_before = self.intake_counts()
        kill_postmaster(self.data_dir / "pgdata")
        self.cli("promote", "--motivo", "simulacro: se perdió la máquina del primario",
                 data_dir=self.standby_dir)
        self.replaced_dir = self.data_dir
        self.data_dir, self.standby_dir = self.standby_dir, None
        self.serve()
        if intake and self.intake_dir is not None:
            self.start_intake(self.intake_dir)
        return time.monotonic() - started

    def replaced_primary_publishes(self, publicacion: Path) -> list[str]:
        """The lost primary's machine comes back (still synchronous, its standby now the
        primary) and someone runs ``prep central corte`` on it: what it published in
        ``publicacion`` (nothing: it cannot confirm it is the primary; issue 62). Its
        PostgreSQL, started by the command, is stopped again."""
        if self.replaced_dir is None:
            return []
        try:
            self.cli("corte", "--publicacion", str(publicacion), data_dir=self.replaced_dir)
        except (NodoError, EsperaAgotada) as exc:  # refused, or waiting: both publish nothing
            log.info("el primario anterior no publicó: %s", exc)
        finally:
            kill_postmaster(self.replaced_dir / "pgdata")
        if not publicacion.exists():
            return []
        return sorted(p.name for p in publicacion.iterdir() if not p.name.startswith("."))

    def start_intake(self, directory: Path) -> None:
        """``import-casilla DIR --watch``: the PREP Casilla photos' way in."""
        self.intake_dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        stdout = self.logs / "import-casilla.json"
        with stdout.open("wb") as out, (self.logs / "import-casilla.log").open("wb") as err:
            self.intake_process = subprocess.Popen(
                [sys.executable, "-m", "prep", "central", "import-casilla", str(directory),
                 "--watch", "--poll", "0.2", "--stable", "0.2", "--data-dir",
                 str(self.data_dir)], stdout=out, stderr=err, env=_env())
        _first_json_line(stdout, self.intake_process, self.logs / "import-casilla.log")

    def intake_counts(self) -> dict[str, Any]:
        """Stop the intake watcher; the counts it prints on the way out (added to those
        of an earlier intake process, before a failover)."""
        self._stop(self.intake_process, "import_casilla")
        lines = (self.logs / "import-casilla.json").read_text(encoding="utf-8").splitlines()
        counts = dict(json.loads(lines[-1])) if len(lines) > 1 else {}
        return _added(self.intake_before, counts)

    def close(self) -> None:
        self._stop(self.intake_process, "import_casilla")
        self._stop(self.serve_process, "serve")
        self._stop(self.second_process, "serve")
        _terminate(self.standby_process)

    def _kill(self, process: subprocess.Popen[bytes] | None, name: str) -> None:
        """SIGKILL a long-running child (a machine lost), its CPU counted first."""
        if process is not None and process.poll() is None:
            try:
                self.cpu[name] += _own_ticks(_proc_stat(process.pid)) / os.sysconf(
                    "SC_CLK_TCK")
            except (OSError, ValueError, IndexError):
                pass
            process.kill()
            process.wait()

    def _stop(self, process: subprocess.Popen[bytes] | None, name: str) -> None:
        """Stop a long-running child, its CPU so far added to :attr:`cpu` first (once
        reaped, ``/proc`` has it no more; its way out is a fraction of a second)."""
        if process is not None and process.poll() is None:
            self._count_cpu(process, name)
        _terminate(process)

    def _count_cpu(self, process: subprocess.Popen[bytes], name: str) -> None:
        try:
            ticks = _own_ticks(_proc_stat(process.pid))  # all its threads
        except (OSError, ValueError, IndexError):
            ticks = 0  # ended meanwhile, or not Linux
        self.cpu[name] += ticks / os.sysconf("SC_CLK_TCK")

    def postgres_cpu(self) -> float | None:
        """CPU seconds the embedded PostgreSQL has used so far: the postmaster, the
        backends that ended (its children's times) and the ones running. pg_ctl detaches
        the server from the drill, so the drill's own children's times leave it out.
        ``None`` when the server is not running (or not on Linux's ``/proc``)."""
        try:
            pid = int((self.data_dir / "pgdata" / "postmaster.pid").read_text(
                encoding="ascii").split("\n", 1)[0])
            fields = _proc_stat(pid)
        except (OSError, ValueError, IndexError):
            return None
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                child = _proc_stat(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile
            if child[1] == str(pid):  # ppid
                ticks += _own_ticks(child)
        return round(ticks / os.sysconf("SC_CLK_TCK"), 1)


def _proc_stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (state is field 0)."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    return text.rsplit(")", 1)[1].split()


def _own_ticks(fields: list[str]) -> int:
    """A process's own CPU (utime + stime, clock ticks) from :func:`_proc_stat`."""
    return int(fields[11]) + int(fields[12])


def _added(before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """Two intake processes' counts as one (numbers added, per-reason counts too)."""
    out = dict(now)
    for key, value in before.items():
        if isinstance(value, dict):
            merged = dict(out.get(key) or {})
            for reason, count in value.items():
                merged[reason] = merged.get(reason, 0) + count
            out[key] = merged
        elif isinstance(value, int | float):
            out[key] = out.get(key, 0) + value
    return out


def kill_postmaster(pgdata: Path) -> None:
    """SIGKILL the PostgreSQL of ``pgdata`` (its postmaster; the backends die with it)
    and wait until it is gone."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text(encoding="ascii").split("\n", 1)[0])
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.02)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _first_json_line(stdout: Path, process: subprocess.Popen[bytes],
                     log: Path) -> dict[str, Any]:
    """The JSON line a child prints once it is up: :class:`NodoError` if it ended
    first, :class:`~simulacro.espera.EsperaAgotada` if it is still starting when its
    bound (:data:`ARRANQUE_S` at this machine's pace) runs out; both with its log."""
    line: list[bytes] = []

    def llego() -> bool:
        parts = stdout.read_bytes().split(b"\n", 1)
        if len(parts) == 2:
            line.append(parts[0])
        return bool(line)

    def revisar() -> None:
        if process.poll() is not None:
            raise NodoError(f"el proceso {log.stem} no arrancó; su bitácora ({log}):\n"
                            + _tail(log.read_text(encoding="utf-8", errors="replace")))

    try:
        esperar(llego, f"{log.stem} dice que está listo (su línea JSON de arranque)",
                ARRANQUE_S, revisar=revisar, cada=0.05)
    except EsperaAgotada as exc:
        _terminate(process)
        raise EsperaAgotada(exc.evento, exc.segundos, f"{exc.base}; su bitácora ({log}):\n"
                            + _tail(log.read_text(encoding="utf-8", errors="replace"), 10)
                            ) from None
    except NodoError:
        _terminate(process)
        raise
    return dict(json.loads(line[0]))


def _terminate(process: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])
