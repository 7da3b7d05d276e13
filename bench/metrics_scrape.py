"""Benchmark: what one scrape of the central's metrics costs at CDMX scale (issue 68).

An embedded PostgreSQL with the schema, a scale-1 catalog seeded (≈40,000 acta states),
``--anomalias`` anomalies, ``--auditoria`` audit events and 34 stations with their health;
then ``--lecturas`` readings of :class:`central.node.metrics.database.DatabaseCollector` (the
whole database part of a scrape: every statement in one read-only transaction), each one
fresh. Prints one JSON line: wall and CPU (this process and PostgreSQL) per reading, and
what that is at Prometheus' usual 15 s interval as a share of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.orm import Session

from bench.ingest import _postgres_cpu
from central.db import make_engine
from central.db import upgrade
from central.node.metrics.database import DatabaseCollector
from central.pipeline.rebuild import load_catalog
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from simulacro.calibracion import python_loop_ms
from tests.harness.postgres import embedded_server
from tests.harness.postgres import temporary_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--anomalias", type=int, default=5000)
    parser.add_argument("--auditoria", type=int, default=100_000)
    parser.add_argument("--lecturas", type=int, default=20)
    args = parser.parse_args()
    bucle = python_loop_ms()
    with tempfile.TemporaryDirectory(prefix="bench-metricas-") as tmp, \
            embedded_server(Path(tmp)) as admin, temporary_database(admin) as dsn:
        _fill(dsn, Path(tmp), args)
        pgdata = Path(tmp) / "pgdata"
        collector = DatabaseCollector(dsn, every=0.0)
        walls, cpus, pg_cpus = [], [], []
        try:
            collector.collect()  # the connection, and the audit log counted once
            for _ in range(args.lecturas):
                pg, cpu, wall = _postgres_cpu(pgdata), time.process_time(), time.perf_counter()
                families = list(collector.collect())
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                pg_cpus.append(_postgres_cpu(pgdata) - pg)
                assert any(s.name == "prep_database_up" and s.value == 1
                           for f in families for s in f.samples)
        finally:
            collector.close()
    cpu_ms = statistics.median(c + p for c, p in zip(cpus, pg_cpus, strict=True)) * 1000
    print(json.dumps({
        "benchmark": "metrics_scrape", "scale": args.scale, "lecturas": args.lecturas,
        "wall_ms_median": round(statistics.median(walls) * 1000, 2),
        "wall_ms_max": round(max(walls) * 1000, 2),
        "cpu_ms_median": round(cpu_ms, 2),
        "python_cpu_ms_median": round(statistics.median(cpus) * 1000, 2),
        "postgres_cpu_ms_median": round(statistics.median(pg_cpus) * 1000, 2),
        "core_share_at_15s_pct": round(cpu_ms / 15_000 * 100, 3),
        "anomalias": args.anomalias, "auditoria": args.auditoria,
        "calibracion": {"bucle_python_ms": {"inicio": bucle}},
        "carga_1min": os.getloadavg()[0], "python": platform.python_version(),
        "cpus": os.cpu_count()}))


def _fill(dsn: str, tmp: Path, args: argparse.Namespace) -> None:
    engine = make_engine(dsn)
    try:
        upgrade(engine)
        catalog = generate_catalog(2027, args.scale)
        write_catalog(catalog, tmp / "catalogo")
        with Session(engine) as session, session.begin():
            load_catalog(session, tmp / "catalogo", actor="bench")
    finally:
        engine.dispose()
    with psycopg.connect(dsn) as conn:
        conn.execute("""
            INSERT INTO stations (id, role, sitio, public_key, hostname, enrolled_at)
            SELECT 'catd' || lpad(n::text, 2, '0') || '-bench', 'catd', lpad(n::text, 2, '0'),
                   decode(md5(n::text) || md5(n::text), 'hex'), 'bench', now()
            FROM generate_series(1, 34) AS n""")
        conn.execute("""
            INSERT INTO station_health (station, last_seen, backlog, backlog_bytes,
                                        clock_skew_seconds)
            SELECT id, now(), 3, 1024, 0.5 FROM stations""")
        conn.execute("""
            INSERT INTO anomalies (type, station, detail, acknowledged)
            SELECT (ARRAY['clock_skew', 'acopio_duplicado', 'captura_sobrante'])[n %% 3 + 1],
                   'catd01-bench', '{}', n %% 2 = 0
            FROM generate_series(1, %s) AS n""", (args.anomalias,))
        # The chain's rows as the collector counts them (the chain itself is not checked
        # here): the trigger that guards it is the owner's, left on.
        conn.execute("""
            INSERT INTO audit_log (at, actor, event, detail, prev_sha256, sha256)
            SELECT now(), 'bench', 'bench', '{}', repeat('0', 64), md5(n::text) || md5(n::text)
            FROM generate_series(1, %s) AS n""", (args.auditoria,))


if __name__ == "__main__":
    main()
