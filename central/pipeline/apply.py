"""Applying records to acta states inside the transaction that stores them.

Ingest calls :func:`apply_batch` once per accepted batch. It locks the touched actas'
rows first (key order), then draws the batch's ``pipeline_journal`` position, so the
journal orders every acta's changes exactly as they were made and ``rebuild-state`` can
replay them. Every record is checked first (:mod:`central.pipeline.authorize`): what its
station or operator was not entitled to is quarantined and never folded. It also ends
the work leases the admitted records name (bookkeeping only: the states do not depend
on it). Everything it cannot accept becomes an anomaly; nothing here refuses a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple
from typing import cast

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.audit import audit
from central.audit.anomalies import add_anomaly
from central.catalog import catalog_store
from central.db.actas import PipelineJournal
from central.pipeline.authorize import CHECKED_KINDS
from central.pipeline.authorize import Gate
from central.pipeline.authorize import Sender
from central.pipeline.casilla import CASILLA_SIN_ACTA_CON_DATOS
from central.pipeline.casilla import Contradiccion
from central.pipeline.casilla import claves_to_lock
from central.pipeline.casilla import contradicciones
from central.pipeline.casilla import siblings_in
from central.pipeline.cotejo import ABIERTA
from central.pipeline.cotejo import CONFIRMADO
from central.pipeline.cotejo import CotejoStep
from central.pipeline.cotejo import cotejo_steps
from central.pipeline.cotejo import end_cotejo_leases
from central.pipeline.state import EN_CAPTURA
from central.pipeline.state import PIPELINE_KINDS
from central.pipeline.state import ActaState
from central.pipeline.state import Estado
from central.pipeline.state import Lookup
from central.pipeline.state import RecordEvent
from central.pipeline.state import fold
from central.pipeline.store import catalog_lookup
from central.pipeline.store import lock_actas
from central.pipeline.store import save
from central.pipeline.store import save_fuera
from prep.protocol import Batch
from prep.records import Kind
from prep.records import Record

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


class Applied(NamedTuple):
    """What a batch did: the work it made, the casillas whose actas it made
    contradict each other (:mod:`central.pipeline.casilla`), already raised as anomalies,
    and its cotejo steps (:func:`cotejo_steps`); ingest audits both last in its
    transaction (:func:`audit_contradicciones`, :func:`audit_cotejos`)."""

    work: WorkMade = NO_WORK
    contradicciones: tuple[Contradiccion, ...] = ()
    cotejos: tuple[CotejoStep, ...] = ()


def apply_batch(session: Session, batch: Batch, received_at: datetime,
                sender: Sender) -> Applied:
    """Check ``batch``'s records and advance the acta states with those admitted
    (ingest's transaction); what work they made. ``sender``: the signing station."""
    checked = [r for r in batch.records if r.kind in CHECKED_KINDS]
    if not checked:
        return Applied()
    records = [r for r in checked if r.kind in PIPELINE_KINDS]
    lock_pipeline_shared(session)
    current = catalog_store.current(session)
    catalog = None if current is None else current[1]
    lookup = catalog_lookup(catalog)
    siblings = siblings_in(catalog)
    before: dict[str, ActaState] = {}
    if records:
        claves = {c for r in records if (c := _clave(r)) is not None}
        # The casilla's other actas too, for a sin acta or an image: a casilla-wide
        # cause contradicted by another acta's data is seen in whichever order.
        before = lock_actas(session, claves | claves_to_lock(records, siblings), lookup)
        # A batch already journaled (its records lost by a partial restore and sent
        # again) keeps its first position; its records are already in the states
        # (state.holds).
        session.execute(_JOURNAL_BATCH, {"j_station": batch.station,
                                         "j_number": batch.number, "j_at": received_at})
    gate = Gate(session, sender, received_at, lookup)
    gate.check(checked)
    events = [RecordEvent(r.id, r.station, r.operator, r.kind, r.at, received_at, r.body,
                          r.replaces) for r in records]
    folded = fold(events, lookup, before, admit=gate.admit)
    gate.end_leases()
    gate.report()
    end_cotejo_leases(session, batch.station, [e for e in events if e.kind is Kind.COTEJO
                                               and gate.verdicts.get(e.id) is not None
                                               and gate.verdicts[e.id].reason is None])
    save(session, before, folded.actas)
    save_fuera(session, folded.fuera.values())
    for note in folded.notes:
        log.warning("%s: %s", note.type, note.detail)
        add_anomaly(session, note.type, note.station, note.detail)
    found = contradicciones(before, folded.actas, siblings)
    for contra in found:
        log.warning("%s: %s", CASILLA_SIN_ACTA_CON_DATOS, contra.detail())
        add_anomaly(session, CASILLA_SIN_ACTA_CON_DATOS, contra.station or None,
                    contra.detail())
    changed = [a.estado for clave, a in folded.actas.items() if a != before.get(clave)]
    return Applied(WorkMade(sum(e in EN_CAPTURA for e in changed),
                            sum(e is Estado.VERIFICACION for e in changed)), tuple(found),
                   cotejo_steps(before, folded.actas))


def audit_contradicciones(session: Session, found: Iterable[Contradiccion]) -> None:
    """Audit each contradiction ``apply_batch`` raised. Ingest calls it as the last
    statement of its transaction: the audit lock is taken after every row lock the
    batch needs (a coordinator's action takes its rows first, then the audit lock),
    so the two never wait on each other in a circle."""
    for c in found:
        audit.emit(session, "casilla_sin_acta_con_datos", actor=c.station or "central",
                   detail=c.detail())


def audit_cotejos(session: Session, steps: Iterable[CotejoStep]) -> None:
    """Audit each cotejo step ``apply_batch`` found, as :func:`audit_contradicciones`
    (last in ingest's transaction, for the same reason)."""
    for step in steps:
        if step.event == CONFIRMADO:
            audit.emit(session, "cotejo_confirmado", actor=step.actor, detail=step.detail)
        elif step.event == ABIERTA:
            audit.emit(session, "correccion_abierta", actor=step.actor, detail=step.detail)
        else:
            audit.emit(session, "correccion_validada", actor=step.actor, detail=step.detail)


def lock_pipeline_shared(session: Session) -> None:
    """Take :data:`PIPELINE_LOCK` shared, before reading the catalog or any acta."""
    session.execute(_LOCK_SHARED)


def _clave(record: Record) -> str | None:
    clave = record.body.get("clave_acta")
    return clave if isinstance(clave, str) else None
