"""``prep central corte``, ``prep central ventana`` and ``prep central reabrir-publicacion``:
a coordinator's cortes and the Consejo's publication rules at the console
(:mod:`central.publication.ventana`; docs/publicacion.md)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from central.commands.common import open_engine
from central.commands.common import subcommand
from central.commands.common import technician_actor
from central.db.privileges import API_ROLE
from central.node.config import DataDir
from central.node.config import load_identity
from central.node.tuning import CentralTuning
from central.publication.corte import A_PEDIDO
from central.publication.corte import make_corte
from central.publication.publicar import CorteError
from central.publication.schedule import MAX_HOURS
from central.publication.schedule import add_corte_options
from central.publication.schedule import parse_inicio
from central.publication.schedule import settings_from_args
from central.publication.snapshot import SnapshotError
from central.publication.ventana import Peticion
from central.publication.ventana import PublicacionRechazada
from central.publication.ventana import estado
from central.publication.ventana import fijar_ventana
from central.publication.ventana import reabrir
from central.stations.coordinator_login import NEED_LOGIN
from central.stations.coordinator_login import CoordinatorLoginError
from central.stations.coordinator_login import add_login_options
from central.stations.coordinator_login import logins
from central.stations.coordinator_login import require_coordinator
from prep.cli_es import Subcommands


def register_publication(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    corte = subcommand(sub, "corte", _corte_command, parents=(common,),
                       help="hace y publica un corte ahora (directorio publicacion/)")
    add_corte_options(corte)
    corte.add_argument("--ultimo", action="store_true",
                       help="es el último corte: después no se publica ningún corte, ni "
                            "programado ni a pedido, salvo que se reabra con motivo")
    corte.add_argument("--fuera-de-ventana", action="store_true",
                       help="publicarlo aunque sea fuera de la ventana del Consejo (requiere "
                            "--motivo; queda en la bitácora)")
    corte.add_argument("--motivo", default=None,
                       help="por qué se publica fuera de la ventana, o por qué es el último "
                            "corte (queda en la bitácora)")

    add_login_options(corte, second=True)

    ventana = subcommand(sub, "ventana", _ventana_command, parents=(common,),
                         help="muestra o fija la ventana de publicación que acordó el Consejo")
    ventana.add_argument("--inicio", default=None, metavar="FECHA_HORA",
                         help="inicio, p. ej. 2027-06-06T20:00 (hora del centro de México si "
                              "no lleva zona) o «ahora»; sin esta opción solo se muestra")
    ventana.add_argument("--horas", type=float, default=None, metavar="H",
                         help=f"duración en horas (predeterminado y máximo {MAX_HOURS:g})")
    ventana.add_argument("--motivo", default=None,
                         help="el acuerdo del Consejo (obligatorio para cambiar una ventana "
                              "ya fijada; queda en la bitácora)")

    reabre = subcommand(sub, "reabrir-publicacion", _reabrir_command, parents=(common,),
                        help="vuelve a permitir cortes públicos después del último corte (con "
                             "motivo, queda en la bitácora)")
    reabre.add_argument("--motivo", required=True,
                        help="por qué se reabre: el acuerdo del Consejo")
    add_login_options(reabre)


def _peticion(args: argparse.Namespace) -> Peticion:
    """The coordinator's request; :class:`ValueError` (exit 2) for a reason missing or
    given where it means nothing."""
    if args.fuera_de_ventana and args.motivo is None:
        raise ValueError("--fuera-de-ventana requiere --motivo «…»: por qué se publica "
                         "fuera de la ventana del Consejo (queda en la bitácora)")
    if args.motivo is not None and not (args.fuera_de_ventana or args.ultimo):
        raise ValueError("--motivo va con --fuera-de-ventana o con --ultimo")
    return Peticion(fuera_de_ventana=args.motivo if args.fuera_de_ventana else None,
                    motivo_ultimo=args.motivo if args.ultimo else None)


def _corte_command(args: argparse.Namespace) -> int:
    peticion = _peticion(args)
    data_dir = DataDir(args.data_dir)
    identity = load_identity(data_dir)
    settings = settings_from_args(args, data_dir)
    # A corte by hand does what serve's scheduled cortes do, with serve's privileges
    # and its process tuning (central.node.tuning).
    with CentralTuning() as tuning, open_engine(args, data_dir, role=API_ROLE) as engine:
        settings = replace(settings, tuning=tuning)
        try:
            if args.ultimo and not args.coordinador:
                # The last corte ends publication: a coordinator's decision.
                raise CoordinatorLoginError(NEED_LOGIN)
            actor, segundo = logins(engine, args,
                                    need_second=peticion.fuera_de_ventana is not None)
        except CoordinatorLoginError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        peticion = replace(peticion, segundo=segundo)
        try:
            hecho = make_corte(engine, identity.key, settings, motivo=A_PEDIDO,
                               actor=actor or technician_actor(), ultimo_corte=args.ultimo,
                               peticion=peticion)
        except PublicacionRechazada as exc:
            print(f"error: corte rechazado: {exc}", file=sys.stderr)
            return 1
        except (CorteError, SnapshotError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(hecho.to_json(), ensure_ascii=False), flush=True)
    print(f"Corte {hecho.publicado.name} publicado en {hecho.publicado.path} "
          f"({hecho.actas_capturadas} de {hecho.actas_esperadas} actas capturadas)"
          + (". Es el último corte: la publicación terminó." if args.ultimo else "."),
          file=sys.stderr)
    return 0


def _ventana_command(args: argparse.Namespace) -> int:
    if args.inicio is None and (args.horas is not None or args.motivo is not None):
        raise ValueError("--horas y --motivo van con --inicio")
    data_dir = DataDir(args.data_dir)
    with open_engine(args, data_dir) as engine:
        if args.inicio is None:
            state = estado(engine)
        else:
            state = fijar_ventana(engine, parse_inicio(args.inicio),
                                  MAX_HOURS if args.horas is None else args.horas,
                                  actor=technician_actor(), motivo=args.motivo)
    print(json.dumps(state.to_json(), ensure_ascii=False), flush=True)
    print(state.texto(), file=sys.stderr)
    return 0


def _reabrir_command(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    with open_engine(args, data_dir) as engine:
        try:
            actor = require_coordinator(engine, args)
        except CoordinatorLoginError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        directorio = reabrir(engine, actor=actor, motivo=args.motivo)
    print(f"Publicación reabierta: el corte {directorio} deja de ser el último; los cortes "
          "públicos (programados y a pedido) vuelven a hacerse dentro de la ventana.",
          file=sys.stderr)
    return 0
