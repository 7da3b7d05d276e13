"""``prep central revocaciones pendientes|reaplicar|confirmar``: the revocations a
restore undid (:mod:`central.audit.ancla`, docs/continuidad.md «Después de restaurar»).

``pendientes`` lists them (exit 1 if any); ``reaplicar`` applies each again with the
usual action (a station or operator disabled, a difusor taken off, a node removed),
audited as such and as ``revocacion_reaplicada``; ``confirmar`` records that the
institute decided one no longer holds (``revocacion_confirmada``). A password changed
after the restore point cannot be re-applied (its hash is not kept outside the
database): a coordinator gives a new one (``prep central operator password``), and the
list no longer shows it.
"""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.audit import ancla
from central.audit import audit
from central.commands.common import open_engine
from central.commands.common import refusing
from central.commands.common import subcommand
from central.node.config import DataDir
from central.stations import difusores
from central.stations import nodes
from central.stations import operators
from central.stations import stations_admin
from central.stations.coordinator_login import CoordinatorLoginError
from central.stations.coordinator_login import add_login_options
from central.stations.coordinator_login import require_coordinator
from prep.cli_es import Subcommands

MIN_MOTIVO = 5


def register_revocaciones(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``revocaciones`` and its actions to ``prep central``."""
    parser = sub.add_parser("revocaciones", help="revocaciones que una restauración deshizo "
                                                 "(docs/continuidad.md)")
    actions = parser.add_subparsers(dest="revocaciones_command", required=True,
                                    metavar="ACCIÓN")
    subcommand(actions, "pendientes", _pendientes, parents=(common,),
               help="lista las revocaciones de la bitácora que la base de datos no tiene "
                    "en vigor (JSON; código 1 si hay)")
    for name, command, what in (
            ("reaplicar", _reaplicar, "vuelve a aplicar cada revocación pendiente"),
            ("confirmar", _confirmar, "registra que la institución decidió que las "
                                      "revocaciones pendientes ya no proceden")):
        action = subcommand(actions, name, command, parents=(common,), help=what)
        action.add_argument("--motivo", required=True,
                            help="por qué (queda en la bitácora con cada una)")
        action.add_argument("--sujeto", action="append", default=[], metavar="ID",
                            help="solo la de este equipo, operador, difusor o nodo (su id o "
                                 "URL; se puede repetir); sin ella, todas")
        add_login_options(action)
        action.set_defaults(func=refusing(CoordinatorLoginError, 2, command))


def _pendientes(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    with open_engine(args, data_dir) as engine, Session(engine) as session:
        pendientes = ancla.pendientes(session, data_dir.ancla)
    print(json.dumps([r.to_json() | {"descripcion": r.describir()} for r in pendientes],
                     ensure_ascii=False))
    if pendientes:
        print(ancla.aviso(pendientes, data_dir.root), file=sys.stderr)
        return 1
    return 0


def _motivo(args: argparse.Namespace) -> str | None:
    motivo = " ".join(str(args.motivo).split())
    if len(motivo) < MIN_MOTIVO:
        print("error: escriba el motivo (al menos unas palabras): queda en la bitácora con "
              "cada revocación", file=sys.stderr)
        return None
    return motivo


def _elegidas(pendientes: list[ancla.Revocacion], args: argparse.Namespace
              ) -> list[ancla.Revocacion]:
    """The pending revocations ``--sujeto`` names (all without it)."""
    return [r for r in pendientes if not args.sujeto or r.sujeto in args.sujeto]


def _reaplicar(args: argparse.Namespace) -> int:
    motivo = _motivo(args)
    if motivo is None:
        return 2
    data_dir = DataDir(args.data_dir)
    fallas = 0
    with open_engine(args, data_dir) as engine:
        actor = require_coordinator(engine, args)
        with Session(engine) as session:
            pendientes = _elegidas(ancla.pendientes(session, data_dir.ancla), args)
        for r in pendientes:
            error = _aplicar(engine, r, motivo, actor)
            if error:
                fallas += 1
                print(f"NO reaplicada: {r.describir()}: {error}", file=sys.stderr)
                continue
            with Session(engine) as session, session.begin():
                audit.emit(session, "revocacion_reaplicada", actor=actor, detail={
                    "tipo": r.tipo, "sujeto": r.sujeto, "evento_sha256": r.sha256,
                    "motivo": motivo})
            print(f"Reaplicada: {r.describir()}")
    if not pendientes:
        print("No hay revocaciones pendientes.")
    return 1 if fallas else 0


def _aplicar(engine: Engine, r: ancla.Revocacion, motivo: str, actor: str) -> str:
    """Apply ``r`` again with its usual action; a Spanish reason if it cannot be."""
    original = r.detail.get("reason") or r.detail.get("motivo") or ""
    razon = f"reaplicada tras restaurar: {motivo} (motivo original: «{original}»)"
    try:
        if r.tipo == "equipo":
            stations_admin.set_station_enabled(engine, r.sujeto, False, actor=actor,
                                               reason=razon)
        elif r.tipo == "operador":
            operators.set_enabled(engine, r.sujeto, False, actor=actor)
        elif r.tipo == "difusor":
            difusores.baja(engine, r.sujeto, razon, actor=actor)
        elif r.tipo == "nodo":
            nodes.remove_node(engine, r.sujeto, motivo=razon, actor=actor)
        else:
            return ("una contraseña no se puede reaplicar (su hash no se guarda fuera de "
                    "la base de datos): dé una nueva con «prep central operator password» "
                    "o confírmelo con «prep central revocaciones confirmar»")
    except (LookupError, ValueError, nodes.NodeError, operators.OperatorError) as exc:
        return str(exc)
    return ""


def _confirmar(args: argparse.Namespace) -> int:
    motivo = _motivo(args)
    if motivo is None:
        return 2
    data_dir = DataDir(args.data_dir)
    with open_engine(args, data_dir) as engine, Session(engine) as session, \
            session.begin():
        actor = require_coordinator(engine, args)
        pendientes = _elegidas(ancla.pendientes(session, data_dir.ancla), args)
        for r in pendientes:
            audit.emit(session, "revocacion_confirmada", actor=actor, detail={
                "tipo": r.tipo, "sujeto": r.sujeto, "evento": r.event, "at": r.at,
                "evento_sha256": r.sha256, "motivo": motivo})
    for r in pendientes:
        print(f"Confirmada (la base de datos queda como está): {r.describir()}")
    if not pendientes:
        print("No hay revocaciones pendientes.")
    return 0
