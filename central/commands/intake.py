"""``prep central import-casilla DIR [--watch]``: PREP Casilla photos into the pipeline
(:mod:`central.pipeline.intake`)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from central.commands.common import open_engine
from central.commands.common import subcommand
from central.db import upgrade
from central.node.config import DataDir
from central.node.config import load_identity
from central.pipeline.intake import CasillaIntake
from prep.cli_es import Subcommands
from prep.station.scan.hotfolder import HotFileResult
from prep.station.scan.hotfolder import HotFolderOptions
from prep.station.scan.hotfolder import UnsafeFolder


def register_intake(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    intake = subcommand(sub, "import-casilla", _import_casilla, parents=(common,),
                        help="recibe las fotografías de actas de PREP Casilla de un directorio "
                             "(una vez, o vigilándolo con --watch); las rechazadas quedan en "
                             "DIR/rechazadas con su motivo")
    intake.add_argument("directory", type=Path, metavar="DIR")
    intake.add_argument("--watch", action="store_true",
                        help="seguir vigilando el directorio hasta Ctrl+C")
    intake.add_argument("--poll", type=float, default=1.0, metavar="SEGUNDOS",
                        help="cada cuánto revisar el directorio con --watch (predeterminado 1)")
    intake.add_argument("--stable", type=float, default=2.0, metavar="SEGUNDOS",
                        help="con --watch, segundos sin cambios antes de tomar un archivo")


def _import_casilla(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    if not directory.is_dir():
        print(f"error: {directory} no es un directorio", file=sys.stderr)
        return 2
    data_dir = DataDir(args.data_dir)
    identity = load_identity(data_dir)
    with open_engine(args, data_dir) as engine:
        upgrade(engine)
        intake = CasillaIntake(engine, data_dir, identity)
        if not args.watch:
            try:
                counts = intake.import_dir(directory)
            except UnsafeFolder as exc:
                print(f"error: no se puede usar {directory} ({exc}); no se tomó ningún "
                      "archivo.", file=sys.stderr)
                return 2
        else:
            stop = threading.Event()

            def on_signal(_signum: int, _frame: FrameType | None) -> None:
                stop.set()
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
            folder = intake.folder(directory, HotFolderOptions(
                stable_seconds=args.stable, poll_seconds=args.poll), _say)
            print(json.dumps({"vigilando": str(directory)}), flush=True)
            folder.run(stop)
            counts = intake.counts
    print(json.dumps(counts.to_json(), ensure_ascii=False))
    return 0


def _say(result: HotFileResult) -> None:
    print(f"{result.name}: {result.mensaje}", file=sys.stderr, flush=True)
