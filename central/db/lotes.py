"""What the stations sent, exactly as received (docs/protocol.md;
:mod:`central.pipeline.ingest`): their batches and records, the records and batch bodies
set apart, and every image's bytes. Records and batches are append-only (triggers in the
migrations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import Uuid
from sqlalchemy import func
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import SHA256
from central.db.base import STATION_ID
from central.db.base import Base
from central.db.estaciones import Station


class StoredBatch(Base):
    """A batch as received (exact bytes) and the signed receipt it was answered with."""

    __tablename__ = "batches"

    station: Mapped[str] = mapped_column(ForeignKey(Station.id), primary_key=True)
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


class QuarantinedRecord(Base):
    """A stored record that moves no acta: ingest found its station, operator, acta or
    lease not entitled to it (docs/pipeline.md, "Who may record what"). Decided once,
    in the transaction that stored the record; the fold and ``rebuild-state`` both skip
    it. Append-only (trigger in revision 0010)."""

    __tablename__ = "quarantined_records"

    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), ForeignKey("records.id"),
                                           primary_key=True)
    station: Mapped[str] = mapped_column(STATION_ID)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class QuarantinedBatch(Base):
    """A batch body refused because its number already holds other content."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(STATION_ID)
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes]
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=func.now())


class BlobContent(Base):
    """An image blob's bytes, so replication and backups carry it (revision 0018);
    ``blobs/`` holds the same bytes as files (:mod:`central.db.blobs`)."""

    __tablename__ = "blob_contents"

    sha256: Mapped[str] = mapped_column(SHA256, primary_key=True)
    data: Mapped[bytes]
    stored_at: Mapped[datetime] = mapped_column(server_default=func.now())
