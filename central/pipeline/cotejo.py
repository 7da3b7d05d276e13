"""The steps of cotejo that ingest audits, and the cotejo leases a record ends.

The fold (:mod:`central.pipeline.state`) decides what a cotejo does to an acta; this
module only reads what changed between the states before and after a batch — a cotejo
confirmed the published data, a cotejo opened a correction round, a correction round
validated (its data replaces the published one at the next corte) — for the audit log
(events ``cotejo_confirmado``, ``correccion_abierta``, ``correccion_validada``;
``correccion_publicada`` is the corte's, :mod:`central.publication.corte`). It also ends
the cotejo lease of an admitted cotejo record: a cotejo names no lease (records of
stations older than cotejo work stay valid), so the lease it ends is its operator's
active cotejo lease at that station on that acta.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from central.pipeline.state import ActaState
from central.pipeline.state import Estado
from central.pipeline.state import RecordEvent
from prep.canonical import JsonValue

CONFIRMADO = "cotejo_confirmado"
ABIERTA = "correccion_abierta"
VALIDADA = "correccion_validada"

_END_COTEJO_LEASES = text("""
    UPDATE leases AS l SET status = 'completed', ended_at = clock_timestamp(),
                           record_id = v.record_id
    FROM unnest(CAST(:records AS uuid[]), CAST(:claves AS varchar[]),
                CAST(:operators AS varchar[])) AS v(record_id, clave_acta, operator)
    WHERE l.kind = 'cotejo' AND l.status = 'active' AND l.station = :station
      AND l.clave_acta = v.clave_acta AND l.operator = v.operator
""")


class CotejoStep(NamedTuple):
    """One audit event of a cotejo step: which, by whom (a station), and its detail."""

    event: str
    actor: str
    detail: dict[str, JsonValue]


def cotejo_steps(before: Mapping[str, ActaState],
                 after: Mapping[str, ActaState]) -> tuple[CotejoStep, ...]:
    """The cotejo steps a batch made, from the states before and after it."""
    steps: list[CotejoStep] = []
    for clave in sorted(after):
        acta, old = after[clave], before.get(clave)
        cotejo, fix = acta.cotejo, acta.correccion
        if cotejo is not None and (old is None or old.cotejo != cotejo):
            steps.append(CotejoStep(CONFIRMADO, cotejo.station, {
                "clave_acta": clave, "record": cotejo.record, "operator": cotejo.operator}))
        if fix is not None and (old is None or old.correccion != fix):
            steps.append(CotejoStep(ABIERTA, fix.station, {
                "clave_acta": clave, "record": fix.record, "operator": fix.operator,
                "campos": list(fix.campos), "motivo": fix.motivo, "ronda": fix.ronda}))
        elif fix is not None and old is not None and old.en_correccion \
                and acta.estado is Estado.VALIDADA and acta.validacion is not None:
            v = acta.validacion
            station = next((c.station for c in acta.contribuciones if c.record == v.record),
                           fix.station)
            steps.append(CotejoStep(VALIDADA, station, {
                "clave_acta": clave, "cotejo": fix.record, "record": v.record,
                "fuente": v.fuente, "ronda": fix.ronda}))
    return tuple(steps)


def end_cotejo_leases(session: Session, station: str, cotejos: Sequence[RecordEvent]) -> None:
    """Complete the active cotejo lease of each admitted cotejo's operator at
    ``station`` on its acta (none: the cotejo was made without one)."""
    named = [e for e in cotejos if e.clave is not None]
    if not named:
        return
    session.execute(_END_COTEJO_LEASES, {
        "station": station, "records": [e.id for e in named],
        "claves": [e.clave for e in named], "operators": [e.operator for e in named]})
