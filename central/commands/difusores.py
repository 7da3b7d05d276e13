"""``prep central difusor alta|codigo|baja|lista``: the official difusores (issue 30).

``alta`` gives a difusor (a university, a newspaper) alta with its name and public URL
and prints the one-time code to hand it, by a channel other than the web; ``codigo``
makes a new one; ``baja`` takes it off the official list, with a reason; ``lista`` shows
them and what each last reported. The work is :mod:`central.stations.difusores`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine

from central.commands.common import open_engine
from central.commands.common import subcommand
from central.commands.common import technician_actor
from central.node.config import DataDir
from central.node.config import load_identity
from central.stations.coordinator_login import CoordinatorLoginError
from central.stations.coordinator_login import add_login_options
from central.stations.coordinator_login import require_coordinator
from central.stations.difusores import Alta
from central.stations.difusores import DifusorInvalido
from central.stations.difusores import alta
from central.stations.difusores import baja
from central.stations.difusores import lista
from central.stations.difusores import nuevo_codigo
from prep.cli_es import Subcommands


def register_difusores(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``difusor alta|codigo|baja|lista`` to ``prep central``."""
    difusor = sub.add_parser("difusor", help="difusores oficiales: alta, código de registro, "
                                             "baja y lista")
    actions = difusor.add_subparsers(dest="difusor_admin_command", required=True,
                                     metavar="ACCIÓN")
    nuevo = subcommand(actions, "alta", _alta, parents=(common,),
                       help="da de alta un difusor oficial y crea su código de registro de un solo "
                            "uso")
    nuevo.add_argument("--nombre", required=True, help="nombre de la institución (se publica)")
    nuevo.add_argument("--url", required=True,
                       help="dirección https:// donde publicará el PREP (se publica)")
    nuevo.add_argument("--vigencia-horas", type=float, default=24.0,
                       help="vigencia del código en horas (predeterminado 24)")
    codigo = subcommand(actions, "codigo", _codigo, parents=(common,),
                        help="un código de registro nuevo para un difusor ya dado de alta")
    codigo.add_argument("difusor_id", metavar="ID", help="identificador (difusor-…)")
    codigo.add_argument("--vigencia-horas", type=float, default=24.0,
                        help="vigencia del código en horas (predeterminado 24)")
    quitar = subcommand(actions, "baja", _baja, parents=(common,),
                        help="quita un difusor de la lista oficial; sus reportes se rechazan desde "
                             "ahora")
    quitar.add_argument("difusor_id", metavar="ID", help="identificador (difusor-…)")
    quitar.add_argument("--motivo", required=True, help="por qué (queda en la bitácora)")
    add_login_options(quitar)
    subcommand(actions, "lista", _lista, parents=(common,),
               help="los difusores y su último reporte, en JSON")


def _ttl(hours: float) -> timedelta:
    if not 0 < hours <= 24 * 30:
        raise DifusorInvalido("la vigencia debe ser de más de 0 y hasta 720 horas")
    return timedelta(hours=hours)


def _alta(args: argparse.Namespace) -> int:
    return _mostrar(args, lambda engine: alta(engine, args.nombre, args.url,
                                              actor=technician_actor(),
                                              ttl=_ttl(args.vigencia_horas)))


def _codigo(args: argparse.Namespace) -> int:
    return _mostrar(args, lambda engine: nuevo_codigo(engine, args.difusor_id,
                                                      actor=technician_actor(),
                                                      ttl=_ttl(args.vigencia_horas)))


def _mostrar(args: argparse.Namespace, make: Callable[[Engine], Alta]) -> int:
    data_dir = DataDir(args.data_dir)
    try:
        with open_engine(args, data_dir) as engine:
            hecho = make(engine)
    except DifusorInvalido as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    identity = load_identity(data_dir)
    print(json.dumps({"difusor": hecho.id, "codigo": hecho.codigo}, ensure_ascii=False),
          flush=True)
    print(f"Difusor {hecho.id}: «{hecho.nombre}», {hecho.url}.\n"
          f"Código de registro (un solo uso, vence {hecho.vence:%Y-%m-%d %H:%M} UTC; no se "
          f"volverá a mostrar): {hecho.codigo}\n"
          "Entrégueselo por un canal distinto del sitio web, con la huella del certificado "
          f"del nodo central ({identity.cert_sha256}) y la dirección del nodo central; el "
          "difusor lo usa en «prep difusor registrar».", file=sys.stderr)
    return 0


def _baja(args: argparse.Namespace) -> int:
    try:
        with open_engine(args, DataDir(args.data_dir)) as engine:
            actor = require_coordinator(engine, args)
            cambiado = baja(engine, args.difusor_id, args.motivo, actor=actor)
    except (DifusorInvalido, CoordinatorLoginError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"difusor": args.difusor_id, "activo": False}), flush=True)
    print(f"Difusor {args.difusor_id} dado de baja: el siguiente corte ya no lo lista y sus "
          "reportes se rechazan." if cambiado else
          f"El difusor {args.difusor_id} ya estaba dado de baja; no se cambió nada.",
          file=sys.stderr)
    return 0


def _lista(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        print(json.dumps(lista(engine), ensure_ascii=False, indent=1))
    return 0
