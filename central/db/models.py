"""The central's PostgreSQL schema as SQLAlchemy models.

The tables are created and changed only by the Alembic migrations next to this module;
``tests/central/test_schema.py`` checks that the migrated schema matches these models.
Records, batches and the audit log are append-only (triggers in the migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import SmallInteger
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import Uuid
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import text
from sqlalchemy import true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import NAMING as NAMING
from central.db.base import SHA256
from central.db.base import STATION_ID
from central.db.base import Base as Base
from central.db.coordinacion import CoordinadorIntento as CoordinadorIntento
from central.db.coordinacion import CoordinadorSesion as CoordinadorSesion
from central.db.coordinacion import CortePeticion as CortePeticion
from central.db.transparencia import Cofirma as Cofirma
from central.db.transparencia import RegistroCorte as RegistroCorte


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


class CatalogVersion(Base):
    """One loaded catalog: its files (name → base64) and digest; append-only."""

    __tablename__ = "catalog_versions"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(SHA256)
    files: Mapped[dict[str, Any]]
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(128))


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


class AuditedBuild(Base):
    """A build fingerprint the institute audited (``prep central audited-build add``):
    a station reporting any other raises an ``unaudited_build`` anomaly (revision 0007)."""

    __tablename__ = "audited_builds"

    fingerprint: Mapped[str] = mapped_column(String(80), primary_key=True)
    nombre: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())


# --- acta pipeline (issue 4; docs/pipeline.md) -----------------------------------------
# acta_states, acta_images, acta_captures and fuera_de_catalogo are derived: a fold of
# the records and of pipeline_journal/leases (central.pipeline.state), recomputed by
# ``prep central rebuild-state``. pipeline_journal is append-only; a lease row is frozen
# once it ends (triggers in revision 0003).

ESTADOS = ("esperada", "acopiada", "sin_acta", "digitalizada", "captura_1", "captura_2",
           "captura_3", "verificacion", "validada", "redigitalizacion", "fuera_de_catalogo")
CLAVE_ACTA = String(13)
#: The work queues' states, spelled out so PostgreSQL can match the partial indexes.
WORK_STATES_SQL = "estado IN ('digitalizada', 'captura_1', 'captura_2', 'verificacion')"
COTEJO_QUEUE_SQL = "estado = 'validada' AND cotejo_record IS NULL"


class ActaStateRow(Base):
    """One acta's current state (one row per catalog acta, seeded *esperada* when a
    catalog is loaded, plus one per code outside the catalog that a record named)."""

    __tablename__ = "acta_states"
    __table_args__ = (
        CheckConstraint("estado IN ('" + "', '".join(ESTADOS) + "')", name="estado"),
        Index("ix_acta_states_estado", "estado"),
        Index("ix_acta_states_work", "orden_at", "clave_acta",
              postgresql_where=text(WORK_STATES_SQL)),
        Index("ix_acta_states_work_distrito", "distrito", "orden_at", "clave_acta",
              postgresql_where=text(WORK_STATES_SQL)),
        # The cotejo queue (central.pipeline.leases): validated actas not cotejada yet.
        Index("ix_acta_states_cotejo", "distrito", "validada_received_at", "clave_acta",
              postgresql_where=text(COTEJO_QUEUE_SQL)),
        Index("ix_acta_states_cambio", "cambio"),
    )

    clave_acta: Mapped[str] = mapped_column(CLAVE_ACTA, primary_key=True)
    en_catalogo: Mapped[bool]
    distrito: Mapped[int | None] = mapped_column(Integer)
    eleccion: Mapped[str] = mapped_column(String(2))
    estado: Mapped[str] = mapped_column(String(20))
    orden_at: Mapped[datetime | None]
    ronda: Mapped[int] = mapped_column(Integer)
    imagen_actual: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    acopio_record: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    acopio_station: Mapped[str | None] = mapped_column(STATION_ID)
    acopio_operator: Mapped[str | None] = mapped_column(String(64))
    acopio_at: Mapped[datetime | None]
    acopio_received_at: Mapped[datetime | None]
    #: What the acopio record says of the paquete (prep.paquete tokens; revision 0013);
    #: NULL when it says nothing (older stations): the corte takes the catalog's default.
    acopio_traslado: Mapped[str | None] = mapped_column(String(16))
    acopio_tipo_documento: Mapped[str | None] = mapped_column(String(16))
    sin_acta_record: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    sin_acta_causa: Mapped[str | None] = mapped_column(String(32))
    sin_acta_station: Mapped[str | None] = mapped_column(STATION_ID)
    sin_acta_at: Mapped[datetime | None]
    validada_fuente: Mapped[str | None] = mapped_column(String(16))
    validada_record: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    validada_at: Mapped[datetime | None]
    validada_received_at: Mapped[datetime | None]
    validada_valores: Mapped[dict[str, Any] | None]
    validada_imagen: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    validada_origen: Mapped[str | None] = mapped_column(String(8))
    validada_digitalizacion: Mapped[str | None] = mapped_column(String(16))
    #: The cotejo that confirmed the published data (COTEJADA; revision 0015).
    cotejo_record: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    cotejo_station: Mapped[str | None] = mapped_column(STATION_ID)
    cotejo_operator: Mapped[str | None] = mapped_column(String(64))
    cotejo_at: Mapped[datetime | None]
    cotejo_received_at: Mapped[datetime | None]
    #: The last correction round: the cotejo that found a difference, the fields it
    #: named (a JSON list), its reason and the image round of the new captures.
    correccion_record: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    correccion_station: Mapped[str | None] = mapped_column(STATION_ID)
    correccion_operator: Mapped[str | None] = mapped_column(String(64))
    correccion_at: Mapped[datetime | None]
    correccion_received_at: Mapped[datetime | None]
    correccion_campos: Mapped[list[str] | None] = mapped_column(JSONB)
    correccion_motivo: Mapped[str | None] = mapped_column(String(300))
    correccion_ronda: Mapped[int | None] = mapped_column(Integer)
    #: Every cotejo the fold accepted, in order, as ``[record, ronda]`` pairs: ``ronda``
    #: is the correction round the cotejo opened, null for one that confirmed the data
    #: (revision 0021; the two columns above keep only the last of each).
    cotejos: Mapped[list[list[Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    #: The transaction that last wrote the row (set by a trigger on every write,
    #: revision 0024): a running central's corte reads again the actas with a row
    #: written since its previous snapshot (central.publication.snapshot).
    cambio: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class ActaImage(Base):
    """Every image of every acta (PREP Casilla and CATD alike), linked to its acta."""

    __tablename__ = "acta_images"
    __table_args__ = (Index("ix_acta_images_clave_acta", "clave_acta", "position"),
                      Index("ix_acta_images_sha256", "sha256"),
                      Index("ix_acta_images_cambio", "cambio"))

    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    clave_acta: Mapped[str] = mapped_column(CLAVE_ACTA)
    position: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(SHA256)
    bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(32))
    origen: Mapped[str] = mapped_column(String(8))
    digitalizacion: Mapped[str] = mapped_column(String(16))
    station: Mapped[str] = mapped_column(STATION_ID)
    operator: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    received_at: Mapped[datetime]
    replaces: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    #: The transaction that wrote the row (revision 0024; see ActaStateRow.cambio).
    cambio: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class ActaCapture(Base):
    """A capture or verification that counted, with who made it where (never shown to
    another capturista: captures are blind)."""

    __tablename__ = "acta_captures"
    __table_args__ = (
        CheckConstraint("kind IN ('captura', 'verificacion')", name="kind"),
        Index("ix_acta_captures_clave_acta", "clave_acta", "position"),
        # Lease grants leave out what the operator already captured (migration 0009).
        Index("ix_acta_captures_operator", "operator", "clave_acta"),
        Index("ix_acta_captures_cambio", "cambio"),
    )

    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    clave_acta: Mapped[str] = mapped_column(CLAVE_ACTA)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    ronda: Mapped[int] = mapped_column(Integer)
    slot: Mapped[int] = mapped_column(Integer)
    lease_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    operator: Mapped[str] = mapped_column(String(64))
    station: Mapped[str] = mapped_column(STATION_ID)
    valores: Mapped[dict[str, Any]]
    image_record: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    at: Mapped[datetime]
    received_at: Mapped[datetime]
    #: The transaction that wrote the row (revision 0024; see ActaStateRow.cambio).
    cambio: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class FueraDeCatalogoRow(Base):
    """An acopio whose code resolved to no catalog acta, as read."""

    __tablename__ = "fuera_de_catalogo"

    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    station: Mapped[str] = mapped_column(STATION_ID)
    operator: Mapped[str] = mapped_column(String(64))
    codigo_leido: Mapped[str] = mapped_column(String(256))
    eleccion: Mapped[str] = mapped_column(String(2))
    at: Mapped[datetime]
    received_at: Mapped[datetime]


class PipelineJournal(Base):
    """The order in which the central applied batches to acta states (their pipeline
    records, in seq order). Append-only; ``pos`` is drawn after the touched actas are
    locked, so it is the order of their changes."""

    __tablename__ = "pipeline_journal"
    __table_args__ = (
        UniqueConstraint("station", "batch_number", name="uq_pipeline_journal_batch"),
    )

    pos: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(STATION_ID)
    batch_number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]


class Lease(Base):
    """Capture, verification or cotejo work handed to one operator at one station. Rows are
    never deleted: the table is the lease history; a row ends once (released, expired,
    completed by a record, ilegible, or returned: given back unfinished by its operator,
    who may get the acta again) and is frozen from then on."""

    __tablename__ = "leases"
    __table_args__ = (
        CheckConstraint("kind IN ('captura', 'verificacion', 'cotejo')", name="kind"),
        CheckConstraint("status IN ('active', 'released', 'expired', 'completed', "
                        "'ilegible', 'returned')", name="status"),
        Index("uq_leases_active_acta", "clave_acta", unique=True,
              postgresql_where=text("status = 'active'")),
        Index("ix_leases_operator_active", "operator", "station",
              postgresql_where=text("status = 'active'")),
        Index("ix_leases_station_active", "station",
              postgresql_where=text("status = 'active'")),
        # Never the same operator twice on one acta, unless they gave it back
        # unfinished when they left the screen (``returned``, revision 0027).
        Index("uq_leases_acta_operator", "clave_acta", "operator", unique=True,
              postgresql_where=text("status <> 'returned'")),
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    clave_acta: Mapped[str] = mapped_column(CLAVE_ACTA)
    kind: Mapped[str] = mapped_column(String(16))
    slot: Mapped[int] = mapped_column(Integer)
    ronda: Mapped[int] = mapped_column(Integer)
    image_record: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    operator: Mapped[str] = mapped_column(String(64))
    station: Mapped[str] = mapped_column(ForeignKey("stations.id"))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False), unique=True)


# --- publication (issue 7; docs/publicacion.md) ------------------------------------

class CorteRow(Base):
    """One published corte: when, where (``publicacion/<directorio>``), the SHA-256 of
    its signed manifest and what it counted. Append-only (trigger in revision 0005)."""

    __tablename__ = "cortes"
    __table_args__ = (
        CheckConstraint("motivo IN ('programado', 'a_pedido')", name="motivo"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    corte_at: Mapped[datetime]
    directorio: Mapped[str] = mapped_column(String(64), unique=True)
    manifiesto_sha256: Mapped[str] = mapped_column(SHA256)
    catalog_version: Mapped[int] = mapped_column(Integer)
    actas_esperadas: Mapped[int] = mapped_column(Integer)
    actas_capturadas: Mapped[int] = mapped_column(Integer)
    actas_contabilizadas: Mapped[int] = mapped_column(Integer)
    fuera_de_catalogo: Mapped[int] = mapped_column(Integer)
    imagenes: Mapped[int] = mapped_column(Integer)
    ultimo: Mapped[bool]
    motivo: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ActaPublicada(Base):
    """The corte that first published an acta with data (revision 0016): inserted with
    that corte's row, never changed; the public history says it."""

    __tablename__ = "actas_publicadas"

    clave_acta: Mapped[str] = mapped_column(CLAVE_ACTA, primary_key=True)
    corte_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cortes.id"))


class CorreccionPublicada(Base):
    """A correction round whose validated data a corte published for the first time
    (revision 0025): the acta, the cotejo that opened the round, its fields and reason;
    inserted with that corte's row, never changed; the public history says it."""

    __tablename__ = "correcciones_publicadas"

    clave_acta: Mapped[str] = mapped_column(CLAVE_ACTA, primary_key=True)
    cotejo_record: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    corte_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cortes.id"))
    campos: Mapped[list[str]] = mapped_column(JSONB)
    motivo: Mapped[str | None] = mapped_column(Text)
    #: [[campo, antes, después], ...] and the HISTORIAL rows the previous corte published
    #: of the acta (revision 0026).
    cambios: Mapped[list[list[str]]] = mapped_column(JSONB, server_default=text("'[]'"))
    previas: Mapped[list[list[str]]] = mapped_column(JSONB, server_default=text("'[]'"))


class Publicacion(Base):
    """The Consejo's publication window and the *último corte* in force: one row, ``id``
    1 (revision 0014). ``inicio``/``fin`` NULL: no window fixed yet; ``ultimo_corte``
    set: the publication ended with that corte (until an audited reopening). Changed
    only by :mod:`central.publication.ventana`, each change audited."""

    __tablename__ = "publicacion"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("(inicio IS NULL) = (fin IS NULL) AND (fin IS NULL OR (fin > inicio "
                        "AND fin - inicio <= interval '24 hours'))", name="ventana"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    inicio: Mapped[datetime | None]
    fin: Mapped[datetime | None]
    ultimo_corte: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cortes.id"))
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class BlobContent(Base):
    """An image blob's bytes, so replication and backups carry it (revision 0018);
    ``blobs/`` holds the same bytes as files (:mod:`central.db.blobs`)."""

    __tablename__ = "blob_contents"

    sha256: Mapped[str] = mapped_column(SHA256, primary_key=True)
    data: Mapped[bytes]
    stored_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Installation(Base):
    """What this central is: one row, ``id`` 1 (revision 0012). ``simulacro``: a drill's
    central, whose cortes are all stamped SIMULACRO (docs/simulacro.md); a trigger
    refuses to change it once the database holds results."""

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    simulacro: Mapped[bool] = mapped_column(server_default=false())
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WorkNonce(Base):
    """A ``POST /v1/work/next`` already answered, by the nonce its station signed into
    it: the same signed request sent again is refused, never answered with new leases
    (docs/pipeline.md, "Work API"). Only inserted."""

    __tablename__ = "work_nonces"

    station: Mapped[str] = mapped_column(STATION_ID, primary_key=True)
    nonce: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    at: Mapped[datetime]


class CatdEstadoOculto(Base):
    """A centre (CATD ``01``… or ``CCV``) whose online status the public AVANCE_CATD.csv
    does not publish, by a coordinator's audited decision (revision 0017;
    :mod:`central.publication.snapshot_salud_catd`). Its row is removed to publish it again."""

    __tablename__ = "catd_estado_oculto"

    sitio: Mapped[str] = mapped_column(String(8), primary_key=True)
    motivo: Mapped[str] = mapped_column(String(300))
    ocultado_por: Mapped[str] = mapped_column(String(128))
    ocultado_at: Mapped[datetime]


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
