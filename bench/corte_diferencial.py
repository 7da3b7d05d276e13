"""The corte's differential over many random nights (issue 65): each night published
corte after corte by a running central's engine (one ``CorteMemo`` for the night) and by
the plain path (no memo: every acta read and rendered again, on a copy of the database
taken just before the engine's corte; by this process, or with ``--aparte`` by a new
process per corte), every file compared byte for byte (tests/harness/diferencial.py; the
short run is tests/central/publication/test_corte_diferencial.py).

::

    python3 -m bench.corte_diferencial --noches 1000 [--desde 1]

The nights are seeds ``desde`` … ``desde + noches - 1`` (tests/harness/noches.py). One
embedded PostgreSQL serves them all, its data and the cortes' files in ``--dir``
(default: a fresh directory in /dev/shm where there is one: the cortes sync their files
to the disk, and a shared disk made a night take seconds more). Prints one JSON line: the
nights, the seed range, how many cortes were compared (and how many of them the engine
made from the previous snapshot, reading again only what changed), every difference
found (seed, corte, first differing file and line), any night that could not be made,
the wall and CPU seconds and the machine's calibration (``simulacro.calibracion``,
before and after). Exits 1 if any corte differed or any night failed. Interrupted
(SIGINT or SIGTERM), it abandons the night in progress and reports the nights done.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--noches", type=int, default=1000)
    parser.add_argument("--desde", type=int, default=1, help="the first night's seed")
    parser.add_argument("--dir", type=Path, default=None,
                        help="the server's data and the cortes (default: /dev/shm)")
    parser.add_argument("--aparte", action="store_true",
                        help="the plain path's cortes each by a new process (slower)")
    parser.add_argument("--progreso", type=int, default=50,
                        help="a line on stderr every this many nights (0: none)")
    args = parser.parse_args()

    from simulacro.calibracion import python_loop_ms
    from tests.harness.diferencial import comparar
    from tests.harness.diferencial import plantilla_migrada
    from tests.harness.postgres import embedded_server

    # A background job ignores SIGINT: SIGTERM stops the run too, and what ran is
    # reported.
    signal.signal(signal.SIGTERM, _interrumpir)
    bucle_inicio = python_loop_ms()
    shm = Path("/dev/shm")
    base = args.dir or Path(tempfile.mkdtemp(prefix="corte-diferencial-",
                                             dir=shm if shm.is_dir() else None))
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)  # the embedded server's own account enters it
    started, cpu = time.perf_counter(), _cpu()
    cortes = incrementales = hechas = 0
    interrumpido = False
    fallas: list[dict[str, object]] = []
    errores: list[dict[str, object]] = []
    try:
        with embedded_server(base) as admin:
            plantilla = plantilla_migrada(admin)
            for n, semilla in enumerate(range(args.desde, args.desde + args.noches), 1):
                try:
                    resultado = comparar(admin, semilla, base / f"noche-{semilla}",
                                         plantilla, args.aparte)
                except KeyboardInterrupt:  # stopped: what ran so far is reported
                    interrumpido = True
                    break
                except Exception as exc:  # a night that could not be made: say which
                    errores.append({"semilla": semilla, "error": repr(exc)[:500],
                                    "traza": traceback.format_exc()[-2000:]})
                    continue
                hechas += 1
                cortes += resultado.cortes
                incrementales += sum(r is not None for r in resultado.releidas)
                if resultado.diferencia is not None:
                    fallas.append(resultado.diferencia.to_json())
                    print(str(resultado.diferencia), file=sys.stderr, flush=True)
                if args.progreso and n % args.progreso == 0:
                    print(f"{n} noches, {cortes} cortes, {len(fallas)} diferencias, "
                          f"{len(errores)} errores, {time.perf_counter() - started:.0f} s",
                          file=sys.stderr, flush=True)
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps({
        "benchmark": "corte_diferencial", "noches": hechas + len(errores),
        "plano": "un proceso nuevo por corte" if args.aparte else "este proceso, sin memoria",
        **({"interrumpido": True} if interrumpido else {}),
        "semillas": [args.desde, args.desde + hechas + len(errores) - 1], "cortes": cortes,
        "cortes_incrementales": incrementales, "diferencias": len(fallas),
        "fallas": fallas, "errores": errores,
        "segundos": round(time.perf_counter() - started, 1),
        "cpu_segundos": round(_cpu() - cpu, 1),
        "python": platform.python_version(), "cpus": os.cpu_count(),
        # CPU seconds here are this process's only (the server's are not counted); the
        # drill's loop says how fast the machine was, before and after.
        "calibracion": {"bucle_python_ms": {"inicio": bucle_inicio,
                                            "fin": python_loop_ms()}}},
        ensure_ascii=False))
    return 1 if fallas or errores else 0


def _interrumpir(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.corte_diferencial", main))
