"""``prep central operator …``, ``prep central catalog load`` and ``prep central stations``:
what a coordinador does to prepare the stations and to watch them.

``operator add`` asks for the password twice without echo (or reads one line from
stdin with ``--password-stdin``, for scripts); the password is never printed, logged
nor audited. ``stations`` prints the station health table as JSON (what the dashboard
reads).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from central import audit
from central.cli import _database_errors, _engine, _operator
from central.config import DataDir
from central.db.models import OPERATOR_ROLES
from central.health import station_table
from central.operators import (
    add_operator,
    list_operators,
    set_enabled,
    set_password,
    site_of,
)
from central.pipeline.rebuild import load_catalog
from prep.catalog import CatalogError
from prep.passwords import PasswordError, check_new_password


def register_admin(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                   common: argparse.ArgumentParser) -> None:
    """Add ``operator``, ``catalog`` and ``stations`` to ``prep central``."""
    operator = sub.add_parser("operator", help="cuentas de los operadores (alta, lista, "
                              "deshabilitar, contraseña)")
    op_sub = operator.add_subparsers(dest="operator_command", required=True, metavar="ACCIÓN")

    add = op_sub.add_parser("add", parents=[common], help="da de alta a un operador")
    add.add_argument("--name", required=True, help="nombre completo del operador")
    add.add_argument("--role", required=True, choices=OPERATOR_ROLES, help="rol del operador")
    _site_options(add, required=True)
    add.add_argument("--password-stdin", action="store_true",
                     help="leer la contraseña de la entrada estándar (una línea) en vez de "
                          "pedirla dos veces")
    add.set_defaults(func=_database_errors(_operator_add))

    listing = op_sub.add_parser("list", parents=[common], help="lista los operadores (JSON)")
    _site_options(listing, required=False)
    listing.set_defaults(func=_database_errors(_operator_list))

    for action, enabled, text in (("disable", False, "deshabilita"),
                                  ("enable", True, "vuelve a habilitar")):
        change = op_sub.add_parser(action, parents=[common],
                                   help=f"{text} a un operador en todas las estaciones")
        change.add_argument("operator_id", metavar="ID", help="identificador (op-07-…)")
        change.set_defaults(func=_database_errors(_operator_enabled), enabled=enabled)

    password = op_sub.add_parser("password", parents=[common],
                                 help="pone una contraseña nueva a un operador (la olvidó)")
    password.add_argument("operator_id", metavar="ID", help="identificador (op-07-…)")
    password.add_argument("--password-stdin", action="store_true",
                          help="leer la contraseña de la entrada estándar (una línea)")
    password.set_defaults(func=_database_errors(_operator_password))

    catalog = sub.add_parser("catalog", help="catálogo electoral que reciben las estaciones")
    cat_sub = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACCIÓN")
    load = cat_sub.add_parser("load", parents=[common],
                              help="valida un directorio de catálogo y lo guarda como nueva "
                                   "versión")
    load.add_argument("directory", type=Path, metavar="DIR")
    load.set_defaults(func=_database_errors(_catalog_load))

    from central.cli_intake import register_intake  # import-casilla (issue 6)

    register_intake(sub, common)

    stations = sub.add_parser("stations", parents=[common],
                              help="estado de los equipos: último contacto, versión, "
                                   "pendientes, reloj, último error (JSON)")
    stations.set_defaults(func=_database_errors(_stations))


def _site_options(parser: argparse.ArgumentParser, required: bool) -> None:
    site = parser.add_mutually_exclusive_group(required=required)
    site.add_argument("--catd", type=int, help="número del CATD (distrito local)")
    site.add_argument("--ccv", action="store_true", help="el Centro de Captura y Verificación")
    site.add_argument("--central", action="store_true",
                      help="el nodo central (sala de control de los coordinadores)")


def _operator_add(args: argparse.Namespace) -> int:
    sitio = site_of(args.catd, args.ccv, args.central)
    password = _read_password(args.password_stdin)
    with _engine(args, DataDir(args.data_dir)) as engine:
        info = add_operator(engine, args.name, args.role, sitio, password, actor=_operator())
    _print(info.to_json())
    print(f"Operador {info.id} ({info.role}, sitio {info.sitio}) dado de alta; las "
          "estaciones de su sitio lo recibirán con su siguiente paquete.", file=sys.stderr)
    return 0


def _operator_list(args: argparse.Namespace) -> int:
    sitio = None
    if args.catd is not None or args.ccv or args.central:
        sitio = site_of(args.catd, args.ccv, args.central)
    with _engine(args, DataDir(args.data_dir)) as engine:
        _print([info.to_json() for info in list_operators(engine, sitio)])
    return 0


def _operator_enabled(args: argparse.Namespace) -> int:
    with _engine(args, DataDir(args.data_dir)) as engine:
        info = set_enabled(engine, args.operator_id, args.enabled, actor=_operator())
    _print(info.to_json())
    return 0


def _operator_password(args: argparse.Namespace) -> int:
    new = _read_password(args.password_stdin)
    with _engine(args, DataDir(args.data_dir)) as engine:
        info = set_password(engine, args.operator_id, new, actor=_operator())
    _print(info.to_json())
    print(f"Contraseña de {info.id} cambiada; las estaciones de su sitio la recibirán con "
          "su siguiente paquete (la anterior deja de servir entonces).", file=sys.stderr)
    return 0


def _catalog_load(args: argparse.Namespace) -> int:
    actor = _operator()
    with _engine(args, DataDir(args.data_dir)) as engine:
        try:
            with Session(engine) as session, session.begin():
                # Stored as the next version, with its acta states seeded (issue 4).
                loaded = load_catalog(session, args.directory, actor=actor)
        except CatalogError as exc:
            with Session(engine) as session, session.begin():
                audit.emit(session, "catalog_refused", actor=actor,
                           detail={"source": str(args.directory), "reason": str(exc)})
            raise
    _print({"version": loaded.version, "digest": loaded.digest, "new": loaded.new,
            "casillas": len(loaded.catalog.casillas), "actas": loaded.catalog.total_actas})
    print(f"Catálogo {'cargado como versión' if loaded.new else 'sin cambios: ya era la versión'}"
          f" {loaded.version} (huella {loaded.digest}).", file=sys.stderr)
    return 0


def _stations(args: argparse.Namespace) -> int:
    with _engine(args, DataDir(args.data_dir)) as engine, Session(engine) as session:
        _print(station_table(session))
    return 0


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice without echo."""
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = getpass.getpass("Contraseña del operador: ")
        check_new_password(password)
        if getpass.getpass("Repita la contraseña: ") != password:
            raise PasswordError("las contraseñas no coinciden")
    check_new_password(password)
    return password


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=1), flush=True)
