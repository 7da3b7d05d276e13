"""Benchmark: rules, summary and CSV of a corte for the full-scale election, in memory.

Prints one JSON object. Target (issue 2): ``seconds`` ≤ 0.5 on the 2-core machine for the
≈40,000 actas of the full CDMX-like catalog, timed with the cyclic garbage collector paused
as ``make_corte`` runs every corte (``seconds_gc_on``: with it on, as measured before
2026-11-27). The catalog is generated and the captures
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
import sys
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

    # Timed as a corte runs it: make_corte pauses the cyclic garbage collector for the
    # whole corte (central.publication.corte). With the collector on, for comparison
    # with results before 2026-11-27 (``seconds_gc_on``).
    times: list[float] = []
    times_gc_on: list[float] = []
    for _ in range(args.repeat):
        for paused, into in ((True, times), (False, times_gc_on)):
            gc.collect()
            if paused:
                gc.disable()
            try:
                started = time.perf_counter()
                files, tablas = build_corte_files(catalog, sim.estado, sim.fuera, corte)
                into.append(time.perf_counter() - started)
            finally:
                gc.enable()
    print(json.dumps({
        "benchmark": "corte_core",
        "actas": catalog.total_actas,
        "casillas": len(catalog.casillas),
        "elecciones": len(catalog.elecciones),
        "actas_con_datos": sum(t.resumen.capturadas for t in tablas),
        "seconds": round(min(times), 4),
        "seconds_median": round(statistics.median(times), 4),
        "gc": "paused, as make_corte runs a corte",
        "seconds_gc_on": round(min(times_gc_on), 4),
        "seconds_gc_on_median": round(statistics.median(times_gc_on), 4),
        "repeat": args.repeat,
        "bytes": sum(len(b) for b in files.values()),
        "target_seconds": 0.5,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.corte_core", main))
