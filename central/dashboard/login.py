"""Coordinators log in before acting from the dashboard (Qt-free).

The dashboard's writes are audited with the logged-in coordinator's account id, not with
the desktop's user name: the accounts already exist (``prep central operator add
--central --role coordinador``) and their scrypt hashes are in ``operators``. The check
runs with the central's connection (``--acciones-dsn``; the read-only role never sees
password hashes), on the dashboard's actions worker, never on the GUI thread.

Who may log in: an enabled account with the ``coordinador`` role at the central
(``CENTRAL``); a CATD's or the CCV's coordinator runs its own site, not the state's
cortes. Wrong passwords count per *account* (typed by id or by name alike): after
:data:`FREE_FAILURES` in a row, the account waits 30 s, doubling up to 15 min (kept in
this process: whoever holds the central's connection can write to the database anyway,
so the login is about who did what, and the wait only slows a guess at the keyboard).
Successful logins and refusals of a known account are audited (``dashboard_login``,
``dashboard_login_refused``); a name that is no account leaves no row (nothing to
attribute, and typed text is never logged).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central import audit
from central.controlroom.actions import ActionError
from central.db.models import Operator
from central.operators import CENTRAL
from prep.bundle import BundleOperator
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
    """The coordinator logged in: ``id`` is the actor of every audited action."""

    id: str
    name: str


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


def authenticate(engine: Engine, user: str, password: str,
                 throttle: LoginThrottle) -> CoordinatorAccount:
    """The coordinator ``user`` (account id, or name at the central) names, if
    ``password`` is theirs; raises :class:`LoginError` otherwise (see the module)."""
    user = " ".join(user.split())
    if not user or len(user) > MAX_USER:
        raise LoginError("Escriba su usuario (op-central-…) o su nombre, y su contraseña.")
    with Session(engine) as session:
        row = _find(session, user)
        # Read whole inside the session: the account as a station would hold it.
        found = None if row is None else BundleOperator(row.id, row.name, row.role, row.sitio,
                                                        row.enabled, _hash_of(row))
    if found is None:
        waste_like_a_check(password)  # as slow as a real check: no hint
        raise LoginError(BAD_CREDENTIALS)
    wait = throttle.wait_s(found.id)
    if wait > 0:
        _audit(engine, found.id, "bloqueada")
        raise LoginError(_locked_text(wait))
    if not _matches(found.scrypt, password):
        _audit(engine, found.id, "contraseña", throttle.failed(found.id))
        raise LoginError(BAD_CREDENTIALS)
    throttle.succeeded(found.id)
    if not found.enabled:
        _audit(engine, found.id, "deshabilitada")
        raise LoginError("Su cuenta está deshabilitada: pida a otro coordinador que la "
                         "habilite («prep central operator enable»).")
    if found.role != ROLE or found.sitio != CENTRAL:
        _audit(engine, found.id, "no_coordinador")
        raise LoginError("Las acciones del tablero son solo para coordinadores del nodo "
                         "central; esta cuenta es de otro rol o sitio.")
    with Session(engine) as session, session.begin():
        audit.emit(session, "dashboard_login", actor=found.id,
                   detail={"operator": found.id, "name": found.name})
    return CoordinatorAccount(found.id, found.name)


def _find(session: Session, user: str) -> Operator | None:
    """The account ``user`` names: its id, else its name among the central's."""
    row = session.get(Operator, user.lower())  # ids are lower-case ASCII
    if row is not None:
        return row
    key = operator_name_key(user)
    rows = [r for r in session.scalars(select(Operator).where(Operator.sitio == CENTRAL))
            if operator_name_key(r.name) == key]
    return rows[0] if len(rows) == 1 else None


def _hash_of(row: Operator) -> ScryptHash | None:
    try:
        scrypt = ScryptHash(row.scrypt_salt, row.scrypt_n, row.scrypt_r, row.scrypt_p,
                            row.scrypt_hash)
        scrypt.check()
    except PasswordError:
        return None
    return scrypt


def _matches(scrypt: ScryptHash | None, password: str) -> bool:
    if scrypt is None:
        waste_like_a_check(password)
        return False
    return scrypt.matches(password)


def _audit(engine: Engine, operator: str, motivo: str, failures: int = 0) -> None:
    with Session(engine) as session, session.begin():
        audit.emit(session, "dashboard_login_refused", actor=operator,
                   detail={"operator": operator, "motivo": motivo, "failures": failures})


def _locked_text(wait: float) -> str:
    seconds = math.ceil(wait)
    espere = "1 segundo" if seconds == 1 else f"{seconds} segundos"
    return (f"Demasiados intentos fallidos con esa cuenta: espere {espere} y vuelva a "
            "intentarlo.")
