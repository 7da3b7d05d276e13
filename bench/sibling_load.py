"""Benchmark: how much slower one core's work gets while the other core is busy (issue 9).

The full drill keeps both cores busy for half an hour, and its code runs slower there than
in any benchmark that has the machine to itself (interpreted code 2–7 times, rendering
about twice). This measures the part of that
which no change to our code can remove: the same work on CPU 0 with the other CPU idle,
and with the other CPU running a pure-Python loop (small enough to live in its own core's
caches, so what it takes from CPU 0 is the physical core itself, e.g. two virtual CPUs that
are hyper-threads of one core, which a VM's ``lscpu`` does not show).

Work measured (CPU milliseconds per unit, ``time.process_time``; min, median and max of
``--repeat`` rounds: the spread is the point, see below):
rendering a 100 dpi acta scan as the drill does (Pillow, C), and a dictionary loop
(the interpreter). Prints JSON with the figures, the ratio of the medians busy/idle and
the conditions. Needs two CPUs in its affinity mask.

On the development VM (2 vCPUs, KVM, "AMD EPYC") the loop takes either ≈40–44 ms or
≈65–85 ms, and the slow rounds come with our other CPU idle too: the physical core is
shared with whatever else the host runs. The busy/idle ratio of the medians was 0.93–0.96
in some runs and 1.77–1.94 in others, minutes apart; the same full drill took 1,080 to
1,846 s over the sessions.

``--carga N`` measures nothing: it keeps N of those loops running (unpinned, as other
work on a shared machine would be) until SIGTERM or Ctrl+C, printing one JSON line with
their pids when they start and one with the load average when they stop. It is the load
the suite and the drill are run beside to show they hold on a busy machine (issue 64).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.requisitos import NoCorre
from prep.catalog import generate_catalog
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from simulacro.calibracion import interpreter_round

REPO = Path(__file__).resolve().parents[1]
#: What the other CPU runs: the measured loop itself, round after round.
SIBLING_LOOP = (f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
                "from simulacro.calibracion import interpreter_round\n"
                "while True:\n    interpreter_round()\n")


def _workloads(actas: int) -> dict[str, tuple[Callable[[], None], int]]:
    catalog = generate_catalog(9, 0.05)
    chosen = list(catalog.iter_actas())[:actas]

    def render() -> None:
        for i, acta in enumerate(chosen):
            rng = random.Random(i)
            render_acta_image(acta, {c: rng.randint(0, 300) for c in acta.layout.campos},
                              ActaImageOptions(dpi=100, skew_degrees=0.5, jpeg_quality=70,
                                               seed=i), catalog)

    def interpreter() -> None:
        interpreter_round()  # the drill's own calibration (simulacro.json)

    return {"render_scan_ms": (render, len(chosen)), "python_loop_ms": (interpreter, 1)}


def _spread(work: Callable[[], None], units: int, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        runs.append((time.process_time() - start) * 1000 / units)
    return {"min": round(min(runs), 3), "median": round(statistics.median(runs), 3),
            "max": round(max(runs), 3)}


def _interrumpir(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the loops as Ctrl+C does


def _carga(n: int) -> None:
    """Keep ``n`` sibling loops running until SIGTERM or Ctrl+C; then stop them."""
    loops = [subprocess.Popen([sys.executable, "-c", SIBLING_LOOP]) for _ in range(n)]
    signal.signal(signal.SIGTERM, _interrumpir)
    started = time.time()
    print(json.dumps({"benchmark": "sibling_load", "carga": n,
                      "pids": [p.pid for p in loops], "loadavg": os.getloadavg()}), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    print(json.dumps({"benchmark": "sibling_load", "carga": n, "stopped": True,
                      "held_s": round(time.time() - started), "loadavg": os.getloadavg()}),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actas", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--carga", type=int, default=0, metavar="N",
                        help="no measurement: keep N CPU-bound loops running until "
                             "SIGTERM or Ctrl+C (the load the suite and drill are run beside)")
    args = parser.parse_args()
    if args.carga > 0:
        _carga(args.carga)
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise NoCorre("se necesitan dos CPU en la máscara de afinidad (os.sched_getaffinity)")
    here, other = cpus[0], cpus[1]
    os.sched_setaffinity(0, {here})
    workloads = _workloads(args.actas)
    for work, _units in workloads.values():
        work()  # warm: fonts, grain, glyphs
    idle = {name: _spread(work, units, args.repeat) for name, (work, units) in workloads.items()}
    sibling = subprocess.Popen([sys.executable, "-c", SIBLING_LOOP],
                               preexec_fn=lambda: os.sched_setaffinity(0, {other}))
    try:
        time.sleep(0.5)
        busy = {name: _spread(work, units, args.repeat)
                for name, (work, units) in workloads.items()}
    finally:
        sibling.kill()
        sibling.wait()
    print(json.dumps({
        "benchmark": "sibling_load", "cpu_measured": here, "cpu_busy": other,
        "idle": idle, "other_cpu_busy": busy,
        "ratio_of_medians": {name: round(busy[name]["median"] / idle[name]["median"], 2)
                             for name in idle},
        "conditions": {"python": platform.python_version(), "machine": platform.machine(),
                       "cpus": os.cpu_count(), "actas": args.actas, "repeat": args.repeat},
    }, indent=2))


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.sibling_load", main))
