"""``ccv`` (also ``prep ccv``): start the CCV workstation.

The same program as ``catd`` on a station enrolled as a CCV (``prep central
enroll-code --ccv``): the screens follow the station's role, so a CCV station shows
captura and verificación of every CATD's actas and the PREP Casilla panel, and no
acopio or digitalización.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from catd.app import add_arguments
from catd.app import parse_command_line
from catd.app import run as run_workstation


def register(subparsers: Any) -> None:
    """``prep ccv``: the same program as ``ccv``."""
    parser = subparsers.add_parser("ccv", help="estación de trabajo del CCV (interfaz "
                                   "gráfica)")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.impresora = None  # the CCV prints no acopio tickets
    return run_workstation(args, application="PREP CCV")


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_command_line(argv, "ccv", "PREP: estación de trabajo del Centro de "
                                  "Captura y Verificación (CCV)."))
