"""Benchmark: rules, summary and CSV of a corte for the full-scale election, in memory.

Prints one JSON object. Target (issue 2): ``seconds`` ≤ 0.5 on the 2-core machine for the
≈40,000 actas of the full CDMX-like catalog. The catalog is generated and the captures
simulated beforehand (not timed: in production the catalog is loaded once and the
captures come from the database); the timed part is exactly what a corte computes:
rules for every acta, the summaries, and the bytes of every CSV, LEEME and manifest.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from prep.catalog import generate_catalog
from prep.corte.anexo import TZ
from prep.corte.package import build_corte_files
from prep.sintetico.capturas import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    catalog = generate_catalog(args.seed, args.scale)
    corte = (datetime.fromisoformat(catalog.fecha_eleccion).replace(tzinfo=TZ)
             + timedelta(days=1, hours=8)).astimezone(UTC)
    sim = simulate(catalog, args.seed, corte, pendientes=0.02)
    build_corte_files(catalog, sim.estado, sim.fuera, corte)  # warm the catalog's indexes

    times = []
    for _ in range(args.repeat):
        gc.collect()
        started = time.perf_counter()
        files, tablas = build_corte_files(catalog, sim.estado, sim.fuera, corte)
        times.append(time.perf_counter() - started)
    print(json.dumps({
        "benchmark": "corte_core",
        "actas": catalog.total_actas,
        "casillas": len(catalog.casillas),
        "elecciones": len(catalog.elecciones),
        "actas_con_datos": sum(t.resumen.capturadas for t in tablas),
        "seconds": round(min(times), 4),
        "seconds_median": round(statistics.median(times), 4),
        "repeat": args.repeat,
        "bytes": sum(len(b) for b in files.values()),
        "target_seconds": 0.5,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
