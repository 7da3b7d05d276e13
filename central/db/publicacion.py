"""The publication's tables (issue 7; docs/publicacion.md; :mod:`central.publication`):
the cortes published, the first corte of each acta and of each correction, the
Consejo's window, and the centres whose status AVANCE_CATD.csv leaves out. The public
log of cortes is :mod:`central.db.transparencia`'s.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import SmallInteger
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import Uuid
from sqlalchemy import func
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import CLAVE_ACTA
from central.db.base import SHA256
from central.db.base import Base


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


class CatdEstadoOculto(Base):
    """A centre (CATD ``01``… or ``CCV``) whose online status the public AVANCE_CATD.csv
    does not publish, by a coordinator's audited decision (revision 0017;
    :mod:`central.publication.snapshot_salud_catd`). Its row is removed to publish it again."""

    __tablename__ = "catd_estado_oculto"

    sitio: Mapped[str] = mapped_column(String(8), primary_key=True)
    motivo: Mapped[str] = mapped_column(String(300))
    ocultado_por: Mapped[str] = mapped_column(String(128))
    ocultado_at: Mapped[datetime]
