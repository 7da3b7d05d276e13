"""``prep central read-only-user USUARIO``: the dashboard's read-only DSN.

Creates the PostgreSQL login (or gives the existing read-only one a new password),
holding only ``prep_lectura`` with bounded defaults (:mod:`central.db.read_only`), and
prints the DSN for ``prep dashboard --dsn`` on stdout, once. Works the same with the
embedded PostgreSQL (the DSN names its private socket: the dashboard runs on the
central's machine, as the central's system account) and with ``--dsn``.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.orm import Session

from central.audit import audit
from central.commands.common import subcommand
from central.commands.common import technician_actor
from central.db import database_dsn
from central.db import make_engine
from central.db.privileges import COORDINATOR_ROLE
from central.db.read_only import CONNECTION_LIMIT
from central.db.read_only import STATEMENT_TIMEOUT
from central.db.read_only import set_read_only_login
from central.node.config import DataDir
from prep.cli_es import Subcommands


def register_readonly(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``read-only-user`` to ``prep central``."""
    login = subcommand(sub, "read-only-user", _read_only_user, parents=(common,),
                       help="crea (o renueva) el usuario de PostgreSQL de solo lectura del tablero "
                            "e imprime su DSN para «prep dashboard --dsn»")
    login.add_argument("usuario", metavar="USUARIO",
                       help="nombre del usuario de PostgreSQL (p. ej. tablero): minúsculas, "
                            "dígitos y «_»")
    acciones = subcommand(sub, "usuario-coordinacion", _coordination_user, parents=(common,),
                          help="crea (o renueva) el usuario de PostgreSQL de las acciones del "
                               "tablero (rol prep_coordinador) e imprime su DSN para «prep "
                               "dashboard --acciones-dsn»")
    acciones.add_argument("usuario", metavar="USUARIO",
                          help="nombre del usuario de PostgreSQL (p. ej. tablero_acciones)")


def _coordination_user(args: argparse.Namespace) -> int:
    with database_dsn(args.dsn, DataDir(args.data_dir).pgdata) as dsn:
        login = set_read_only_login(dsn, args.usuario, COORDINATOR_ROLE)
        engine = make_engine(dsn, pool_size=1)
        try:
            with Session(engine) as session, session.begin():
                audit.emit(session, "read_only_user_set", actor=technician_actor(),
                           detail={"login": login.name, "created": login.created,
                                   "rol": COORDINATOR_ROLE})
        finally:
            engine.dispose()
    print(login.dsn, flush=True)
    print(f"Usuario «{login.name}» del rol {COORDINATOR_ROLE}: arriba, su DSN para «prep "
          "dashboard --acciones-dsn»; lleva la contraseña, que no se guarda ni se volverá a "
          "mostrar. Solo hace lo que hace un coordinador desde el tablero, y solo con la "
          "sesión de un coordinador (usuario y contraseña de su cuenta).", file=sys.stderr)
    return 0


def _read_only_user(args: argparse.Namespace) -> int:
    with database_dsn(args.dsn, DataDir(args.data_dir).pgdata) as dsn:
        login = set_read_only_login(dsn, args.usuario)
        engine = make_engine(dsn, pool_size=1)
        try:
            with Session(engine) as session, session.begin():
                audit.emit(session, "read_only_user_set", actor=technician_actor(),
                           detail={"login": login.name, "created": login.created})
        finally:
            engine.dispose()
    print(login.dsn, flush=True)
    hecho = ("creado" if login.created
             else "ya existía: tiene una contraseña nueva (la anterior ya no sirve)")
    print(f"Usuario de solo lectura «{login.name}» {hecho}. Arriba, su DSN para "
          "«prep dashboard --dsn» (o PREP_DASHBOARD_DSN); lleva la contraseña, que no se "
          "guarda ni se volverá a mostrar. Solo puede leer lo que muestra el tablero, cada "
          f"consulta dura a lo más {STATEMENT_TIMEOUT.removesuffix('s')} s y abre a lo más "
          f"{CONNECTION_LIMIT} "
          "conexiones.", file=sys.stderr)
    return 0
