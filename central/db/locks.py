"""How long the central waits for a lock, and what a wait that ran out looks like.

Every connection of :func:`central.db.make_engine` starts with ``lock_timeout`` set to
:data:`LOCK_TIMEOUT` (a connection option, so every transaction has it from its first
statement: ingest's per-station and pipeline advisory locks, the audit chain's, the
catalog's, acta rows, DDL of a migration). A holder that never lets go (a stuck process,
a session left open) then costs each waiter at most that long, and the worker threads
of ``serve`` are freed for other stations and ``/v1/health`` instead of piling up behind
it. The wait that ran out reaches callers as :class:`DatabaseBusy`, with a Spanish
message; the HTTP layer answers database errors 503 (a station simply repeats the
identical request), and :attr:`DatabaseBusy.retry_after` is what ``Retry-After`` says.

Waits that are long on purpose (one corte behind another, a second process behind a
migration) take a bound of their own with :func:`lock_wait`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg.errors
from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import SQLAlchemyError

#: The central's default bound on any lock wait. Well below the stations' request
#: timeout (30–60 s), well above a batch's transaction under load (under 2 s).
LOCK_TIMEOUT = timedelta(seconds=10)
#: What a station is told to wait before repeating a request refused as busy.
RETRY_AFTER_SECONDS = 5

_BUSY = ("La base de datos del nodo central está ocupada: se esperó {seconds} s un "
         "bloqueo que otro proceso retiene (un corte, una reconstrucción del estado o una "
         "sesión detenida). No se guardó nada de esta operación; vuelva a intentar en unos "
         "segundos. Si se repite, revise las sesiones abiertas en PostgreSQL "
         "(pg_stat_activity, columna wait_event_type = 'Lock').")


class DatabaseBusy(SQLAlchemyError):
    """A lock wait ran out (PostgreSQL's ``lock_timeout``, SQLSTATE 55P03).

    A :class:`~sqlalchemy.exc.SQLAlchemyError`, so whatever already handles database
    failures handles it; ``str()`` is the Spanish message for the operator.
    """

    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, waited: timedelta = LOCK_TIMEOUT) -> None:
        super().__init__(_BUSY.format(seconds=f"{waited.total_seconds():g}"))
        self.waited = waited

    def __str__(self) -> str:  # SQLAlchemy's adds a link to its docs: not for operators
        return str(self.args[0])


def session_options(lock_timeout: timedelta = LOCK_TIMEOUT) -> str:
    """The libpq ``options`` that give a connection the central's bounded waits."""
    return f"-c lock_timeout={_ms(lock_timeout)}"


def install(engine: Engine) -> None:
    """Make a lock wait that ran out on ``engine`` raise :class:`DatabaseBusy`."""
    event.listen(engine, "handle_error", _busy_error)


@contextmanager
def lock_wait(connection: Connection, bound: timedelta) -> Iterator[None]:
    """Wait up to ``bound`` (not :data:`LOCK_TIMEOUT`) for the locks taken inside, on a
    ``connection`` in autocommit mode (a session advisory lock); a wait that runs out
    raises :class:`DatabaseBusy` naming ``bound``. Inside a transaction, use ``SET
    LOCAL lock_timeout`` instead: it ends with the transaction.
    """
    connection.execute(select(func.set_config("lock_timeout", _ms(bound), False)))
    try:
        yield
    except DatabaseBusy:
        raise DatabaseBusy(bound) from None
    finally:
        if not connection.invalidated:
            # Back to the connection's own value (its startup option) before the pool
            # hands it to anyone else: RESET, not 0.
            connection.execute(text("RESET lock_timeout"))


def _busy_error(context: ExceptionContext) -> BaseException | None:
    if isinstance(context.original_exception, psycopg.errors.LockNotAvailable):
        return DatabaseBusy()
    return None


def _ms(bound: timedelta) -> str:
    return f"{round(bound.total_seconds() * 1000)}ms"
