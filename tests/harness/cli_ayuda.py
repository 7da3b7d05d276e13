"""Every help text of ``prep``, dumped, so a move of code (issue 66) cannot change one.

:func:`volcar` walks the whole parser tree that ``prep.cli.build_parser`` builds (every
program registered by its plugins and every subcommand, recursively, in registration
order) and writes, for each parser, its ``prog`` and its full ``format_help()``.
:func:`volcar_aparte` makes the dump in a new process with a fixed environment
(:data:`ENTORNO`: the terminal's width, a home directory, no ``XDG_*`` nor ``PREP_*``
variable), because some help texts show a default that depends on them (the data
directory, from platformdirs, computed when a module is imported) and argparse wraps
lines at the terminal's width. ``tests/test_cli_ayuda.py`` compares that dump with the
committed snapshot :data:`INSTANTANEA`.

When a help text changes on purpose, write the snapshot again and commit it with the
change::

    python3 -m tests.harness.cli_ayuda --escribir

Without ``--escribir`` it prints the unified diff against the snapshot (exit 1 if they
differ). argparse's layout changes between Python versions (3.13 rewrote the usage
lines): the snapshot's first line names the Python it was written with.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

COLUMNAS = 100
"""The terminal width every help text is formatted at."""

ENTORNO = {"COLUMNS": str(COLUMNAS), "LINES": "50", "HOME": "/home/operador",
           "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
"""The dumping process's environment, besides ``PATH`` and ``PYTHONPATH``."""

REPO = Path(__file__).resolve().parents[2]

INSTANTANEA = Path(__file__).resolve().parents[1] / "data" / "cli_ayuda.txt"
"""The committed dump (``tests/data/cli_ayuda.txt``)."""

ORDEN = "python3 -m tests.harness.cli_ayuda --escribir"
"""How to write the snapshot again, on purpose."""

_SEPARADOR = "=" * 20


def _recorrer(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every parser below it, depth first, in registration order (an
    alias names the same parser again: it is given once)."""
    yield parser
    vistos: set[int] = set()
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for hijo in action.choices.values():
            if id(hijo) in vistos:
                continue
            vistos.add(id(hijo))
            yield from _recorrer(hijo)


def _python() -> str:
    return f"Python {sys.version_info.major}.{sys.version_info.minor}"


def volcar() -> str:
    """The dump in this process, with its environment: a header line, then per parser a
    ``==== prog`` line and its help."""
    from prep.cli import build_parser

    partes = [f"# prep: cada ayuda a {os.environ.get('COLUMNS')} columnas ({_python()}); "
              f"se reescribe con «{ORDEN}»\n"]
    for parser in _recorrer(build_parser()):
        partes.append(f"{_SEPARADOR} {parser.prog}\n{parser.format_help()}")
    return "\n".join(partes)


def ayudas(volcado: str) -> dict[str, str]:
    """Each parser's help text in ``volcado``, by its ``prog`` (what ``prog --help``
    prints)."""
    partes = re.split(rf"^{_SEPARADOR} (.+)\n", volcado, flags=re.MULTILINE)
    textos = partes[2::2]
    # The parts are joined by one newline: each help but the last ends with one more.
    textos = [t[:-1] for t in textos[:-1]] + textos[-1:]
    return dict(zip(partes[1::2], textos, strict=True))


def volcar_aparte() -> str:
    """The dump made by a new process with the fixed environment :data:`ENTORNO`."""
    entorno = {**ENTORNO, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "PYTHONPATH": os.pathsep.join(
                   p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    hecho = subprocess.run([sys.executable, "-m", "tests.harness.cli_ayuda", "--volcar"],
                           cwd=REPO, env=entorno, capture_output=True, timeout=120,
                           check=False)
    if hecho.returncode != 0:
        raise RuntimeError(f"el volcado de las ayudas falló ({hecho.returncode}): "
                           f"{hecho.stderr.decode('utf-8', 'replace')}")
    return hecho.stdout.decode("utf-8")


def diferencia(actual: str, guardada: str) -> str:
    """The unified diff from the snapshot to the dump (empty if they are the same)."""
    return "".join(difflib.unified_diff(
        guardada.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile=str(INSTANTANEA), tofile="prep (ahora)"))


def main(argv: list[str] | None = None) -> int:
    """Write the snapshot (``--escribir``) or show how the help texts differ from it."""
    parser = argparse.ArgumentParser(prog="python3 -m tests.harness.cli_ayuda",
                                     description=__doc__.split("\n\n")[0])
    accion = parser.add_mutually_exclusive_group()
    accion.add_argument("--escribir", action="store_true",
                        help=f"reescribe {INSTANTANEA.name} con las ayudas de ahora")
    accion.add_argument("--volcar", action="store_true",
                        help="imprime las ayudas con el entorno de este proceso (lo que "
                             "hace el proceso aparte)")
    args = parser.parse_args(argv)
    if args.volcar:
        sys.stdout.write(volcar())
        return 0
    actual = volcar_aparte()
    if args.escribir:
        INSTANTANEA.parent.mkdir(parents=True, exist_ok=True)
        INSTANTANEA.write_text(actual, encoding="utf-8")
        print(f"{INSTANTANEA}: {actual.count(_SEPARADOR + ' ')} ayudas")
        return 0
    guardada = INSTANTANEA.read_text(encoding="utf-8") if INSTANTANEA.exists() else ""
    cambio = diferencia(actual, guardada)
    if cambio:
        print(cambio, end="")
        return 1
    print(f"{INSTANTANEA}: sin cambios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
