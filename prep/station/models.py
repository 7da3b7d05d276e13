"""The station's SQLite schema (SQLAlchemy 2 typed models).

Times are stored as the protocol's text form (``2027-06-07T02:07:11.123456Z``,
:func:`prep.records.format_time`): UTC, sortable, and identical to what goes on the wire.
The schema is created by :meth:`Base.metadata.create_all` when a data directory is
first opened; a station's store lives for one election, so there are no migrations.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    """Declarative base of the station store."""


class Identity(Base):
    """Who this station is and whom it trusts: one row, written at enrollment."""

    __tablename__ = "identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    sitio: Mapped[str] = mapped_column(String(64))
    key_path: Mapped[str]
    central_key: Mapped[str] = mapped_column(String(64), comment="base64 Ed25519 public key")
    cert_pem: Mapped[str]
    cert_sha256: Mapped[str] = mapped_column(String(64))
    central_url: Mapped[str]
    node: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[str] = mapped_column(String(32))


class RecordRow(Base):
    """A record exactly as it travels: its canonical JSON bytes and their SHA-256."""

    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    clave_acta: Mapped[str | None] = mapped_column(String(13), index=True)
    canonical: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    created: Mapped[str] = mapped_column(String(32))


class BatchRow(Base):
    """A frozen batch: the request body exactly as sent, and the central's receipt.

    ``blocked`` holds the Spanish reason when the central refused the batch in a way
    that retrying cannot fix (a tampering signal); the agent leaves it, and every batch
    after it, until a person clears it.
    """

    __tablename__ = "batches"
    # The status line counts delivered batches and looks for a blocked one every few
    # seconds: from these small indexes, not by reading every batch's body (a body
    # longer than a page sits in overflow pages that a table scan has to follow).
    __table_args__ = (Index("ix_batches_delivered_at", "delivered_at"),
                      Index("ix_batches_blocked", "blocked"))

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prev: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    records: Mapped[int]
    first_seq: Mapped[int]
    last_seq: Mapped[int]
    frozen_at: Mapped[str] = mapped_column(String(32))
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary)
    delivered_at: Mapped[str | None] = mapped_column(String(32))
    blocked: Mapped[str | None]


class OutboxRow(Base):
    """A record waiting for (or done with) delivery; written with its record."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered", "batch_number"),)

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    batch_number: Mapped[int | None] = mapped_column(ForeignKey("batches.number"))
    delivered: Mapped[bool] = mapped_column(default=False)


class BlobRow(Base):
    """An image stored in the content-addressed blob directory."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    media_type: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(comment="relative to the data directory")
    uploaded: Mapped[bool] = mapped_column(default=False)
    created: Mapped[str] = mapped_column(String(32))


class Meta(Base):
    """Small settings of the store itself (schema version)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str]


class BundleRow(Base):
    """The central's signed bundle this station holds (one row): catalog and accounts.

    ``body`` is exactly what the central signed, so the catalog can be verified and
    read again at any time; the versions refuse an older bundle (a rollback).
    """

    __tablename__ = "bundle"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    catalog_version: Mapped[int]
    operators_version: Mapped[int]
    catalog_digest: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[str] = mapped_column(String(32))
    # Deferred: the status line reads the versions and every scan's catalog check the
    # digest; the body (≈0.8 MB at full scale) only when the digest changes. (Commit
    # 14f5d77 meant this and put it on BatchRow.body instead.)
    body: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class OperatorRow(Base):
    """An operator account of this station's site, from the bundle, for offline login."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128), index=True,
                                          comment="casefolded name, for login by name")
    role: Mapped[str] = mapped_column(String(16))
    sitio: Mapped[str] = mapped_column(String(8))
    enabled: Mapped[bool]
    scrypt: Mapped[str | None] = mapped_column(comment="JSON: salt, n, r, p, hash")


class WorkLeaseRow(Base):
    """A work lease the central handed an operator at this station, kept so capture
    goes on through a short outage and a restart (``prep.station.work``).

    ``lease`` is the central's lease object as received (JSON); ``state`` is ``pending``
    until the operator's record is written (``done``, in the record's transaction) or
    the work is given back (``released``).
    """

    __tablename__ = "work_leases"
    # expires_at last: a refill names the operator's finished, unexpired leases.
    __table_args__ = (Index("ix_work_leases_operator", "operator", "kind", "state",
                            "expires_at"),)

    lease_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    operator: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    clave_acta: Mapped[str] = mapped_column(String(13))
    expires_at: Mapped[str] = mapped_column(String(32))
    lease: Mapped[str] = mapped_column(comment="the lease JSON from POST /v1/work/next")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    received_at: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(36))


class LoginFailureRow(Base):
    """Consecutive failed logins for one account (``cuenta:<id>``, however it was
    named), or for a name that is no account (casefolded), so guessing a password
    offline is slow even across restarts of the station program."""

    __tablename__ = "login_failures"

    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int]
    locked_until: Mapped[str] = mapped_column(String(32))


#: Indexes added after stations already had their tables: created at start if missing.
LATER_INDEXES = tuple(cast(Table, BatchRow.__table__).indexes)
