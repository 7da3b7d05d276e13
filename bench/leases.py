"""Benchmark: work leases handed out by a central to 50 operators at once.

Starts a real central (``prep central serve`` subprocess, as the tests do) on an embedded
PostgreSQL, loads a synthetic catalog, enrolls 20 stations (14 CATD, 6 CCV), creates 50
capturistas and has every acta acopiada and digitized before the clock starts. Then two
timed phases, each operator an asyncio task with its station's HTTPS connections:

1. ``leases_per_s``: lease round trips per second; a round trip is ``POST
   /v1/work/next`` (one lease: ``SELECT … FOR UPDATE SKIP LOCKED``, insert, the acta's
   image and fields in the answer) followed by ``POST /v1/work/{lease}/release``. Every
   request is signed and checked.
2. ``captures_per_s``: capture cycles per second; a cycle is ``next`` followed by the
   capture record sent as a signed batch (ingest, which completes the lease and folds the
   capture into the acta state) and its receipt verified. Two cycles validate an acta.

Prints one JSON line. Target (issue 4): ``leases_per_s`` ≥ 200 on the 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path

from prep.catalog import Acta
from tests.harness.central import running_central
from tests.harness.postgres import embedded_server
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import truth

STATIONS = 20
CATDS = 14


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="length of the lease phase")
    parser.add_argument("--scale", type=float, default=0.05,
                        help="catalog scale (0.05 ≈ 2,000 actas)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-leases-") as tmp, \
            embedded_server(Path(tmp)) as admin_dsn, \
            running_central(Path(tmp) / "node", admin_dsn) as node:
        catalog = load_catalog(node, scale=args.scale)
        stations = [WorkStation.enroll(node, n + 1 if n < CATDS else None)
                    for n in range(STATIONS)]
        accounts = [(f"Capturista {i}", "capturista", stations[i % STATIONS].sitio)
                    for i in range(args.operators)]
        operators = add_operators(node, accounts)
        result = asyncio.run(_bench(stations, operators, catalog.actas_por_clave,
                                    args.seconds))

    print(json.dumps({
        "benchmark": "leases",
        "leases_per_s": round(result["leases"] / result["lease_seconds"]),
        "operators": args.operators,
        "stations": STATIONS,
        "actas": catalog.total_actas,
        "seconds": round(result["lease_seconds"], 3),
        "leases": result["leases"],
        "captures_per_s": round(result["captures"] / result["capture_seconds"]),
        "captures": result["captures"],
        "capture_seconds": round(result["capture_seconds"], 3),
        "target_leases_per_s": 200,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }))


async def _bench(stations: list[WorkStation], operators: list[str], actas: dict[str, Acta],
                 seconds: float) -> dict[str, float]:
    for station in stations:
        await station.__aenter__()
    try:
        # Each CATD station digitizes its CATD's actas; the rest come in as PREP Casilla
        # photos through the central's intake station (a CCV station makes no images).
        by_sitio: dict[str, list[Acta]] = {}
        for acta in actas.values():
            distrito = acta.casilla.distrito_id
            by_sitio.setdefault(f"{distrito:02d}" if distrito <= CATDS else "CCV",
                                []).append(acta)
        first = {s.sitio: s for s in reversed(stations)}
        async with WorkStation.enroll_intake(stations[0].node) as intake:
            await asyncio.gather(*(
                first[sitio].digitize(group) if sitio != "CCV"
                else intake.digitize(group, origen="CASILLA", acopio=False)
                for sitio, group in by_sitio.items()))
        of = {op: stations[i % STATIONS] for i, op in enumerate(operators)}

        async def round_trip(operator: str) -> bool:
            station = of[operator]
            [lease] = await station.next(operator)
            answer = await station.lease_action(lease["lease_id"], "release")
            assert answer.status == 200, answer.body
            return True

        async def capture_cycle(operator: str) -> bool:
            station = of[operator]
            leases = await station.next(operator)
            if not leases:
                return False
            [lease] = leases
            await station.capture(operator, lease, truth(actas[lease["clave_acta"]]))
            return True

        leases, lease_seconds = await _timed_phase(operators, seconds, round_trip)
        captures, capture_seconds = await _timed_phase(operators, seconds, capture_cycle)
    finally:
        for station in stations:
            await station.__aexit__()
    return {"leases": leases, "lease_seconds": lease_seconds, "captures": captures,
            "capture_seconds": capture_seconds}


async def _timed_phase(operators: list[str], seconds: float,
                       step: Callable[[str], Awaitable[bool]]) -> tuple[int, float]:
    """Every operator at once does ``step`` again and again for ``seconds`` (or until
    its ``step`` finds no work: False); how many steps were done, and in how long."""
    done = 0
    stop = time.monotonic() + seconds

    async def loop(operator: str) -> None:
        nonlocal done
        while time.monotonic() < stop and await step(operator):
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(loop(op) for op in operators))
    return done, time.monotonic() - started


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.leases", main))
