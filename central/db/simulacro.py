"""Whether this central is a drill's: ``installation.simulacro`` (revision 0012).

A drill's central (``prep central init --simulacro``, always under ``prep simulacro``)
stamps SIMULACRO on every corte it publishes, so a drill is never mistaken for results
(docs/simulacro.md). The flag is set before the night starts: once the database holds
results it can change neither way (the trigger of revision 0012 refuses; here the same
rule is checked first to say it in the operator's words).
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.orm import Session

from central.db.instalacion import Installation


class SimulacroError(ValueError):
    """The SIMULACRO flag cannot be changed (Spanish message: what to do instead)."""


def is_simulacro(bind: Session | Connection) -> bool:
    """Whether this central's cortes are stamped SIMULACRO."""
    return bool(bind.scalar(select(Installation.simulacro).where(Installation.id == 1)))


def holds_results(bind: Session | Connection) -> bool:
    """Whether the database holds anything of an election night (``prep_holds_results``
    of revision 0012: records, images, fuera de catálogo, actas past *esperada*,
    cortes)."""
    return bool(bind.scalar(text("SELECT prep_holds_results()")))


def set_simulacro(session: Session, simulacro: bool) -> bool:
    """Make this central a drill's (``True``) or a real one's, inside ``session``'s
    transaction; returns whether it changed. Raises :class:`SimulacroError` when the
    database already holds results."""
    current = is_simulacro(session)
    if current == simulacro:
        return False
    if holds_results(session):
        if current:
            raise SimulacroError(
                "esta base de datos ya tiene resultados de un simulacro y su indicador "
                "SIMULACRO no se puede quitar: sus datos nunca se publicarán como "
                "resultados. Para la elección inicialice el nodo central con una base de "
                "datos nueva (otra --dsn o un --data-dir nuevo), sin --simulacro.")
        raise SimulacroError(
            "esta base de datos ya tiene resultados de la elección y no se puede marcar "
            "como SIMULACRO. Para un simulacro inicialice un nodo central con una base de "
            "datos nueva (otra --dsn o un --data-dir nuevo): «prep central init "
            "--simulacro».")
    session.execute(update(Installation).where(Installation.id == 1)
                    .values(simulacro=simulacro))
    return True
