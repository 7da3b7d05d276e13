"""Audited builds: which software the stations are allowed to run, provably.

The institute audits one build of the programs (``installer/``) and registers its
fingerprint (``prep/build_info.py``) with ``prep central audited-build add FINGERPRINT
--nombre …``. Every heartbeat carries the fingerprint the station computed from its own
files at start; :func:`check_station_build` (called by ingest, inside the batch's
transaction) raises an ``unaudited_build`` anomaly when it is not in the list: once per
station and fingerprint, not on every heartbeat. Adding, listing and removing are in the
audit log (``audited_build_added``, ``audited_build_removed``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.audit.anomalies import add_anomaly
from central.db.auditoria import Anomaly
from central.db.auditoria import AuditedBuild
from prep.build_info import LABEL
from prep.build_info import LABEL_MAX
from prep.records import format_time

ANOMALY = "unaudited_build"
NOMBRE_MAX = 200


class AuditedBuildError(ValueError):
    """Bad input for the audited list (Spanish message)."""


def normalize(fingerprint: str) -> str:
    """The fingerprint as stored and compared (lowercase); refuses anything that is not
    one (64 hexadecimal digits, ``desarrollo:`` in front for a source checkout)."""
    value = fingerprint.strip().lower()
    if len(value) > LABEL_MAX or not LABEL.fullmatch(value):
        raise AuditedBuildError(
            "la huella debe ser el SHA-256 de la compilación: 64 dígitos hexadecimales "
            "(la imprime «--self-test» del programa instalado)")
    return value


def add_build(engine: Engine, fingerprint: str, nombre: str, actor: str) -> bool:
    """Register an audited fingerprint; ``False`` when it already was (nothing changes)."""
    value = normalize(fingerprint)
    nombre = nombre.strip()
    if not nombre or len(nombre) > NOMBRE_MAX:
        raise AuditedBuildError(f"el nombre es obligatorio y de hasta {NOMBRE_MAX} caracteres")
    with Session(engine) as session, session.begin():
        if session.get(AuditedBuild, value) is not None:
            return False
        session.add(AuditedBuild(fingerprint=value, nombre=nombre, added_by=actor))
        audit.emit(session, "audited_build_added", actor=actor,
                   detail={"fingerprint": value, "nombre": nombre})
    return True


def remove_build(engine: Engine, fingerprint: str, actor: str) -> bool:
    """Withdraw a fingerprint from the list; ``False`` when it was not in it."""
    value = normalize(fingerprint)
    with Session(engine) as session, session.begin():
        row = session.get(AuditedBuild, value)
        if row is None:
            return False
        nombre = row.nombre
        session.execute(delete(AuditedBuild).where(AuditedBuild.fingerprint == value))
        audit.emit(session, "audited_build_removed", actor=actor,
                   detail={"fingerprint": value, "nombre": nombre})
    return True


def list_builds(engine: Engine) -> list[dict[str, Any]]:
    """The audited list, oldest first (JSON-ready)."""
    with Session(engine) as session:
        rows = session.scalars(select(AuditedBuild).order_by(AuditedBuild.added_at,
                                                             AuditedBuild.fingerprint))
        return [{"fingerprint": r.fingerprint, "nombre": r.nombre, "added_by": r.added_by,
                 "added_at": format_time(r.added_at)} for r in rows]


def check_station_build(session: Session, station: str, build: str | None) -> None:
    """Raise the ``unaudited_build`` anomaly for ``station`` running ``build`` (``None``:
    software too old to report one) unless it is audited or was already flagged."""
    label = build if build is not None else "sin huella"
    if build is not None and session.get(AuditedBuild, build) is not None:
        return
    flagged = session.scalar(select(exists().where(
        Anomaly.type == ANOMALY, Anomaly.station == station,
        Anomaly.detail["build"].astext == label)))
    if not flagged:
        add_anomaly(session, ANOMALY, station, {"build": label})
