"""Disabling and enabling an enrolled station (``prep central station disable|enable``,
and the dashboard's same action).

A station whose key is stolen, whose machine is lost, or that sends what it should not,
must stop counting at once without touching anything it already delivered. Disabling
sets ``stations.enabled`` to false: from its next request the central refuses everything
the station signs (batches, images, cursor, work, bundle, CCV intake) with 403
``unknown_station`` (:mod:`central.stations.auth`, :mod:`central.pipeline.ingest`), the
station keeps its records and says so on screen, and enabling it again lets it deliver what it kept.
Its active work leases are ended (``expired``) in the same transaction, so the actas it
held go back to the queue for other stations instead of waiting for the leases to run
out. Every change is audited in that transaction (``station_disabled`` /
``station_enabled``, with who and why).
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import update
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.actas import Lease
from central.db.estaciones import Station

MAX_REASON = 500
"""Characters of a reason kept in the audit log (it is written by a person)."""


class UnknownStation(LookupError):
    """No enrolled station has that id; ``str()`` is the Spanish message."""

    def __init__(self, station_id: str) -> None:
        shown = station_id[:64] if station_id[:64].isprintable() else ascii(station_id[:64])
        super().__init__(f"No existe el equipo «{shown}» en el nodo central. Revise el "
                         "identificador (prep central stations los lista).")
        self.station_id = station_id


def set_station_enabled(engine: Engine, station_id: str, enabled: bool, *, actor: str,
                        reason: str) -> None:
    """Enable or disable ``station_id`` and audit it, in one transaction.

    Disabling needs a ``reason`` (what the coordinator saw: it is what an auditor reads
    later) and ends the station's active leases; setting the state it already has
    changes and audits nothing. Raises :class:`UnknownStation` for an id that was never
    enrolled and :class:`ValueError` (Spanish) for a disable without a reason.
    """
    # One line of printable text: a reason is shown in logs and terminals, and jsonb
    # refuses U+0000.
    reason = " ".join("".join(c if c.isprintable() else " " for c in reason).split())
    if not enabled and not reason:
        raise ValueError("Indique el motivo para deshabilitar el equipo (queda en la "
                         "bitácora).")
    with Session(engine) as session, session.begin():
        row = session.get(Station, station_id, with_for_update=True)
        if row is None:
            raise UnknownStation(station_id)
        if row.enabled == enabled:
            return
        row.enabled = enabled
        detail: dict[str, str | int] = {"station": row.id, "role": row.role,
                                        "sitio": row.sitio, "reason": reason[:MAX_REASON]}
        if enabled:
            audit.emit(session, "station_enabled", actor=actor, detail=detail)
            return
        ended = session.execute(
            update(Lease).where(Lease.station == station_id, Lease.status == "active")
            .values(status="expired", ended_at=func.clock_timestamp()))
        detail["leases_ended"] = int(getattr(ended, "rowcount", 0) or 0)
        audit.emit(session, "station_disabled", actor=actor, detail=detail)
