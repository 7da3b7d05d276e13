"""Benchmark: central ingest over HTTPS, against raw COPY of the same rows.

Starts a real central (``prep central serve`` subprocess, as in the tests) on an
embedded PostgreSQL, enrolls ``--clients`` stations, and has them send their batches
concurrently (one asyncio task and one HTTPS connection each). An acta is five signed
records that need no image: acopio, two captures, a verification and a cotejo.

The batches are built and signed before the clock starts, as a station does when it
freezes its outbox; the timed part is what the central does: HTTPS, parsing, signature
and chain checks, one transaction per batch, the signed receipt (verified by the client).
Then the same rows are COPY'd into a scratch table with the records' columns, on the
same server, for the raw rate PostgreSQL allows.

Prints one JSON line. Target (issue 3): ``actas_per_s`` ≥ 1000 on the 2-core machine.

``--metrics on`` runs the central with ``--metrics-port`` and scrapes it every
``--scrape-every`` seconds while the stations send (the database collector included);
``--metrics both --rounds N`` alternates N runs without and N with metrics, each on a
fresh central, and prints the medians and the overhead (target, issue 68: ≤ 2 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from prep.crypto import SigningKey
from prep.protocol import GENESIS
from prep.protocol import Batch
from prep.protocol import make_batch
from prep.protocol import verify_receipt
from prep.records import Kind
from prep.records import Record
from prep.records import new_record
from simulacro.calibracion import python_loop_ms
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.postgres import embedded_server

RECORDS_PER_ACTA = 5
VALORES = {"PAN": 112, "PRI": 87, "MORENA": 301, "PVEM": 25, "PT": 19, "MC": 64,
           "CANDIDATOS_NO_REGISTRADOS": 1, "NULOS": 9}
COLUMNS = ("id", "station", "seq", "kind", "operator", "at", "replaces", "body", "sha256",
           "batch_number", "received_at")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--actas", type=int, default=2000, help="actas per client")
    parser.add_argument("--batch-records", type=int, default=500,
                        help="records per batch (a multiple of 5, at most 500)")
    parser.add_argument("--metrics", choices=("off", "on", "both"), default="off",
                        help="serve's Prometheus endpoint, scraped while sending")
    parser.add_argument("--scrape-every", type=float, default=5.0, metavar="S")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each with --metrics both")
    args = parser.parse_args()
    if args.batch_records % RECORDS_PER_ACTA or not 0 < args.batch_records <= 500:
        parser.error("--batch-records must be a multiple of 5 between 5 and 500")
    bucle_inicio = python_loop_ms()  # the machine's speed (simulacro/calibracion.py)
    common = {"clients": args.clients, "batch_records": args.batch_records,
              "actas": args.clients * args.actas, "target_actas_per_s": 1000,
              "python": platform.python_version(), "cpus": os.cpu_count(),
              "calibracion": {"bucle_python_ms": {"inicio": bucle_inicio}},
              "carga_1min": os.getloadavg()[0]}
    if args.metrics != "both":
        run = _run(args, metrics=args.metrics == "on")
        print(json.dumps({"benchmark": "ingest", **run, **common, "metrics": args.metrics}))
        return
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            runs[mode].append(_run(args, metrics=mode == "on"))
    off = statistics.median(r["actas_per_s"] for r in runs["off"])
    on = statistics.median(r["actas_per_s"] for r in runs["on"])
    cpu_off = statistics.median(r["cpu_ms_per_acta"] for r in runs["off"])
    cpu_on = statistics.median(r["cpu_ms_per_acta"] for r in runs["on"])
    print(json.dumps({
        "benchmark": "ingest_metrics_overhead", "actas_per_s_off": off,
        "actas_per_s_on": on, "overhead_pct": round((off - on) * 100 / off, 2),
        # CPU (serve + PostgreSQL) per acta: what a shared machine's load disturbs least
        "cpu_ms_per_acta_off": cpu_off, "cpu_ms_per_acta_on": cpu_on,
        "cpu_overhead_pct": round((cpu_on - cpu_off) * 100 / cpu_off, 2),
        "runs_cpu_off": [r["cpu_ms_per_acta"] for r in runs["off"]],
        "runs_cpu_on": [r["cpu_ms_per_acta"] for r in runs["on"]],
        "target_overhead_pct": 2, "rounds": args.rounds, "scrape_every_s": args.scrape_every,
        "scrapes": sum(r["scrapes"] for r in runs["on"]),
        "runs_off": [r["actas_per_s"] for r in runs["off"]],
        "runs_on": [r["actas_per_s"] for r in runs["on"]], **common}))


def _run(args: argparse.Namespace, metrics: bool) -> dict[str, Any]:
    """One run on a fresh central: rates, and the scrapes made meanwhile."""
    extra = ["--metrics-port", "0"] if metrics else []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp, \
            embedded_server(Path(tmp)) as admin_dsn, \
            running_central(Path(tmp) / "node", admin_dsn, extra_args=extra) as node:
        clients = [_Client.enroll(node, i + 1) for i in range(args.clients)]
        for client in clients:
            client.prepare(args.actas, args.batch_records)
        assert node.process is not None
        pgdata = Path(tmp) / "pgdata"
        scraper = _Scraper(node.metrics_url, args.scrape_every) if metrics else None
        cpu = _cpu(node.process.pid), _postgres_cpu(pgdata)
        started = time.perf_counter()
        try:
            asyncio.run(_send_all(node, clients))
        finally:
            seconds = time.perf_counter() - started
            scrapes = scraper.stop() if scraper is not None else 0
        serve_cpu = _cpu(node.process.pid) - cpu[0]
        postgres_cpu = _postgres_cpu(pgdata) - cpu[1]
        records = [r for c in clients for batch in c.batches for r in batch.records]
        _check_stored(node, len(records))
        copy_seconds = _copy(node.dsn, clients)
    actas = args.clients * args.actas
    return {"actas_per_s": round(actas / seconds),
            "copy_rows_per_s": round(len(records) / copy_seconds),
            "records_per_s": round(len(records) / seconds), "seconds": round(seconds, 3),
            "records": len(records), "scrapes": scrapes,
            "serve_cpu_s": round(serve_cpu, 3), "postgres_cpu_s": round(postgres_cpu, 3),
            "cpu_ms_per_acta": round((serve_cpu + postgres_cpu) * 1000 / actas, 4)}


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()  # after the command name


def _cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of ``pid`` (and of its children that ended, with ``children``)."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def _postgres_cpu(pgdata: Path) -> float:
    """CPU seconds of the embedded PostgreSQL: its postmaster, its live backends and
    those that ended (the metrics' connection is one of them)."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    total = _cpu(postmaster, children=True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = _stat(int(entry))
            except (OSError, ValueError):
                continue
            if int(fields[1]) == postmaster:  # ppid
                total += _cpu(int(entry))
    return total


class _Scraper:
    """Scrapes the central's metrics every ``every`` seconds (one right away), as a
    Prometheus would, in a thread of its own."""

    def __init__(self, url: str, every: float) -> None:
        self.url = url
        self.every = every
        self.done = threading.Event()
        self.count = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.done.is_set():
            with urllib.request.urlopen(self.url, timeout=30) as response:
                body = response.read()
            if b"prep_database_up 1.0" not in body:
                raise RuntimeError("the metrics scrape did not read the database")
            self.count += 1
            self.done.wait(self.every)

    def stop(self) -> int:
        self.done.set()
        self.thread.join(timeout=60)
        return self.count


class _Client:
    """One enrolled station and its prebuilt, signed batches."""

    def __init__(self, station_id: str, key: SigningKey, index: int) -> None:
        self.station_id = station_id
        self.key = key
        self.index = index
        self.batches: list[Batch] = []
        self.bodies: list[bytes] = []

    @classmethod
    def enroll(cls, node: CentralNode, index: int) -> _Client:
        key = SigningKey.generate()
        status, body = node.request("POST", "/v1/enroll", json.dumps({
            "code": node.enroll_code(catd=index), "public_key": key.public.b64(),
            "hostname": f"bench-{index}"}).encode())
        if status != 200:
            raise RuntimeError(f"enrollment failed: {body!r}")
        return cls(json.loads(body)["station_id"], key, index)

    def prepare(self, actas: int, batch_records: int) -> None:
        records: list[Record] = []
        for n in range(actas):
            clave = f"09{self.index:04d}B{n:06d}"
            records.extend(self._acta(clave, len(records) + 1))
        prev = GENESIS
        for number, start in enumerate(range(0, len(records), batch_records), 1):
            batch, body = make_batch(self.key, self.station_id, number, prev,
                                     records[start:start + batch_records])
            self.batches.append(batch)
            self.bodies.append(body)
            prev = batch.sha256

    def _acta(self, clave: str, seq: int) -> list[Record]:
        now = datetime.now(UTC)
        work = {"clave_acta": clave, "imagen_sha256": "0" * 64, "lease": None}
        steps: list[tuple[Kind, str, dict[str, Any]]] = [
            (Kind.ACOPIO, "acopio1", {"clave_acta": clave}),
            (Kind.CAPTURA, "captura1", {**work, "valores": VALORES}),
            (Kind.CAPTURA, "captura2", {**work, "valores": VALORES}),
            (Kind.VERIFICACION, "verif1", {**work, "valores": VALORES,
                                           "motivo": "valores leídos en la imagen"}),
            (Kind.COTEJO, "verif1", {"clave_acta": clave, "coincide": True}),
        ]
        return [new_record(self.station_id, seq + i, kind, operator, body, at=now)
                for i, (kind, operator, body) in enumerate(steps)]


async def _send_all(node: CentralNode, clients: list[_Client]) -> None:
    await asyncio.gather(*(_send(node, client) for client in clients))


async def _send(node: CentralNode, client: _Client) -> None:
    async with node.session() as session:
        for batch, body in zip(client.batches, client.bodies, strict=True):
            async with session.post("/v1/batches", data=body,
                                    headers={"Content-Type": "application/json"}) as response:
                answer = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"batch {batch.number} refused: {answer!r}")
            verify_receipt(answer, node.central_key, batch)


def _check_stored(node: CentralNode, expected: int) -> None:
    with psycopg.connect(node.dsn) as conn:
        row = conn.execute("SELECT count(*) FROM records").fetchone()
    if row is None or row[0] != expected:
        raise RuntimeError(f"{row} records stored, {expected} expected")


def _copy(dsn: str, clients: list[_Client]) -> float:
    """Seconds to COPY every record's row into a scratch table like ``records``."""
    received_at = datetime.now(UTC)
    rows = [(r.id, r.station, r.seq, r.kind.value, r.operator, r.at, r.replaces,
             Jsonb(dict(r.body)), r.sha256, batch.number, received_at)
            for c in clients for batch in c.batches for r in batch.records]
    scratch = sql.Identifier("bench_copy")
    columns = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE records INCLUDING DEFAULTS)")
                     .format(scratch))
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(
                sql.SQL("COPY {} ({}) FROM STDIN").format(scratch, columns)) as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute(sql.SQL("DROP TABLE {}").format(scratch))
        conn.commit()
    return seconds


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.ingest", main))
