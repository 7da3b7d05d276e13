"""The central's PostgreSQL schema as SQLAlchemy models.

The tables are created and changed only by the Alembic migrations next to this module;
``tests/central/test_schema.py`` checks that the migrated schema matches these models.
Records, batches and the audit log are append-only (triggers in the migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    Uuid,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHA256 = String(64)
STATION_ID = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        bytes: LargeBinary,
    }


class Station(Base):
    """An enrolled CATD or CCV workstation and its ingest cursor."""

    __tablename__ = "stations"
    __table_args__ = (
        CheckConstraint("role IN ('catd', 'ccv')", name="role"),
        CheckConstraint("length(public_key) = 32", name="public_key_length"),
    )

    id: Mapped[str] = mapped_column(STATION_ID, primary_key=True)
    role: Mapped[str] = mapped_column(String(8))
    sitio: Mapped[str] = mapped_column(String(8))
    public_key: Mapped[bytes] = mapped_column(unique=True)
    hostname: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(server_default=true())
    enrolled_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    last_batch: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_batch_sha256: Mapped[str] = mapped_column(SHA256, server_default="0" * 64)
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class EnrollmentCode(Base):
    """A one-time enrollment code, known only by its SHA-256."""

    __tablename__ = "enrollment_codes"

    code_sha256: Mapped[str] = mapped_column(SHA256, primary_key=True)
    role: Mapped[str] = mapped_column(String(8))
    sitio: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.id"))


class StoredBatch(Base):
    """A batch as received (exact bytes) and the signed receipt it was answered with."""

    __tablename__ = "batches"

    station: Mapped[str] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(SHA256)
    body: Mapped[bytes]
    receipt: Mapped[bytes]
    records: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]


class StoredRecord(Base):
    """A station record, exactly once (docs/protocol.md, "Records")."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("station", "seq", name="uq_records_station_seq"),
        # Records are inserted before their batch row in the same transaction.
        ForeignKeyConstraint(["station", "batch_number"], ["batches.station", "batches.number"],
                             name="fk_records_batch", deferrable=True,
                             initially="DEFERRED"),
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    station: Mapped[str] = mapped_column(STATION_ID)
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    operator: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    replaces: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    body: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(SHA256)
    batch_number: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]


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


class QuarantinedBatch(Base):
    """A batch body refused because its number already holds other content."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(STATION_ID)
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes]
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=func.now())


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
