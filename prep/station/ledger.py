"""What this station already did with each acta, read from its own store (Qt-free).

One read model for the questions the acopio screen, the digitalización screen and the
drill's virtual stations all ask on start: which actas arrived here (acopio or *sin
acta*, the latest one standing), which have an acopio, which have an image, and which
codes outside the catalog were received. One pass over the ``records`` table: a CATD
holds a few thousand rows at most.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy import case
from sqlalchemy import or_
from sqlalchemy import select

from prep.records import Kind
from prep.station.models import RecordRow
from prep.station.store import Store

_KINDS = (Kind.ACOPIO.value, Kind.SIN_ACTA.value, Kind.IMAGEN.value)


@dataclass(frozen=True)
class Arrival:
    """An acta already registered at this station (acopio or *sin acta*): its latest
    arrival record (an acopio correcting a sin acta replaces it)."""

    kind: str  # Kind.ACOPIO or Kind.SIN_ACTA
    at: datetime
    record: str
    causa: str | None = None  # of a sin acta


@dataclass
class ActaLedger:
    """The actas this station registered, by CLAVE_ACTA."""

    arrivals: dict[str, Arrival] = field(default_factory=dict)
    """Latest acopio or *sin acta* of each acta."""
    acopiadas: set[str] = field(default_factory=set)
    """Actas with an acopio record (paper received here)."""
    con_imagen: set[str] = field(default_factory=set)
    """Actas with an image record."""
    fuera_de_catalogo: dict[str, datetime] = field(default_factory=dict)
    """Codes read in acopio that name no catalog acta, and when first."""

    @property
    def registradas(self) -> set[str]:
        """Actas with an acopio or a *sin acta* (not to be registered again)."""
        return set(self.arrivals)

    @property
    def sin_imagen(self) -> set[str]:
        """Acopiadas here without an image yet."""
        return self.acopiadas - self.con_imagen

    @property
    def imagen_sin_acopio(self) -> set[str]:
        """Images of actas that have no acopio here."""
        return self.con_imagen - self.acopiadas


def read_ledger(store: Store) -> ActaLedger:
    """The ledger as the store holds it now (disk: call it on a worker)."""
    ledger = ActaLedger()
    # Only a sin acta's cause and an acopio outside the catalog need the record's body:
    # parsing every acopio's JSON would triple the cost of this read.
    body_needed = or_(RecordRow.kind == Kind.SIN_ACTA.value, RecordRow.clave_acta.is_(None))
    with store.read() as session:
        rows = session.execute(
            select(RecordRow.kind, RecordRow.clave_acta, RecordRow.id, RecordRow.created,
                   case((body_needed, RecordRow.canonical), else_=None))
            .where(RecordRow.kind.in_(_KINDS)).order_by(RecordRow.seq))
        for kind, clave, record_id, created, canonical in rows:
            if kind == Kind.IMAGEN.value:
                if clave is not None:
                    ledger.con_imagen.add(clave)
                continue
            body = json.loads(canonical)["body"] if canonical is not None else {}
            # The store wrote ``created`` itself (format_time): no need for parse_time's
            # strict check, three times slower.
            at = datetime.fromisoformat(created)
            if clave is not None:
                # In seq order: a later arrival is the correction of the earlier one.
                ledger.arrivals[clave] = Arrival(kind, at, record_id, body.get("causa"))
                if kind == Kind.ACOPIO.value:
                    ledger.acopiadas.add(clave)
            elif body.get("fuera_de_catalogo") is True:
                ledger.fuera_de_catalogo.setdefault(body["codigo_leido"], at)
    return ledger
