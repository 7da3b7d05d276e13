"""Anomalies for the coordinator, and the trace a refusal leaves (audit event, anomaly,
quarantined body) written after the refused work has rolled back. Refusals no station
signed are written through :mod:`central.api.refusals` (by source, never by station).

Every anomaly type is declared once, with its Spanish name and who raises it, in
``anomaly_types.toml`` (beside the audit events); a test checks that every type raised
in the source is declared there and every declared one is raised.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.auditoria import Anomaly
from central.db.lotes import QuarantinedBatch
from central.node.errors import Refused
from central.node.errors import bounded
from prep.canonical import JsonValue

ANOMALY_TYPES_FILE = Path(__file__).with_name("anomaly_types.toml")


@dataclass(frozen=True)
class AnomalyType:
    """One declared anomaly type: its id, its Spanish name and the code raising it."""

    name: str
    label: str
    emitter: str


@functools.cache
def declared_anomaly_types() -> Mapping[str, AnomalyType]:
    """The types of ``anomaly_types.toml`` by id, in the file's order."""
    with ANOMALY_TYPES_FILE.open("rb") as f:
        data = tomllib.load(f)
    return {name: AnomalyType(name, str(spec["label"]), str(spec["emitter"]))
            for name, spec in data["types"].items()}


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


def source_actor(source: str) -> str:
    """The audit actor of what came from ``source`` and no station signed."""
    return f"origen:{source}"


def record_unsigned(engine: Engine, refused: Refused, source: str,
                    anomaly: bool) -> int | None:
    """Write one unsigned refusal (:mod:`central.api.refusals`) as it came: its audit event,
    by the source and naming the claimed station only in the detail, and with
    ``anomaly`` an anomaly attributed to no station. Returns the anomaly's id."""
    detail = _unsigned_detail(refused, source)
    with Session(engine) as session, session.begin():
        audit.emit(session, refused.event, actor=source_actor(source), detail=detail)
        if not anomaly:
            return None
        row = Anomaly(type=refused.code, station=None, detail=detail)
        session.add(row)
        session.flush()
        return row.id


def record_unsigned_summary(engine: Engine, summary: Mapping[str, JsonValue],
                            anomaly_id: int | None, anomaly_type: str | None) -> None:
    """Write the ``unsigned_refusals`` summary of one source's window; give the window's
    anomaly (``anomaly_id``) the count, or raise one of ``anomaly_type`` if the window
    wanted one and has none yet."""
    source = str(summary["source"])
    with Session(engine) as session, session.begin():
        audit.emit(session, "unsigned_refusals", actor=source_actor(source), detail=summary)
        row = session.get(Anomaly, anomaly_id) if anomaly_id is not None else None
        if row is not None:
            row.detail = {**row.detail, "count": summary["count"], "until": summary["until"]}
        elif anomaly_type is not None:
            session.add(Anomaly(type=anomaly_type, station=None, detail=dict(summary)))


def _unsigned_detail(refused: Refused, source: str) -> dict[str, JsonValue]:
    """The refusal's detail with every text bounded, its source and who it claimed to be."""
    detail: dict[str, JsonValue] = {
        key: bounded(value) if isinstance(value, str) else value
        for key, value in refused.detail.items()}
    return {**detail, "source": source, "claimed": bounded(refused.actor, 100)}
