"""``prep central station disable|enable ID``: a coordinator stops a station (a stolen
key, a lost machine, a station sending what it should not) or lets it deliver again.

The work is :func:`central.stations.stations_admin.set_station_enabled` (the dashboard calls the
same function). Prints the station's new state as JSON on stdout and what it means, in
Spanish, on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.commands.common import open_engine
from central.commands.common import subcommand
from central.db.estaciones import Station
from central.node.config import DataDir
from central.stations.coordinator_login import CoordinatorLoginError
from central.stations.coordinator_login import add_login_options
from central.stations.coordinator_login import require_coordinator
from central.stations.stations_admin import UnknownStation
from central.stations.stations_admin import set_station_enabled
from prep.cli_es import Subcommands


def register_stations_admin(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``station disable`` and ``station enable`` to ``prep central``."""
    station = sub.add_parser("station", help="deshabilitar o volver a habilitar un equipo "
                                             "(estación CATD o CCV)")
    actions = station.add_subparsers(dest="station_admin_command", required=True,
                                     metavar="ACCIÓN")
    disable = subcommand(actions, "disable", _set_enabled, parents=(common,), enabled=False,
                         help="el nodo central deja de aceptar lo que firme el equipo (llave "
                              "robada, equipo perdido); el equipo conserva lo que tiene")
    disable.add_argument("station_id", metavar="ID", help="identificador (catd-07-…); "
                         "«prep central stations» los lista")
    disable.add_argument("--motivo", required=True,
                         help="por qué se deshabilita (queda en la bitácora)")
    add_login_options(disable)
    enable = subcommand(actions, "enable", _set_enabled, parents=(common,), enabled=True,
                        help="vuelve a aceptar al equipo: envía lo que guardó")
    enable.add_argument("station_id", metavar="ID", help="identificador (catd-07-…)")
    enable.add_argument("--motivo", default="",
                        help="por qué se vuelve a habilitar (queda en la bitácora)")
    add_login_options(enable)


def _set_enabled(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        with Session(engine) as session:
            before = session.scalar(select(Station.enabled)
                                    .where(Station.id == args.station_id))
        try:
            actor = require_coordinator(engine, args)
            set_station_enabled(engine, args.station_id, args.enabled,
                                actor=actor, reason=args.motivo)
        except (UnknownStation, CoordinatorLoginError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(json.dumps({"station": args.station_id, "enabled": args.enabled},
                     ensure_ascii=False), flush=True)
    print(_said(args.station_id, args.enabled, changed=before != args.enabled),
          file=sys.stderr)
    return 0


def _said(station_id: str, enabled: bool, *, changed: bool) -> str:
    if not changed:
        return (f"El equipo {station_id} ya estaba "
                f"{'habilitado' if enabled else 'deshabilitado'}; no se cambió nada.")
    if enabled:
        return (f"Equipo {station_id} habilitado de nuevo: en su siguiente intento enviará lo "
                "que guardó mientras estuvo deshabilitado.")
    return (f"Equipo {station_id} deshabilitado: desde ahora el nodo central rechaza todo lo "
            "que firme (lotes, imágenes, trabajo) y sus actas asignadas volvieron a la cola. "
            "El equipo conserva lo que no ha enviado y muestra que fue deshabilitado. Para "
            f"volver a aceptarlo: prep central station enable {station_id}")
