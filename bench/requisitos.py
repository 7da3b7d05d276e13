"""What a benchmark needs from the machine, and what it prints when it cannot run
(issue 64): one JSON line saying so and why, never nothing.

``bash scripts/bootstrap.sh --bench`` installs every benchmark's Debian programs (wrk,
nginx, poppler's pdftoppm) and the test extras some of them import. A benchmark checks
its programs with :func:`programas` before it starts, and its ``__main__`` runs through
:func:`ejecutar`, which turns a refusal (:class:`NoCorre`, or a ``SystemExit`` with a
message) into that line on standard output and exit status :data:`NO_CORRIO`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Callable

BOOTSTRAP = "bash scripts/bootstrap.sh --bench"
#: Exit status of a benchmark that could not run (its JSON line says why).
NO_CORRIO = 3
#: Where Debian puts programs a non-root PATH may not hold.
_SBIN = ("/usr/sbin", "/sbin")


class NoCorre(RuntimeError):
    """The benchmark cannot run on this machine; the message says why and what to do."""


def programas(*necesarios: tuple[str, str]) -> dict[str, str]:
    """The path of each ``(program, Debian package)``; :class:`NoCorre` naming every
    missing one and its package."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for name, package in necesarios:
        path = shutil.which(name) or next(
            (f"{d}/{name}" for d in _SBIN if os.access(f"{d}/{name}", os.X_OK)), None)
        if path is None:
            missing.append(f"{name} (paquete Debian {package})")
        else:
            found[name] = path
    if missing:
        raise NoCorre(f"falta {', '.join(missing)}; {BOOTSTRAP} lo instala")
    return found


def ejecutar(nombre: str, main: Callable[[], int | None]) -> int:
    """Run benchmark ``nombre``'s ``main``; its exit status. A benchmark that cannot run
    prints ``{"benchmark": …, "corrio": false, "motivo": …}`` instead of nothing."""
    try:
        return main() or 0
    except NoCorre as exc:
        motivo = str(exc)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            raise  # argparse's usage errors, or a status the benchmark chose
        motivo = str(exc.code)
    print(json.dumps({"benchmark": nombre, "corrio": False, "motivo": motivo,
                      "maquina": {"python": platform.python_version(),
                                  "cpus": os.cpu_count(), "sistema": platform.platform()}},
                     ensure_ascii=False), flush=True)
    print(f"{nombre}: no corrió: {motivo}", file=sys.stderr)
    return NO_CORRIO
