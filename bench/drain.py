"""Benchmark: a station drains a backlog of 2,000 actas, each with a 250 KB image, to a
real central node (subprocess, HTTPS on loopback, embedded PostgreSQL).

Prints one JSON object. Target (issue 3): ``seconds`` ≤ 60 on the 2-core machine. The
backlog is built first (not timed: acopio and digitalización happened during the
outage); the timed part is the sync agent delivering everything, from the first frozen
batch to the last receipt: image uploads (re-hashed by the central), signed batches,
receipts verified and stored. Afterwards the central's PostgreSQL is checked to hold
every record exactly once.

    python3 bench/drain.py [--actas 2000] [--image-kb 250]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prep.station.station import Station  # noqa: E402
from prep.station.sync import SyncOptions  # noqa: E402
from tests.harness.central import running_central  # noqa: E402
from tests.harness.images import padded_jpeg  # noqa: E402
from tests.harness.postgres import server_dsn  # noqa: E402
from tests.harness.work import site_account  # noqa: E402


def build_backlog(station: Station, actas: int, image_bytes: int, acopiador: str,
                  digitalizador: str) -> int:
    """Acopio and image (a whole JPEG: the central stores nothing else) of ``actas``
    actas by real accounts of the station's CATD; returns the images' total bytes."""
    total = 0
    for i in range(actas):
        clave = f"{i // 1000:06d}B{i % 1000:06d}"
        station.acopio(clave, acopiador)
        image = padded_jpeg(image_bytes)
        station.imagen(clave, image, "image/jpeg", digitalizador)
        total += len(image)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actas", type=int, default=2000)
    parser.add_argument("--image-kb", type=int, default=250)
    parser.add_argument("--batch-records", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="prep-drain-") as tmp:
        base = Path(tmp)
        (base / "postgres").mkdir()
        with server_dsn(base / "postgres") as admin_dsn, \
                running_central(base / "central", admin_dsn) as node:
            station = Station.open(base / "station")
            identity = station.enroll(node.url, node.enroll_code(catd=7), node.cert_sha256)
            started = time.perf_counter()
            blob_bytes = build_backlog(station, args.actas, args.image_kb * 1000,
                                       site_account(node, "acopiador", "07"),
                                       site_account(node, "digitalizador", "07"))
            backlog_seconds = time.perf_counter() - started
            records = station.status().backlog_records

            started = time.perf_counter()
            drained = station.sync_until_drained(
                600, SyncOptions(batch_records=args.batch_records, heartbeat_interval=0))
            seconds = time.perf_counter() - started

            status = station.status()
            with psycopg.connect(node.dsn) as conn:
                stored, distinct = conn.execute(
                    "SELECT count(*), count(DISTINCT id) FROM records WHERE station = %s",
                    (identity.station_id,)).fetchone() or (0, 0)
            station.close()
    print(json.dumps({
        "benchmark": "drain",
        "actas": args.actas,
        "seconds": round(seconds, 2),
        "blob_mb": round(blob_bytes / 1e6, 1),
        "records": records,
        "batches": status.batches,
        "drained": drained and status.backlog_records == 0,
        "central_records": stored,
        "exactly_once": stored == distinct == records,
        "mb_per_second": round(blob_bytes / 1e6 / seconds, 1),
        "backlog_build_seconds": round(backlog_seconds, 1),
        "target_seconds": 60,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.drain", main))
