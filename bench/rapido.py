"""The fast test tier (``python3 -m pytest -m rapido -n 0``): wall and CPU seconds.

Runs the README's fast-tests command once in a child process and prints one JSON line:
``segundos`` (wall), ``cpu_s`` (user + system of pytest and anything it started),
``pruebas`` (tests run) and ``deseleccionadas`` (the rest of the suite), the load average
before and after, and ``calibracion.bucle_python_ms`` (the machine's speed at the start,
simulacro/calibracion.py). Target: under 120 s. On a shared machine read ``cpu_s``: the
tier is one process, so on two idle cores its wall time is about its CPU time.

    python3 -m bench.rapido [--xdist]   # --xdist: pyproject's -n 3 instead of -n 0
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from simulacro.calibracion import python_loop_ms

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 120.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xdist", action="store_true",
                        help="pyproject's workers (-n 3) instead of one process (-n 0)")
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", "pytest", "-m", "rapido", "-q", "-p", "no:cacheprovider"]
    if not args.xdist:
        command += ["-n", "0"]
    bucle = python_loop_ms()
    carga_antes = os.getloadavg()
    start = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}
    print(json.dumps({
        "comando": " ".join(["python3", *command[1:]]),
        "segundos": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "objetivo_s": TARGET_S,
        "pruebas": counts.get("passed", 0),
        "fallidas": counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
        "deseleccionadas": counts.get("deselected", 0),
        "carga": {"antes": [round(x, 2) for x in carga_antes],
                  "despues": [round(x, 2) for x in os.getloadavg()]},
        "calibracion": {"bucle_python_ms": bucle},
        "nucleos": os.cpu_count(),
    }, ensure_ascii=False))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
