"""Applying facts to acta states inside the transaction that stores them.

Ingest calls :func:`apply_batch` once per accepted batch; ``POST /v1/work/{lease}/
ilegible`` calls :func:`apply_ilegible`. Both lock the touched actas' rows first (key
order), then draw their ``pipeline_journal`` position, so the journal orders every
acta's changes exactly as they were made and ``rebuild-state`` can replay them.
Everything they cannot accept becomes an anomaly; nothing here refuses a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central import catalog_store
from central.anomalies import add_anomaly
from central.db.models import PipelineJournal
from central.pipeline.state import (
    PIPELINE_KINDS,
    ActaState,
    Admission,
    IlegibleEvent,
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

log = logging.getLogger("central.pipeline")

# A capture or verification completes the live lease its operator holds on that acta at
# that station; a lease past its expiry still counts until someone else is given the
# acta (central.leases reclaims it then).
_ADMIT = text("""
    UPDATE leases AS l SET status = 'completed', ended_at = clock_timestamp(),
                           record_id = v.record_id
    FROM unnest(CAST(:records AS uuid[]), CAST(:claves AS varchar[]),
                CAST(:operators AS varchar[]), CAST(:kinds AS varchar[]))
         AS v(record_id, clave_acta, operator, kind)
    WHERE l.clave_acta = v.clave_acta AND l.operator = v.operator AND l.kind = v.kind
      AND l.station = :station AND l.status = 'active'
    RETURNING v.record_id, l.id, l.kind, l.slot, l.image_record
""")


def current_lookup(session: Session) -> Lookup:
    """The lookup of the current catalog version (parsed once per version)."""
    current = catalog_store.current(session)
    return catalog_lookup(None if current is None else current[1])


def apply_batch(session: Session, batch: Batch, received_at: datetime) -> None:
    """Advance the acta states with ``batch``'s records (ingest's transaction)."""
    records = [r for r in batch.records if r.kind in PIPELINE_KINDS]
    if not records:
        return
    lock_pipeline_shared(session)
    lookup = current_lookup(session)
    claves = {c for r in records if (c := _clave(r)) is not None}
    before = lock_actas(session, claves, lookup)
    # A batch already journaled (its records lost by a partial restore and sent again)
    # keeps its first position; its records are already in the states (state.holds).
    session.execute(insert(JOURNAL).values(kind="lote", station=batch.station,
                                           batch_number=batch.number, at=received_at)
                    .on_conflict_do_nothing())
    admissions = _admit(session, batch.station, records, before)
    events = [RecordEvent(r.id, r.station, r.operator, r.kind, r.at, received_at, r.body,
                          r.replaces, admissions.get(r.id)) for r in records]
    folded = fold(events, lookup, before)
    save(session, before, folded.actas)
    save_fuera(session, folded.fuera.values())
    for note in folded.notes:
        log.warning("%s: %s", note.type, note.detail)
        add_anomaly(session, note.type, note.station, note.detail)


def apply_ilegible(session: Session, event: IlegibleEvent, lookup: Lookup,
                   before: dict[str, ActaState]) -> ActaState:
    """Send ``event``'s acta back to digitalización. The caller holds the shared
    pipeline lock and the acta's row (``before``, from
    :func:`~central.pipeline.store.lock_actas`) and has checked the request."""
    session.execute(insert(JOURNAL).values(
        kind="ilegible", station=event.station, clave_acta=event.clave,
        lease_id=event.lease, operator=event.operator, at=event.at))
    folded = fold([event], lookup, before)
    save(session, before, folded.actas)
    return folded.actas[event.clave]


def lock_pipeline_shared(session: Session) -> None:
    """Take :data:`PIPELINE_LOCK` shared, before reading the catalog or any acta."""
    session.execute(select(func.pg_advisory_xact_lock_shared(*PIPELINE_LOCK)))


def _clave(record: Record) -> str | None:
    clave = record.body.get("clave_acta")
    return clave if isinstance(clave, str) else None


def _admit(session: Session, station: str, records: Sequence[Record],
           actas: dict[str, ActaState]) -> dict[str, Admission]:
    """Complete the leases of this batch's captures and verifications; the admissions
    by record id. Only an operator's first record per acta and kind in the batch can
    complete a lease (a second one is a repeat, which the fold reports)."""
    wanted: dict[tuple[str, str, str], Record] = {}
    for r in records:
        clave = _clave(r)
        if r.kind not in (Kind.CAPTURA, Kind.VERIFICACION) or clave is None:
            continue
        acta = actas.get(clave)
        if acta is None or not acta.en_catalogo:
            continue
        wanted.setdefault((clave, r.operator, r.kind.value), r)
    if not wanted:
        return {}
    params: dict[str, Any] = {
        "station": station,
        "records": [r.id for r in wanted.values()],
        "claves": [k[0] for k in wanted], "operators": [k[1] for k in wanted],
        "kinds": [k[2] for k in wanted]}
    return {str(row.record_id): Admission(str(row.id), row.kind, row.slot,
                                          None if row.image_record is None
                                          else str(row.image_record))
            for row in session.execute(_ADMIT, params)}
