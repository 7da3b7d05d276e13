"""``prep central operator …``, ``prep central catalog load`` and ``prep central stations``:
what a coordinador does to prepare the stations and to watch them.

``operator add`` asks for the password twice without echo (or reads one line from
stdin with ``--password-stdin``, for scripts); the password is never printed, logged
nor audited. ``operator import`` creates a whole CSV of accounts at once with generated
passwords, written only to a new file readable by its owner, for sealed envelopes.
``stations`` prints the station health table as JSON (what the dashboard
reads).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from central.audit import audit
from central.catalog.catalog_change import CatalogChangeRefused
from central.commands.common import open_engine
from central.commands.common import refusing
from central.commands.common import subcommand
from central.commands.common import technician_actor
from central.db.estaciones import OPERATOR_ROLES
from central.node.config import DataDir
from central.pipeline.rebuild import load_catalog
from central.stations.coordinator_login import CoordinatorLoginError
from central.stations.coordinator_login import add_login_options
from central.stations.coordinator_login import require_coordinator
from central.stations.health import station_table
from central.stations.operators import CREDENTIALS_COLUMNS
from central.stations.operators import OperatorError
from central.stations.operators import OperatorFileError
from central.stations.operators import OperatorInfo
from central.stations.operators import add_operator
from central.stations.operators import check_sites
from central.stations.operators import credentials_rows
from central.stations.operators import import_operators
from central.stations.operators import list_operators
from central.stations.operators import read_operator_file
from central.stations.operators import set_enabled
from central.stations.operators import set_password
from central.stations.operators import site_of
from prep.catalog import CatalogError
from prep.cli_es import Subcommands
from prep.durable import create_private
from prep.durable import fsync_dir
from prep.passwords import read_new_password


def register_admin(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``operator``, ``catalog`` and ``stations`` to ``prep central``."""
    operator = sub.add_parser("operator", help="cuentas de los operadores (alta, lista, "
                              "deshabilitar, contraseña)")
    op_sub = operator.add_subparsers(dest="operator_command", required=True, metavar="ACCIÓN")

    add = subcommand(op_sub, "add", _operator_add, parents=(common,),
                     help="da de alta a un operador")
    add.add_argument("--name", required=True, help="nombre completo del operador")
    add.add_argument("--role", required=True, choices=OPERATOR_ROLES, help="rol del operador")
    _site_options(add, required=True)
    add.add_argument("--password-stdin", action="store_true",
                     help="leer la contraseña de la entrada estándar (una línea) en vez de "
                          "pedirla dos veces")

    bulk = subcommand(op_sub, "import", _operator_import, parents=(common,),
                      help="da de alta a todos los operadores de un archivo CSV, con contraseñas "
                           "generadas (todos o ninguno)")
    bulk.add_argument("file", type=Path, metavar="ARCHIVO",
                      help="CSV UTF-8 con encabezado nombre,rol,sitio (sitio: número de CATD, "
                           "CCV o CENTRAL); hasta 5000 operadores")
    bulk.add_argument("--credenciales", type=Path, required=True, metavar="SALIDA",
                      help="CSV nuevo (no debe existir), legible solo por usted, con "
                           "id,nombre,rol,sitio,contrasena de cada cuenta creada: para "
                           "imprimir los sobres")

    listing = subcommand(op_sub, "list", _operator_list, parents=(common,),
                         help="lista los operadores (JSON)")
    _site_options(listing, required=False)

    for action, enabled, text in (("disable", False, "deshabilita"),
                                  ("enable", True, "vuelve a habilitar")):
        change = subcommand(op_sub, action, _operator_enabled, parents=(common,),
                            enabled=enabled, help=f"{text} a un operador en todas las estaciones")
        change.add_argument("operator_id", metavar="ID", help="identificador (op-07-…)")
        add_login_options(change)
        change.set_defaults(func=refusing(CoordinatorLoginError, 2, _operator_enabled))

    password = subcommand(op_sub, "password", _operator_password, parents=(common,),
                          help="pone una contraseña nueva a un operador (la olvidó)")
    password.add_argument("operator_id", metavar="ID", help="identificador (op-07-…)")
    password.add_argument("--password-stdin", action="store_true",
                          help="leer las contraseñas de la entrada estándar: la del "
                               "coordinador y luego la nueva, una por línea")
    add_login_options(password, stdin=False)
    password.set_defaults(func=refusing(CoordinatorLoginError, 2, _operator_password))

    catalog = sub.add_parser("catalog", help="catálogo electoral que reciben las estaciones")
    cat_sub = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACCIÓN")
    load = subcommand(cat_sub, "load", _catalog_load, parents=(common,),
                      help="valida un directorio de catálogo y lo guarda como nueva versión")
    load.add_argument("directory", type=Path, metavar="DIR")
    load.add_argument("--confirmar", action="store_true",
                      help="cargarlo aunque el nodo ya tenga resultados (después de revisar "
                           "el cambio que el mismo comando muestra sin esta opción)")
    load.add_argument("--forzar", action="store_true",
                      help="cargarlo aunque saque del catálogo actas ya publicadas "
                           "(requiere --motivo)")
    load.add_argument("--motivo", help="por qué se fuerza la carga (queda en la bitácora)")

    from central.commands.intake import register_intake  # import-casilla (issue 6)

    register_intake(sub, common)

    subcommand(sub, "stations", _stations, parents=(common,),
               help="estado de los equipos: último contacto, versión, pendientes, "
                    "reloj, último error (JSON)")


def _site_options(parser: argparse.ArgumentParser, required: bool) -> None:
    site = parser.add_mutually_exclusive_group(required=required)
    site.add_argument("--catd", type=int, help="número del CATD (distrito local)")
    site.add_argument("--ccv", action="store_true", help="el Centro de Captura y Verificación")
    site.add_argument("--central", action="store_true",
                      help="el nodo central (sala de control de los coordinadores)")


def _operator_add(args: argparse.Namespace) -> int:
    sitio = site_of(args.catd, args.ccv, args.central)
    with open_engine(args, DataDir(args.data_dir)) as engine:
        check_sites(engine, [sitio])  # before the password is typed twice
        password = read_new_password(args.password_stdin)
        info = add_operator(engine, args.name, args.role, sitio, password, actor=technician_actor())
    _print(info.to_json())
    print(f"Operador {info.id} ({info.role}, sitio {info.sitio}) dado de alta; las "
          "estaciones de su sitio lo recibirán con su siguiente paquete.", file=sys.stderr)
    return 0


def _operator_import(args: argparse.Namespace) -> int:
    try:
        rows = read_operator_file(args.file)
    except OperatorFileError as exc:
        return _file_refused(args.file, exc)
    out: Path = args.credenciales
    fd = _create_private(out)  # before the database: refused if it exists
    created: list[tuple[OperatorInfo, str]] | None = None
    try:
        with open_engine(args, DataDir(args.data_dir)) as engine:
            created = import_operators(engine, rows, actor=technician_actor())
    except OperatorFileError as exc:
        return _file_refused(args.file, exc)
    finally:
        if created is None:
            os.close(fd)
            out.unlink(missing_ok=True)
    _print([info.to_json() for info, _ in created])
    try:
        _write_credentials(fd, created)
    except OSError as exc:
        out.unlink(missing_ok=True)
        print(f"error: los {len(created)} operadores SÍ quedaron dados de alta, pero no se "
              f"pudo escribir {out} ({exc.strerror or exc}), así que nadie conoce sus "
              "contraseñas. Ponga una a cada uno con «prep central operator password ID» "
              "(los ID están en la salida estándar).", file=sys.stderr)
        return 2
    fsync_dir(out.absolute().parent)
    print(f"{len(created)} operadores dados de alta; contraseñas en {out} (guárdelo en un "
          "lugar seguro y bórrelo tras imprimir los sobres). Las estaciones de cada sitio los "
          "recibirán con su siguiente paquete.", file=sys.stderr)
    return 0


def _file_refused(path: Path, exc: OperatorFileError) -> int:
    print(f"error: {path}: no se dio de alta a nadie; corrija el archivo y vuelva a "
          f"importarlo.\n{exc}", file=sys.stderr)
    return 1


def _create_private(path: Path) -> int:
    """A new file only its owner may read, open for writing; never an existing one."""
    try:
        return create_private(path)
    except FileExistsError:
        raise OperatorError(f"{path} ya existe y no se sobrescribe: elija otro nombre para el "
                            "archivo de contraseñas o borre el anterior") from None


def _write_credentials(fd: int, created: list[tuple[OperatorInfo, str]]) -> None:
    # With a BOM, so a spreadsheet opened to print envelopes shows the accents right.
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CREDENTIALS_COLUMNS)
        writer.writerows(credentials_rows(created))
        f.flush()
        os.fsync(f.fileno())


def _operator_list(args: argparse.Namespace) -> int:
    sitio = None
    if args.catd is not None or args.ccv or args.central:
        sitio = site_of(args.catd, args.ccv, args.central)
    with open_engine(args, DataDir(args.data_dir)) as engine:
        _print([info.to_json() for info in list_operators(engine, sitio)])
    return 0


def _operator_enabled(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        actor = require_coordinator(engine, args)
        info = set_enabled(engine, args.operator_id, args.enabled, actor=actor)
    _print(info.to_json())
    return 0


def _operator_password(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        actor = require_coordinator(engine, args)  # the first line of stdin is theirs
        new = read_new_password(args.password_stdin)
        info = set_password(engine, args.operator_id, new, actor=actor)
    _print(info.to_json())
    print(f"Contraseña de {info.id} cambiada; las estaciones de su sitio la recibirán con "
          "su siguiente paquete (la anterior deja de servir entonces).", file=sys.stderr)
    return 0


def _catalog_load(args: argparse.Namespace) -> int:
    actor = technician_actor()
    if args.forzar and not (args.motivo or "").strip():
        raise CatalogError("--forzar necesita --motivo \"…\": el motivo queda en la "
                           "bitácora de auditoría.")
    force_reason = args.motivo.strip() if args.forzar else None
    with open_engine(args, DataDir(args.data_dir)) as engine:
        try:
            with Session(engine) as session, session.begin():
                # Stored as the next version, with its acta states seeded (issue 4).
                loaded = load_catalog(session, args.directory, actor=actor,
                                      confirmed=args.confirmar, force_reason=force_reason)
        except CatalogError as exc:
            impact = exc.impact.to_json() if isinstance(exc, CatalogChangeRefused) else None
            with Session(engine) as session, session.begin():
                audit.emit(session, "catalog_refused", actor=actor,
                           detail={"source": str(args.directory), "reason": str(exc),
                                   "impact": impact})
            if isinstance(exc, CatalogChangeRefused):
                print(str(exc), file=sys.stderr)
                return 3
            raise
    _print({"version": loaded.version, "digest": loaded.digest, "new": loaded.new,
            "casillas": len(loaded.catalog.casillas), "actas": loaded.catalog.total_actas})
    print(f"Catálogo {'cargado como versión' if loaded.new else 'sin cambios: ya era la versión'}"
          f" {loaded.version} (huella {loaded.digest}).", file=sys.stderr)
    return 0


def _stations(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine, Session(engine) as session:
        _print(station_table(session))
    return 0


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=1), flush=True)
