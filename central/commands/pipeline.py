"""``prep central rebuild-state``: recompute every acta state from the facts and compare
it with the stored one (``--check``: report only, exit 1 on any difference) or rewrite
what differs. Prints one JSON object (counts and a sample of the differing actas)."""

from __future__ import annotations

import argparse
import json
import sys

from central.commands.common import open_engine
from central.commands.common import subcommand
from central.commands.common import technician_actor
from central.node.config import DataDir
from central.pipeline.rebuild import check
from central.pipeline.rebuild import rebuild_current
from prep.cli_es import Subcommands


def register_pipeline(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``rebuild-state`` to ``prep central``."""
    rebuild = subcommand(sub, "rebuild-state", _rebuild_state, parents=(common,),
                         help="recalcula el estado de las actas desde los registros y lo compara "
                              "con el guardado")
    rebuild.add_argument("--check", action="store_true",
                         help="solo comparar (sale con 1 si hay diferencias); sin esta "
                              "opción se reescriben las actas que difieran")


def _rebuild_state(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        report = check(engine) if args.check else rebuild_current(engine, actor=technician_actor())
    print(json.dumps(report.to_json(), ensure_ascii=False), flush=True)
    if report.ok:
        print(f"Estado de {report.actas} actas conforme con los registros.", file=sys.stderr)
        return 0
    what = "reescritas" if report.written else "con diferencias"
    print(f"{len(report.differences)} actas y {report.fuera_differences} registros fuera de "
          f"catálogo {what}.", file=sys.stderr)
    return 0 if report.written else 1
