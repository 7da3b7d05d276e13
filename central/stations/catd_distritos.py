"""Which CATD receives each distrito's actas (``prep central catd-distritos``).

The CDMX has one CATD per distrito local, numbered as its distrito: a CATD station of
sitio ``07`` receives the actas of distrito 7, and only those (its acopio, sin acta,
digitalización and cotejo records are checked against it at ingest,
:mod:`central.pipeline.authorize`, and it is handed its own actas' capture work
first). A state with fewer CATDs than distritos, or a drill with a few CATD stations,
says here which CATD receives the other distritos; a distrito not listed stays with
the CATD of its own number. Every change is audited (``catd_distritos_assigned``); the
command is :mod:`central.commands.catd_distritos`.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.estaciones import CatdDistrito
from central.stations.enrollment import MAX_CATD

#: distrito → the CATD that receives its actas, for the distritos not at their own CATD.
Assigned = Mapping[int, int]

_ASSIGNED = select(CatdDistrito.distrito, CatdDistrito.catd)


def assigned(conn: Session | Connection) -> dict[int, int]:
    """The distritos received by a CATD other than their own number's."""
    return {int(r.distrito): int(r.catd) for r in conn.execute(_ASSIGNED)}


def catd_of(distrito: int, table: Assigned) -> int:
    """The CATD that receives ``distrito``'s actas."""
    return table.get(distrito, distrito)


def distritos_of(catd: int, table: Assigned) -> list[int]:
    """The distritos whose actas CATD ``catd`` receives (its own first)."""
    own = [] if catd in table else [catd]
    return own + sorted(d for d, c in table.items() if c == catd and d != catd)


def assign(engine: Engine, catd: int, distritos: Sequence[int], *,
           actor: str) -> dict[int, int]:
    """Have CATD ``catd`` receive ``distritos``' actas from now on (its own number's
    distrito back at its own CATD removes the row); return the whole table."""
    wrong = [n for n in (catd, *distritos) if not 1 <= n <= MAX_CATD]
    if wrong or not distritos:
        raise ValueError(f"indique el CATD y al menos un distrito, números de 1 a {MAX_CATD}")
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        rows = [{"distrito": d, "catd": catd, "assigned_at": now, "assigned_by": actor}
                for d in sorted(set(distritos)) if d != catd]
        if catd in distritos:
            session.execute(delete(CatdDistrito).where(CatdDistrito.distrito == catd))
        if rows:
            upsert = insert(CatdDistrito)
            session.execute(upsert.on_conflict_do_update(
                index_elements=[CatdDistrito.distrito],
                set_={"catd": upsert.excluded.catd, "assigned_at": upsert.excluded.assigned_at,
                      "assigned_by": upsert.excluded.assigned_by}), rows)
        audit.emit(session, "catd_distritos_assigned", actor=actor,
                   detail={"catd": catd, "distritos": sorted(set(distritos))})
        return assigned(session)
