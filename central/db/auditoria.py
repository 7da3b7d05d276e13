"""The audit's tables (:mod:`central.audit`): the hash-chained audit log (append-only,
trigger in the migrations), the anomalies for the coordinator and the audited builds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import SHA256
from central.db.base import STATION_ID
from central.db.base import Base


class AuditEntry(Base):
    """One hash-chained audit event (docs/protocol.md, "Audit log")."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]
    prev_sha256: Mapped[str] = mapped_column(SHA256)
    sha256: Mapped[str] = mapped_column(SHA256, unique=True)


class Anomaly(Base):
    """Something the coordinator should look at (tampering, conflicts, clock skew…)."""

    __tablename__ = "anomalies"
    __table_args__ = (Index("ix_anomalies_type_station_at", "type", "station", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    station: Mapped[str | None] = mapped_column(STATION_ID)
    detail: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    acknowledged: Mapped[bool] = mapped_column(server_default=false())


class AuditedBuild(Base):
    """A build fingerprint the institute audited (``prep central audited-build add``):
    a station reporting any other raises an ``unaudited_build`` anomaly (revision 0007)."""

    __tablename__ = "audited_builds"

    fingerprint: Mapped[str] = mapped_column(String(80), primary_key=True)
    nombre: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())
