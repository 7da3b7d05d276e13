"""The acta pipeline's tables (issue 4; docs/pipeline.md; :mod:`central.pipeline`): each
acta's state, images and captures, the acopios outside the catalog, the order batches
were applied in, the work leases and the work requests already answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import Uuid
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import CLAVE_ACTA
from central.db.base import SHA256
from central.db.base import STATION_ID
from central.db.base import Base
from central.db.estaciones import Station

# acta_states, acta_images, acta_captures and fuera_de_catalogo are derived: a fold of
# the records and of pipeline_journal/leases (central.pipeline.state), recomputed by
# ``prep central rebuild-state``. pipeline_journal is append-only; a lease row is frozen
# once it ends (triggers in revision 0003).

ESTADOS = ("esperada", "acopiada", "sin_acta", "digitalizada", "captura_1", "captura_2",
           "captura_3", "verificacion", "validada", "redigitalizacion", "fuera_de_catalogo")
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
    station: Mapped[str] = mapped_column(ForeignKey(Station.id))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False), unique=True)


class WorkNonce(Base):
    """A ``POST /v1/work/next`` already answered, by the nonce its station signed into
    it: the same signed request sent again is refused, never answered with new leases
    (docs/pipeline.md, "Work API"). Only inserted."""

    __tablename__ = "work_nonces"

    station: Mapped[str] = mapped_column(STATION_ID, primary_key=True)
    nonce: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    at: Mapped[datetime]
