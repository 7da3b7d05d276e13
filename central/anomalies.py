"""Anomalies for the coordinator, and the trace a refusal leaves (audit event, anomaly,
quarantined body) written after the refused work has rolled back."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central import audit
from central.db.models import Anomaly, QuarantinedBatch
from central.errors import Refused
from prep.canonical import JsonValue


def add_anomaly(session: Session, type_: str, station: str | None,
                detail: Mapping[str, JsonValue]) -> None:
    """Raise an anomaly (``type_`` is the refusal code or e.g. ``clock_skew``)."""
    session.add(Anomaly(type=type_, station=station, detail=dict(detail)))


def record_refusal(engine: Engine, refused: Refused) -> None:
    """Write the audit event, anomaly and quarantine row of ``refused`` in one
    transaction of their own."""
    with Session(engine) as session, session.begin():
        audit.emit(session, refused.event, actor=refused.actor, detail=refused.detail)
        if refused.anomaly:
            add_anomaly(session, refused.code, refused.station, refused.detail)
        if refused.quarantine is not None:
            q = refused.quarantine
            session.add(QuarantinedBatch(station=q.station, number=q.number, body=q.body,
                                         reason=refused.code))
