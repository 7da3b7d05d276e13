"""What every ``prep central …`` command shares: its engine on the node's database, a
database failure reported as one Spanish line (exit 2) instead of a traceback, and who
runs it, for the audit log."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import SQLAlchemyError

from central.audit import ancla
from central.db import database_dsn
from central.db import make_engine
from central.db.locks import DatabaseBusy
from central.node.config import DataDir
from prep.cli_es import Subcommands

Command = Callable[[argparse.Namespace], int]


@contextmanager
def open_engine(args: argparse.Namespace, data_dir: DataDir,
                pool_size: int = 2, role: str | None = None) -> Iterator[Engine]:
    """An engine on the database of ``--dsn`` (or the embedded one in ``data_dir``,
    started for the command and stopped after it), disposed of on the way out; acting
    as ``role`` if given (which role runs which command: docs/seguridad.md).

    On the way out of a command that ended well, the audit chain's head and the
    revocations it made are copied to ``data_dir``'s anchor (:mod:`central.audit.ancla`):
    a disabled station or operator is kept outside the database at once."""
    with database_dsn(args.dsn, data_dir.pgdata) as dsn:
        engine = make_engine(dsn, pool_size=pool_size, role=role)
        try:
            yield engine
            if data_dir.root.is_dir():
                ancla.sincronizar_sin_fallar(engine, data_dir.ancla)
        finally:
            engine.dispose()


def technician_actor() -> str:
    """Who runs a command of installation and upkeep (``init``, ``catalog load``,
    ``backup``, ``promote``…), for the audit log: ``tecnico:<cuenta del sistema>``. It
    says what it is, the machine's account, never a coordinator: the coordinator's
    actions need their login (:func:`central.stations.coordinator_login.require_coordinator`,
    issue 62)."""
    try:
        return f"tecnico:{getpass.getuser()}"
    except (KeyError, OSError):
        return "tecnico"


def subcommand(actions: Subcommands, name: str, command: Command, *,
               parents: tuple[argparse.ArgumentParser, ...] = (), help: str | None = None,
               **defaults: Any) -> argparse.ArgumentParser:
    """Subcommand ``name`` of ``actions``, running ``command`` with a database failure
    reported as one Spanish line (:func:`database_errors`); ``parents``: the options it
    shares with the others, ``defaults``: more attributes of its arguments."""
    parser = actions.add_parser(name, parents=list(parents), help=help)
    parser.set_defaults(func=database_errors(command), **defaults)
    return parser


def database_errors(command: Command) -> Command:
    """Report an unreachable or failing database as one line, not a traceback."""
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (SQLAlchemyError, psycopg.OperationalError) as exc:
            print(f"error: {database_message(exc)}", file=sys.stderr)
            return 2
    return run


def refusing(errors: type[Exception], exit_code: int, command: Command) -> Command:
    """``command`` with its database failures as :func:`database_errors` reports them
    and ``errors`` (a refusal, its message in Spanish) as one line ``error: …``, exit
    ``exit_code``."""
    inner = database_errors(command)

    def run(args: argparse.Namespace) -> int:
        try:
            return inner(args)
        except errors as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exit_code
    return run


def database_message(exc: Exception) -> str:
    """A database failure in Spanish, with what to do next (the library's own text, in
    English, only as the last line's detail)."""
    if isinstance(exc, DatabaseBusy):
        return str(exc)  # already Spanish, with what to do
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0][:300] if detail else type(exc).__name__
    if isinstance(getattr(exc, "orig", exc), psycopg.errors.InsufficientPrivilege):
        return (f"PostgreSQL no lo permite: {first}. Si el usuario de --dsn es el del "
                "servicio (rol prep_api), ejecute este comando con el usuario dueño del "
                "esquema (docs/seguridad.md, «Roles de PostgreSQL»)")
    if "permission denied to set role" in first:
        return (f"el usuario de --dsn no puede tomar el rol con que atiende el servicio "
                f"(prep_api): un administrador de PostgreSQL debe darle el rol (GRANT "
                f"prep_api TO usuario; docs/seguridad.md, «Roles de PostgreSQL»). Detalle: "
                f"{first}")
    if isinstance(exc, OperationalError | psycopg.OperationalError):
        return ("no se pudo conectar con PostgreSQL o la conexión se cortó. Revise --dsn "
                f"(servidor, puerto, usuario, contraseña) y que el servidor esté en marcha, "
                f"y vuelva a intentar. Detalle: {first}")
    return ("la base de datos no respondió como se esperaba; vuelva a intentar y, si se "
            f"repite, avise a soporte técnico con este detalle: {first}")
