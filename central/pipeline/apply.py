"""Applying records to acta states inside the transaction that stores them.

Ingest calls :func:`apply_batch` once per accepted batch. It locks the touched actas'
rows first (key order), then draws the batch's ``pipeline_journal`` position, so the
journal orders every acta's changes exactly as they were made and ``rebuild-state`` can
replay them. It also ends the work leases the batch's records name (bookkeeping only:
the states do not depend on it). Everything it cannot accept becomes an anomaly;
nothing here refuses a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central import catalog_store
from central.anomalies import add_anomaly
from central.db.models import PipelineJournal
from central.pipeline.state import (
    EN_CAPTURA,
    PIPELINE_KINDS,
    ActaState,
    Estado,
    Lookup,
    RecordEvent,
    fold,
)
from central.pipeline.store import catalog_lookup, lock_actas, save, save_fuera
from prep.protocol import Batch
from prep.records import Kind, Record

#: Ingest and the ilegible request hold it shared; rebuilding the states (and seeding
#: them for a new catalog) holds it exclusively, so it sees no fold half-done.
PIPELINE_LOCK = (0x50524550, 4)  # "PREP", 4

JOURNAL = cast(Table, PipelineJournal.__table__)
# Built once (every batch runs them).
_LOCK_SHARED = select(func.pg_advisory_xact_lock_shared(*PIPELINE_LOCK))
_JOURNAL_BATCH = insert(JOURNAL).values(
    station=bindparam("j_station"), batch_number=bindparam("j_number"),
    at=bindparam("j_at")).on_conflict_do_nothing()

log = logging.getLogger("central.pipeline")

#: Raised when a capture, verification or ilegible record names no live lease of its
#: operator on that acta at that station (made without one, or after it ended). The
#: record still counts on its own terms; the coordinator sees who worked outside the
#: queue.
CAPTURA_SIN_LEASE = "captura_sin_lease"
_LEASED = frozenset({Kind.CAPTURA, Kind.VERIFICACION, Kind.ILEGIBLE})

# The record ends the lease it names, if that lease is still live and is its operator's
# at this station on that acta (a verification record a verification lease, a capture a
# capture lease; ilegible either). A lease past its expiry is still live until someone
# else is given the acta (central.leases reclaims it then).
_END_LEASES = text("""
    UPDATE leases AS l SET status = v.status, ended_at = clock_timestamp(),
                           record_id = v.record_id
    FROM unnest(CAST(:records AS uuid[]), CAST(:leases AS uuid[]),
                CAST(:claves AS varchar[]), CAST(:operators AS varchar[]),
                CAST(:kinds AS varchar[]), CAST(:statuses AS varchar[]))
         AS v(record_id, lease, clave_acta, operator, kind, status)
    WHERE l.id = v.lease AND l.clave_acta = v.clave_acta AND l.operator = v.operator
      AND (v.kind = 'ilegible' OR l.kind = v.kind)
      AND l.station = :station AND l.status = 'active'
    RETURNING v.record_id
""")


def current_lookup(session: Session) -> Lookup:
    """The lookup of the current catalog version (parsed once per version)."""
    current = catalog_store.current(session)
    return catalog_lookup(None if current is None else current[1])


class WorkMade(NamedTuple):
    """Actas a batch left waiting for an operator: how many changed into the capture
    queue (or moved within it) and into verification. Operators waiting for work
    (``POST /v1/work/next`` with ``espera``) are woken for them."""

    captura: int = 0
    verificacion: int = 0


NO_WORK = WorkMade()


def apply_batch(session: Session, batch: Batch, received_at: datetime) -> WorkMade:
    """Advance the acta states with ``batch``'s records (ingest's transaction); what
    work they made."""
    records = [r for r in batch.records if r.kind in PIPELINE_KINDS]
    if not records:
        return NO_WORK
    lock_pipeline_shared(session)
    lookup = current_lookup(session)
    claves = {c for r in records if (c := _clave(r)) is not None}
    before = lock_actas(session, claves, lookup)
    # A batch already journaled (its records lost by a partial restore and sent again)
    # keeps its first position; its records are already in the states (state.holds).
    session.execute(_JOURNAL_BATCH, {"j_station": batch.station, "j_number": batch.number,
                                     "j_at": received_at})
    _end_leases(session, batch.station, records, before)
    events = [RecordEvent(r.id, r.station, r.operator, r.kind, r.at, received_at, r.body,
                          r.replaces) for r in records]
    folded = fold(events, lookup, before)
    save(session, before, folded.actas)
    save_fuera(session, folded.fuera.values())
    for note in folded.notes:
        log.warning("%s: %s", note.type, note.detail)
        add_anomaly(session, note.type, note.station, note.detail)
    changed = [a.estado for clave, a in folded.actas.items() if a != before.get(clave)]
    return WorkMade(sum(e in EN_CAPTURA for e in changed),
                    sum(e is Estado.VERIFICACION for e in changed))


def lock_pipeline_shared(session: Session) -> None:
    """Take :data:`PIPELINE_LOCK` shared, before reading the catalog or any acta."""
    session.execute(_LOCK_SHARED)


def _clave(record: Record) -> str | None:
    clave = record.body.get("clave_acta")
    return clave if isinstance(clave, str) else None


def _end_leases(session: Session, station: str, records: Sequence[Record],
                actas: dict[str, ActaState]) -> None:
    """End the leases this batch's work records name; raise ``captura_sin_lease`` for
    each one that named none live. The first record naming a lease ends it (a second
    one is a repeat, which the fold reports as such)."""
    work: dict[str, Record] = {}
    unleased: list[Record] = []
    for r in records:
        clave = _clave(r)
        acta = actas.get(clave) if clave is not None else None
        if r.kind not in _LEASED or acta is None or not acta.en_catalogo:
            continue
        lease = r.body.get("lease")
        if isinstance(lease, str) and lease not in work:
            work[lease] = r
        else:
            unleased.append(r)
    ended: set[str] = set()
    if work:
        params: dict[str, Any] = {
            "station": station, "records": [r.id for r in work.values()],
            "leases": list(work), "claves": [_clave(r) for r in work.values()],
            "operators": [r.operator for r in work.values()],
            "kinds": [r.kind.value for r in work.values()],
            "statuses": ["ilegible" if r.kind is Kind.ILEGIBLE else "completed"
                         for r in work.values()]}
        ended = {str(row.record_id) for row in session.execute(_END_LEASES, params)}
    for r in [*unleased, *(r for r in work.values() if r.id not in ended)]:
        add_anomaly(session, CAPTURA_SIN_LEASE, station, {
            "record": r.id, "clave_acta": _clave(r), "operator": r.operator,
            "kind": r.kind.value, "lease": r.body.get("lease")})
