"""A coordinator's login for the tests that run coordinator commands (issue 62): the
account, created once per database, and the options and stdin that log in with it
(``--coordinador … --password-stdin``, the password on stdin, never in argv)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db import make_engine
from central.db.estaciones import Operator
from central.stations.operators import add_operator

NOMBRE = "Coordinadora de Pruebas"
CLAVE = "sala-de-control-de-pruebas-7"
#: What a test appends to a coordinator command (with :data:`STDIN` as its input).
LOGIN = ("--coordinador", NOMBRE, "--password-stdin")
STDIN = CLAVE + "\n"


def coordinador(dsn: str) -> str:
    """The test coordinator's account id on the central at ``dsn`` (made if missing)."""
    engine = make_engine(dsn, pool_size=1)
    try:
        with Session(engine) as session:
            found = session.scalar(select(Operator.id).where(Operator.name == NOMBRE))
        if found is not None:
            return str(found)
        return add_operator(engine, NOMBRE, "coordinador", "CENTRAL", CLAVE,
                            actor="pruebas").id
    finally:
        engine.dispose()
