"""``prep central catd-distritos [--catd N --distritos D…]``: which CATD receives each
distrito's actas (:mod:`central.stations.catd_distritos`). Prints the table as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy.orm import Session

from central.commands.common import database_errors
from central.commands.common import open_engine
from central.commands.common import technician_actor
from central.node.config import DataDir
from central.stations.catd_distritos import assign
from central.stations.catd_distritos import assigned
from prep.cli_es import Subcommands


def register_catd_distritos(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``catd-distritos`` to ``prep central``."""
    command = sub.add_parser("catd-distritos", parents=[common],
                             help="qué CATD recibe las actas de cada distrito (sin opciones: "
                                  "los distritos que no van al CATD de su número)")
    command.add_argument("--catd", type=int, metavar="N",
                         help="el CATD que recibirá las actas de --distritos")
    command.add_argument("--distritos", type=int, nargs="+", metavar="D",
                         help="distritos cuyas actas recibe el CATD --catd")
    command.set_defaults(func=_command)


def _command(args: argparse.Namespace) -> int:
    def run(args: argparse.Namespace) -> int:
        if (args.catd is None) != (args.distritos is None):
            print("error: --catd y --distritos van juntos", file=sys.stderr)
            return 2
        with open_engine(args, DataDir(args.data_dir)) as engine:
            if args.catd is None:
                with Session(engine) as session:
                    table = assigned(session)
            else:
                try:
                    table = assign(engine, args.catd, args.distritos, actor=technician_actor())
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
        print(json.dumps({"distritos": {str(d): c for d, c in sorted(table.items())}}),
              flush=True)
        return 0
    return database_errors(run)(args)
