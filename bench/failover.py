"""Benchmark: the central's machine is lost mid-night and its synchronous standby takes
over (issue 31, docs/continuidad.md).

Real parts only: the primary is ``prep central serve`` on an embedded PostgreSQL; the
standby is made with ``prep central standby init`` (pg_basebackup), kept up by ``prep
central standby run`` and made synchronous (``standby sincrono``); two CATD stations
(the headless station library, their sync agents running) register an acopio every
``--interval`` seconds each. After ``--warmup`` seconds the primary's serve process and
its PostgreSQL are SIGKILLed (the machine is gone); the coordinator promotes the standby
(``prep central promote``) and starts ``prep central serve`` on it at the same address
(a floating IP in a real CATD network; the identity and certificate are the same, so
the stations' pins hold). The stations keep recording throughout.

Prints one JSON line:

- ``seconds``: from the kill to the first batch accepted by the promoted node (target
  ≤ 30, bar ≤ 60), of which ``promote_seconds`` (the promote command) and
  ``serve_start_seconds`` (serve up and answering);
- ``batches_resent``: batches the stations had receipted from the primary that the
  promoted node did not have and were sent again (0 with synchronous commit);
- ``lost`` / ``doubled``: records at the stations missing at the promoted node / stored
  twice there (both must be 0), out of ``records``.

Images are not part of this run: blobs are files beside the database and reach the
standby only through backups (docs/continuidad.md, "Imágenes").

    python3 -m bench.failover [--warmup 8] [--after 6] [--interval 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from central.db import make_engine
from central.db.embedded import start_server
from central.node.config import DataDir
from central.node.config import load_identity
from central.stations.operators import add_operator
from prep.station.station import Station
from prep.station.station import wait_until
from prep.station.sync import SyncOptions
from simulacro.nodo import kill_postmaster

REPO = Path(__file__).resolve().parents[1]
OPTIONS = SyncOptions(batch_records=20, backoff_base=0.2, backoff_cap=1.0, poll_interval=0.2,
                      heartbeat_interval=0, request_timeout=10, cursor_interval=2.0,
                      gather_seconds=0.1)
CATDS = ("07", "08")


def prep(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "prep", "central", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise SystemExit(f"prep central {' '.join(args)}: {done.stderr}")
    return done


def background(base: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    with (base / f"{name}.out").open("wb") as out, (base / f"{name}.err").open("wb") as err:
        return subprocess.Popen([sys.executable, "-m", "prep", "central", *args], cwd=REPO,
                                stdout=out, stderr=err)


def wait_line(base: Path, name: str, process: subprocess.Popen[bytes]) -> None:
    out = base / f"{name}.out"
    deadline = time.monotonic() + 120
    while b"\n" not in out.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{name} did not start: {(base / f'{name}.err').read_text()}")
        time.sleep(0.02)


def drain(station: Station) -> bool:
    """Whether ``station`` delivered everything within two minutes."""
    return bool(wait_until(lambda: station.status().backlog_records == 0, 120))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def central_dsn(data_dir: DataDir) -> str:
    return str(start_server(data_dir.pgdata).get_uri("prep_central"))


def batches_since(dsn: str, since: float) -> int:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM batches WHERE received_at > "
                           "to_timestamp(%s)", (since,)).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--after", type=float, default=6.0)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="prep-failover-"))
    base.chmod(0o755)  # the PostgreSQL account must reach both data directories
    primary, standby = DataDir(base / "primario"), DataDir(base / "standby")
    processes: list[subprocess.Popen[bytes]] = []
    stations: list[Station] = []
    try:
        port = free_port()
        prep("init", "--data-dir", str(primary.root))
        processes.append(serve_a := background(base, "serve-a", "serve", "--data-dir",
                                               str(primary.root), "--port", str(port)))
        wait_line(base, "serve-a", serve_a)
        url = f"https://127.0.0.1:{port}"
        cert = load_identity(primary).cert_sha256
        engine = make_engine(central_dsn(primary), pool_size=1)
        operators = {catd: add_operator(engine, f"Acopiador {catd}", "acopiador", catd,
                                        "contraseña de prueba larga", actor="bench").id
                     for catd in CATDS}
        engine.dispose()

        prep("standby", "init", "--data-dir", str(standby.root), "--primario-datos",
             str(primary.root))
        processes.append(run_b := background(base, "standby-run", "standby", "run",
                                             "--data-dir", str(standby.root)))
        wait_line(base, "standby-run", run_b)
        prep("standby", "sincrono", "--data-dir", str(primary.root))

        for catd in CATDS:
            code = prep("enroll-code", "--data-dir", str(primary.root), "--catd",
                        str(int(catd))).stdout.split()[-1]
            station = Station.open(base / f"estacion-{catd}")
            station.enroll(url, code, cert)
            station.start_sync(OPTIONS)
            stations.append(station)

        stop = threading.Event()

        def produce(station: Station, catd: str, offset: int) -> None:
            i = offset
            while not stop.wait(args.interval):
                station.acopio(f"{i // 1000:06d}B{i % 1000:06d}", operators[catd])
                i += 1

        producers = [threading.Thread(target=produce, args=(s, c, 100_000 * (n + 1)))
                     for n, (s, c) in enumerate(zip(stations, CATDS, strict=True))]
        for thread in producers:
            thread.start()
        time.sleep(args.warmup)

        # The primary's machine is lost.
        receipted = [s.outbox().last_delivered() for s in stations]
        killed = time.time()
        clock = time.monotonic()
        serve_a.kill()
        kill_postmaster(primary.pgdata)
        prep("promote", "--data-dir", str(standby.root), "--motivo",
             "benchmark: se perdió el primario")
        promote_seconds = time.monotonic() - clock
        run_b.send_signal(signal.SIGTERM)  # serve takes over its PostgreSQL
        run_b.wait(30)
        processes.append(serve_b := background(base, "serve-b", "serve", "--data-dir",
                                               str(standby.root), "--port", str(port)))
        wait_line(base, "serve-b", serve_b)
        serve_start_seconds = time.monotonic() - clock - promote_seconds
        dsn_b = central_dsn(standby)
        with psycopg.connect(dsn_b) as conn:
            cursors: dict[str, int] = {
                str(r[0]): int(r[1] or 0)
                for r in conn.execute("SELECT id, last_batch FROM stations").fetchall()}
        while batches_since(dsn_b, killed) == 0:
            if time.monotonic() - clock > 300:
                raise SystemExit("no batch reached the promoted node in 300 s")
            time.sleep(0.05)
        seconds = time.monotonic() - clock

        time.sleep(args.after)
        stop.set()
        for thread in producers:
            thread.join()
        drained = all([drain(s) for s in stations])
        resent = 0
        for station, before in zip(stations, receipted, strict=True):
            held = cursors.get(station.store.require_identity().station_id, 0)
            resent += max(0, before - held)
        local = total = distinct = 0
        with psycopg.connect(dsn_b) as conn:
            for station in stations:
                ident = station.store.require_identity().station_id
                local += station.status().records
                row = conn.execute("SELECT count(*), count(DISTINCT id) FROM records "
                                   "WHERE station = %s", (ident,)).fetchone()
                assert row is not None
                total, distinct = total + int(row[0]), distinct + int(row[1])
        print(json.dumps({
            "benchmark": "failover",
            "seconds": round(seconds, 2),
            "promote_seconds": round(promote_seconds, 2),
            "serve_start_seconds": round(serve_start_seconds, 2),
            "batches_resent": resent,
            "lost": local - distinct,
            "doubled": total - distinct,
            "records": local,
            "drained": drained,
            "stations": len(stations),
            "mode": "sincrono",
            "target_seconds": 30,
            "bar_seconds": 60,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }), flush=True)
    finally:
        for station in stations:
            station.stop_sync()
            station.close()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(30)
        for pid_file in base.glob("*/pgdata/postmaster.pid"):
            try:
                kill_postmaster(pid_file.parent)
            except (OSError, ValueError):
                pass
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.failover", main))
