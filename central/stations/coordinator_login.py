"""Coordinator commands that act as a coordinator take their actor from a login
(issue 62): ``--coordinador USUARIO`` and the account's password (typed without echo, or
one line of stdin with ``--password-stdin``; never on the command line), checked against
the account's scrypt hash; never the desktop's ``LOGNAME``. Without a login such a
command is refused before it changes anything (:func:`require_coordinator`); the
commands of installation and upkeep record the machine's account as a technician's
(:func:`central.commands.common.technician_actor`). Which is which: docs/seguridad.md,
«Quién firma cada orden».

A corte outside the publication window also needs ``--segundo-coordinador`` (another
coordinator of the central, with their own password: the next line of stdin).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.estaciones import Operator
from central.stations.operators import CENTRAL
from prep.bundle import operator_name_key
from prep.passwords import PasswordError
from prep.passwords import ScryptHash
from prep.passwords import waste_like_a_check

MAX_PASSWORD = 256


class CoordinatorLoginError(ValueError):
    """A coordinator's login refused on the command line (Spanish)."""


def add_login_options(parser: argparse.ArgumentParser, second: bool = False,
                      stdin: bool = True) -> None:
    """``--coordinador`` (and ``--segundo-coordinador``) and ``--password-stdin``
    (``stdin`` False: the command has its own, whose first line is the coordinator's)."""
    parser.add_argument("--coordinador", default=None, metavar="USUARIO",
                        help="su cuenta de coordinador del nodo central (id o nombre): la "
                             "bitácora registra la acción a su nombre tras comprobar su "
                             "contraseña")
    if second:
        parser.add_argument("--segundo-coordinador", default=None, metavar="USUARIO",
                            help="otro coordinador que confirma un corte fuera de la "
                                 "ventana, con su propia contraseña")
    if stdin:
        parser.add_argument("--password-stdin", action="store_true",
                            help="lee las contraseñas de stdin, una por línea (la del "
                                 "coordinador y luego la del segundo)")


def read_password(args: argparse.Namespace, user: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")[:MAX_PASSWORD]
    return getpass.getpass(f"Contraseña de {user}: ")[:MAX_PASSWORD]


def coordinator_login(engine: Engine, user: str, password: str) -> str:
    """The account id of the central's enabled coordinator ``user`` (id or name) if
    ``password`` is theirs; :class:`CoordinatorLoginError` otherwise."""
    user = " ".join(user.split())
    with Session(engine) as session:
        row = session.get(Operator, user.lower())
        if row is None:
            key = operator_name_key(user)
            rows = [r for r in session.scalars(select(Operator)
                                               .where(Operator.sitio == CENTRAL))
                    if operator_name_key(r.name) == key]
            row = rows[0] if len(rows) == 1 else None
        if row is None:
            waste_like_a_check(password)
            raise CoordinatorLoginError(f"usuario o contraseña incorrectos ({user})")
        try:
            scrypt = ScryptHash(row.scrypt_salt, row.scrypt_n, row.scrypt_r, row.scrypt_p,
                                row.scrypt_hash)
            scrypt.check()
            good = scrypt.matches(password)
        except PasswordError:
            good = False
        if not good:
            raise CoordinatorLoginError(f"usuario o contraseña incorrectos ({user})")
        if not row.enabled or row.role != "coordinador" or row.sitio != CENTRAL:
            raise CoordinatorLoginError(f"la cuenta {row.id} no es de un coordinador "
                                        "habilitado del nodo central")
        return str(row.id)


NEED_LOGIN = ("esta orden es de un coordinador y queda en la bitácora a su nombre: "
              "identifíquese con --coordinador USUARIO (su cuenta de coordinador del nodo "
              "central; la contraseña se pide sin eco, o va en una línea de stdin con "
              "--password-stdin). No se cambió nada.")


def require_coordinator(engine: Engine, args: argparse.Namespace) -> str:
    """The account id of the coordinator who logs in with ``args`` (the actor the audit
    log records); :class:`CoordinatorLoginError` without a login or with a wrong one,
    before anything is written."""
    user = getattr(args, "coordinador", None)
    if not user or not user.strip():
        raise CoordinatorLoginError(NEED_LOGIN)
    return coordinator_login(engine, user, read_password(args, user))


def logins(engine: Engine, args: argparse.Namespace, *, need_second: bool
           ) -> tuple[str | None, str | None]:
    """(actor, second coordinator) from the options; both required for a window
    override (``need_second``); the second must be another person."""
    user = getattr(args, "coordinador", None)
    second_user = getattr(args, "segundo_coordinador", None)
    if need_second and not (user and second_user):
        raise CoordinatorLoginError(
            "un corte fuera de la ventana lo piden dos coordinadores con su cuenta: "
            "--coordinador USUARIO --segundo-coordinador OTRO (sus contraseñas se piden "
            "sin eco, o van en stdin con --password-stdin)")
    actor = coordinator_login(engine, user, read_password(args, user)) if user else None
    second = (coordinator_login(engine, second_user, read_password(args, second_user))
              if second_user else None)
    if second is not None and second == actor:
        raise CoordinatorLoginError("el segundo coordinador debe ser otra persona")
    return actor, second
