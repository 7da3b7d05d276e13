"""``ccv`` (also ``prep ccv``): start the CCV workstation.

The same program as ``catd`` on a station enrolled as a CCV (``prep central
enroll-code --ccv``): the screens follow the station's role, so a CCV station shows
captura and verificación of every CATD's actas and the PREP Casilla panel, and no
acopio or digitalización.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

from catd.app import add_arguments
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
    parser = argparse.ArgumentParser(prog="ccv", description="PREP: estación de trabajo "
                                     "del Centro de Captura y Verificación (CCV).")
    parser.add_argument("-v", "--verbose", action="store_true", help="bitácora detallada")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args)
