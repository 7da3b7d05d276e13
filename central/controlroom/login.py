"""Coordinators log in before acting from the dashboard (Qt-free).

The dashboard's writes go through a login holding only ``prep_coordinador`` (revision
0028; ``prep central usuario-coordinacion``), never the schema owner, and they are bound
in the database to a coordinator's login: the password is checked by
``prep_abrir_sesion`` (a function of the owner: the role cannot read password hashes),
which returns a random token whose SHA-256 it keeps in ``coordinador_sesiones``. Every
connection that acts carries the token (``prep.sesion``); the database refuses any write
of the role without an open session, and any audit event whose actor is not that
session's coordinator. The check runs on the dashboard's actions worker, never on the
GUI thread.

Who may log in: an enabled account with the ``coordinador`` role at the central
(``CENTRAL``). Wrong passwords count per *account* in the database (after
:data:`FREE_FAILURES` in a row the account waits 30 s, doubling up to 15 min, whoever
asks), and in this process too (:class:`LoginThrottle`). Successful logins and refusals of
a known account are audited (``dashboard_login``, with the session's id, and
``dashboard_login_refused``); a name that is no account leaves no row.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from central.audit import audit
from central.controlroom.actions import ActionError
from central.db import make_engine
from central.db.estaciones import Operator
from central.db.privileges import COORDINATOR_ROLE
from central.stations.operators import CENTRAL
from prep.bundle import operator_name_key
from prep.passwords import PasswordError
from prep.passwords import ScryptHash
from prep.passwords import waste_like_a_check

ROLE = "coordinador"
FREE_FAILURES = 5
LOCK_BASE_S = 30.0
LOCK_MAX_S = 15 * 60.0
MAX_USER = 128
BAD_CREDENTIALS = "Usuario o contraseña incorrectos."


class LoginError(ActionError):
    """A refused login; ``str()`` is the Spanish message shown in the login dialog."""


@dataclass(frozen=True)
class CoordinatorAccount:
    """The coordinator logged in: ``id`` is the actor of every audited action, ``token``
    the secret of their session (never logged; the database keeps only its SHA-256)."""

    id: str
    name: str
    token: str = field(default="", repr=False)

    @property
    def sesion_id(self) -> str:
        """What names the session in the audit log: the start of its token's SHA-256."""
        return hashlib.sha256(self.token.encode()).hexdigest()[:16]


class LoginThrottle:
    """Consecutive wrong passwords per account and the wait they impose (thread-safe).

    ``clock`` is injectable so the rule is tested without waiting.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def wait_s(self, account: str) -> float:
        """Seconds ``account`` must still wait (0: it may try)."""
        with self._lock:
            return max(0.0, self._until.get(account, 0.0) - self.clock())

    def failed(self, account: str) -> int:
        """Count a wrong password; the failures in a row so far."""
        with self._lock:
            n = self._failures.get(account, 0) + 1
            self._failures[account] = n
            over = n - FREE_FAILURES
            if over >= 0:
                wait = min(LOCK_BASE_S * 2 ** min(over, 10), LOCK_MAX_S)
                self._until[account] = self.clock() + wait
            return n

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(account, None)
            self._until.pop(account, None)


def authenticate(engine: Engine, user: str, password: str, throttle: LoginThrottle, *,
                 dsn: str) -> CoordinatorAccount:
    """The coordinator ``user`` (account id, or name at the central) names, if
    ``password`` is theirs, with an open session; raises :class:`LoginError` otherwise
    (see the module). ``engine``: the actions login's, without a session; ``dsn``: its
    address, for the connection that records the login under the new session."""
    user = " ".join(user.split())
    if not user or len(user) > MAX_USER:
        raise LoginError("Escriba su usuario (op-central-…) o su nombre, y su contraseña.")
    with engine.connect() as conn:
        check_actions_login(conn)
    with Session(engine) as session:
        found = _find(session, user)
    if found is None:
        waste_like_a_check(password)  # as slow as a real check: no hint
        raise LoginError(BAD_CREDENTIALS)
    operator_id, name = found
    wait = throttle.wait_s(operator_id)
    if wait > 0:
        _audit(engine, operator_id, "bloqueada")
        raise LoginError(_locked_text(wait))
    token, motivo, espera, fallos = open_session(engine, operator_id, password)
    if motivo == "bloqueada":
        _audit(engine, operator_id, "bloqueada", fallos)
        raise LoginError(_locked_text(espera))
    if motivo in ("contraseña", "desconocida"):
        _audit(engine, operator_id, "contraseña", max(fallos, throttle.failed(operator_id)))
        raise LoginError(BAD_CREDENTIALS)
    throttle.succeeded(operator_id)
    if motivo == "deshabilitada":
        _audit(engine, operator_id, "deshabilitada")
        raise LoginError("Su cuenta está deshabilitada: pida a otro coordinador que la "
                         "habilite («prep central operator enable»).")
    if motivo != "ok" or token is None:
        _audit(engine, operator_id, "no_coordinador")
        raise LoginError("Las acciones del tablero son solo para coordinadores del nodo "
                         "central; esta cuenta es de otro rol o sitio.")
    account = CoordinatorAccount(operator_id, name, token)
    bound = make_engine(dsn, pool_size=1, sesion=token)
    try:
        with Session(bound) as session, session.begin():
            audit.emit(session, "dashboard_login", actor=operator_id,
                       detail={"operator": operator_id, "name": name,
                               "sesion": account.sesion_id})
    finally:
        bound.dispose()
    return account


def open_session(engine: Engine, operator_id: str, password: str
                 ) -> tuple[str | None, str, float, int]:
    """Ask the database to open a session of ``operator_id`` with ``password``: the
    scrypt key is derived here from the account's salt and parameters and compared
    there. (token or ``None``, motivo, seconds to wait, wrong passwords in a row)."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT salt, n, r, p, largo FROM prep_sal_coordinador(:o)"),
                           {"o": operator_id}).one_or_none()
    clave = None
    if row is not None and row.salt is not None:
        try:
            scrypt = ScryptHash(bytes(row.salt), row.n, row.r, row.p, bytes(row.largo))
            scrypt.check()
            clave = scrypt.derive(password)
        except PasswordError:
            clave = None
    if clave is None:
        waste_like_a_check(password)
    with engine.begin() as conn:
        token, motivo, espera, fallos = conn.execute(
            text("SELECT token, motivo, espera, fallos FROM prep_abrir_sesion(:o, :c)"),
            {"o": operator_id, "c": clave}).one()
    return token, str(motivo), float(espera or 0.0), int(fallos or 0)


def close_session(engine: Engine, account: CoordinatorAccount) -> None:
    """End ``account``'s session in the database (logout, the window closing)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT prep_cerrar_sesion(:t)"), {"t": account.token})


def check_actions_login(conn: Connection) -> None:
    """Refuse an actions connection that is more than a coordinator's: a superuser, the
    owner of the schema, or a login without ``prep_coordinador`` (the dashboard must
    never write with the central's own powers)."""
    row = conn.execute(text(
        "SELECT r.rolsuper, pg_has_role(current_user, :role, 'USAGE'), "
        "EXISTS (SELECT FROM pg_class WHERE relname = 'audit_log' "
        "        AND relnamespace = current_schema()::regnamespace "
        "        AND pg_has_role(current_user, relowner, 'USAGE')) "
        "FROM pg_roles r WHERE r.rolname = current_user"), {"role": COORDINATOR_ROLE}).one()
    superuser, member, owner = row
    if superuser or owner:
        raise LoginError("La conexión de acciones (--acciones-dsn) es la del dueño del "
                         "esquema o de un superusuario: el tablero no actúa con ella. Use "
                         "un usuario con solo el rol prep_coordinador («prep central "
                         "usuario-coordinacion»; docs/seguridad.md).")
    if not member:
        raise LoginError("El usuario de --acciones-dsn no tiene el rol prep_coordinador: "
                         "pida uno con «prep central usuario-coordinacion» "
                         "(docs/seguridad.md).")


def _find(session: Session, user: str) -> tuple[str, str] | None:
    """The account ``user`` names (id, name): its id, else its name among the
    central's. Only those columns: the dashboard's role reads no password hash."""
    row = session.execute(select(Operator.id, Operator.name)
                          .where(Operator.id == user.lower())).one_or_none()
    if row is not None:  # ids are lower-case ASCII
        return str(row.id), str(row.name)
    key = operator_name_key(user)
    rows = [(str(r.id), str(r.name)) for r in session.execute(
        select(Operator.id, Operator.name).where(Operator.sitio == CENTRAL))
        if operator_name_key(r.name) == key]
    return rows[0] if len(rows) == 1 else None


def _audit(engine: Engine, operator: str, motivo: str, failures: int = 0) -> None:
    with Session(engine) as session, session.begin():
        audit.emit(session, "dashboard_login_refused", actor=operator,
                   detail={"operator": operator, "motivo": motivo, "failures": failures})


def _locked_text(wait: float) -> str:
    seconds = math.ceil(wait)
    espere = "1 segundo" if seconds == 1 else f"{seconds} segundos"
    return (f"Demasiados intentos fallidos con esa cuenta: espere {espere} y vuelva a "
            "intentarlo.")
