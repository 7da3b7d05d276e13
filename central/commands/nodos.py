"""``prep central nodos agregar|quitar|listar``: the serve nodes stations receive, signed,
in their bundle (:mod:`central.stations.nodes`, docs/continuidad.md)::

    prep central nodos agregar --url https://10.0.0.1:8443              # this node's cert
    prep central nodos agregar --url https://10.0.0.2:8443 --certificado B/tls/cert.pem
    prep central nodos agregar --url https://10.9.0.1:8443 --certificado C.pem --reserva
    prep central nodos quitar --url https://10.0.0.2:8443 --motivo "…"
    prep central nodos listar [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from central.commands.common import open_engine
from central.commands.common import subcommand
from central.commands.common import technician_actor
from central.node.config import DataDir
from central.stations.coordinator_login import CoordinatorLoginError
from central.stations.coordinator_login import add_login_options
from central.stations.coordinator_login import require_coordinator
from central.stations.nodes import NodeChange
from central.stations.nodes import NodeError
from central.stations.nodes import active_nodes
from central.stations.nodes import add_node
from central.stations.nodes import nodes_version
from central.stations.nodes import remove_node
from prep.bundle import MAX_CERT_PEM
from prep.cli_es import Subcommands


def register_nodos(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``nodos agregar``, ``nodos quitar`` and ``nodos listar`` to ``prep central``."""
    nodos = sub.add_parser("nodos", help="los nodos de atención que los equipos reciben "
                                         "firmados (dirección y certificado de cada uno)")
    actions = nodos.add_subparsers(dest="nodos_command", required=True, metavar="ACCIÓN")
    agregar = subcommand(actions, "agregar", _agregar, parents=(common,),
                         help="agrega (o cambia) un nodo: los equipos aceptarán su certificado "
                              "desde su siguiente paquete")
    agregar.add_argument("--url", required=True,
                         help="https://servidor:puerto donde los equipos encuentran al nodo")
    agregar.add_argument("--certificado", type=Path, metavar="PEM",
                         help="certificado TLS del nodo (su tls/cert.pem); predeterminado: "
                              "el del --data-dir")
    agregar.add_argument("--reserva", action="store_true",
                         help="nodo de contingencia: los equipos lo usan solo si los demás "
                              "no responden")
    quitar = subcommand(actions, "quitar", _quitar, parents=(common,),
                        help="quita un nodo: los equipos dejan de aceptar su certificado desde su "
                             "siguiente paquete")
    quitar.add_argument("--url", required=True, help="la dirección con que se agregó")
    quitar.add_argument("--motivo", required=True, help="por qué (queda en la bitácora)")
    add_login_options(quitar)
    listar = subcommand(actions, "listar", _listar, parents=(common,), help="la lista vigente")
    listar.add_argument("--json", action="store_true", help="en JSON")


def _agregar(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    path = args.certificado or data_dir.cert
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_CERT_PEM + 1)
        cert_pem = raw.decode("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: no se pudo leer el certificado {path} ({exc}).", file=sys.stderr)
        return 2
    with open_engine(args, data_dir) as engine:
        try:
            change = add_node(engine, args.url, cert_pem, reserva=args.reserva,
                              actor=technician_actor())
        except NodeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    _report(change, "agregado" if change.changed else "ya estaba así en la lista")
    return 0


def _quitar(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        try:
            actor = require_coordinator(engine, args)
            change = remove_node(engine, args.url, motivo=args.motivo, actor=actor)
        except (NodeError, CoordinatorLoginError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    _report(change, "quitado")
    return 0


def _report(change: NodeChange, what: str) -> None:
    print(json.dumps({"url": change.node.url, "cert_sha256": change.node.cert_sha256,
                      "reserva": change.node.reserva, "version": change.revision}), flush=True)
    print(f"Nodo {change.node.url} {what} (versión de la lista {change.revision}). Los "
          "equipos reciben la lista firmada con su siguiente paquete de catálogo y cuentas "
          "(unos 30 s si están conectados).", file=sys.stderr)


def _listar(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine, Session(engine) as session:
        nodes, version = active_nodes(session), nodes_version(session)
    if args.json:
        print(json.dumps({"version": version, "nodos": [
            {"url": n.url, "cert_sha256": n.cert_sha256, "reserva": n.reserva}
            for n in nodes]}, ensure_ascii=False))
        return 0
    if not nodes:
        print("Sin nodos en la lista: cada equipo usa el nodo y el certificado con que se dio "
              "de alta (docs/continuidad.md).")
        return 0
    print(f"Versión de la lista: {version}")
    for n in nodes:
        print(f"  {n.url}  {n.cert_sha256}{'  (reserva)' if n.reserva else ''}")
    return 0
