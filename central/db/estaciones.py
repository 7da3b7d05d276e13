"""Who works with the central (:mod:`central.stations`): the enrolled stations, their
one-time enrollment codes and health, the operators' accounts, which CATD receives each
distrito, the official difusores and the central's own serve nodes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import text
from sqlalchemy import true
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import SHA256
from central.db.base import STATION_ID
from central.db.base import Base


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
    #: The central's own PREP Casilla intake station (central.pipeline.intake): set only when the
    #: central enrolls it in-process, never through ``POST /v1/enroll``.
    intake: Mapped[bool] = mapped_column(server_default=false())


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


class StationHealth(Base):
    """What the dashboard shows per station: the last heartbeat (written by ingest) and
    the last bundle version the central handed it (written by ``GET /v1/station/bundle``)."""

    __tablename__ = "station_health"

    station: Mapped[str] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    last_seen: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    version: Mapped[str | None] = mapped_column(String(64))
    backlog: Mapped[int | None] = mapped_column(BigInteger)
    backlog_bytes: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(1024))
    clock_skew_seconds: Mapped[float | None] = mapped_column(Float)
    last_batch: Mapped[int | None] = mapped_column(Integer)
    bundle_version: Mapped[int | None] = mapped_column(BigInteger)
    bundle_at: Mapped[datetime | None]
    # The build fingerprint of the last heartbeat (prep.build_info; revision 0007).
    build: Mapped[str | None] = mapped_column(String(80))


OPERATOR_ROLES = ("acopiador", "digitalizador", "capturista", "verificador", "coordinador")


class Operator(Base):
    """A person's account: role, site and scrypt password hash (salt and parameters kept
    with it). ``revision`` grows with every change (the bundle's operators counter)."""

    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("role IN ('acopiador', 'digitalizador', 'capturista', "
                        "'verificador', 'coordinador')", name="role"),
        CheckConstraint("sitio ~ '^[0-9]{2}$' OR sitio IN ('CCV', 'CENTRAL')", name="sitio"),
        CheckConstraint("length(scrypt_salt) >= 16 AND length(scrypt_hash) >= 32",
                        name="scrypt_lengths"),
        UniqueConstraint("sitio", "name", name="uq_operators_sitio_name"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    sitio: Mapped[str] = mapped_column(String(8))
    scrypt_salt: Mapped[bytes]
    scrypt_n: Mapped[int] = mapped_column(Integer)
    scrypt_r: Mapped[int] = mapped_column(Integer)
    scrypt_p: Mapped[int] = mapped_column(Integer)
    scrypt_hash: Mapped[bytes]
    enabled: Mapped[bool] = mapped_column(server_default=true())
    revision: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class CatdDistrito(Base):
    """A distrito whose actas a CATD other than its own number receives (a state with
    fewer CATDs than distritos; the drill's few CATDs). A distrito without a row is
    served by the CATD of its own number (docs/pipeline.md, "Who may record what")."""

    __tablename__ = "catd_distritos"

    distrito: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    catd: Mapped[int] = mapped_column(Integer)
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(128))


class Difusor(Base):
    """An official difusor the institute gave alta (revision 0020;
    :mod:`central.stations.difusores`): name and public URL, the one-time code it enrolls with
    (``enrollment_codes``, role ``difusor``), its Ed25519 key once enrolled, and what it
    last reported, signed: the corte it serves or the error that keeps it from serving a
    newer one."""

    __tablename__ = "difusores"
    __table_args__ = (
        CheckConstraint("public_key IS NULL OR length(public_key) = 32",
                        name="public_key_length"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    nombre: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(300))
    codigo_sha256: Mapped[str] = mapped_column(ForeignKey("enrollment_codes.code_sha256"))
    creado_por: Mapped[str] = mapped_column(String(128))
    creado_at: Mapped[datetime]
    enabled: Mapped[bool] = mapped_column(server_default=true())
    public_key: Mapped[bytes | None] = mapped_column(unique=True)
    hostname: Mapped[str | None] = mapped_column(String(255))
    registrado_at: Mapped[datetime | None]
    #: The last report: the corte served (``cortes.directorio``), the error if any, the
    #: difusor's own clock when it made the report (a replayed older one is refused) and
    #: the central's when it arrived.
    corte: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(500))
    reporte_hora: Mapped[datetime | None]
    reportado_at: Mapped[datetime | None]
    version: Mapped[str | None] = mapped_column(String(64))


class CentralNodeRow(Base):
    """A serve node of this central as stations learn it from their bundle (revision
    0019; :mod:`central.stations.nodes`): its URL and the TLS certificate it presents there. A
    removed node keeps its row (``removed``) so the change counter ``revision`` only
    grows: it is the bundle's nodes version."""

    __tablename__ = "central_nodes"
    __table_args__ = (CheckConstraint("revision > 0", name="revision_positive"),)

    url: Mapped[str] = mapped_column(String(200), primary_key=True)
    cert_sha256: Mapped[str] = mapped_column(SHA256)
    cert_pem: Mapped[str] = mapped_column(Text)
    reserva: Mapped[bool] = mapped_column(server_default=false())
    removed: Mapped[bool] = mapped_column(server_default=false())
    revision: Mapped[int] = mapped_column(unique=True)
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    changed_by: Mapped[str] = mapped_column(String(200))
