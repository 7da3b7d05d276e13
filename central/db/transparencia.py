"""The public log of cortes' tables (revision 0029, issue 67): each published corte's
leaf and the root after it, and the cosignatures the difusores (witnesses) reported.
The published files are :mod:`central.publication.transparencia`'s.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import func
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import SHA256
from central.db.base import Base
from central.db.estaciones import Difusor
from central.db.publicacion import CorteRow


class RegistroCorte(Base):
    """One corte's leaf in the log (``indice`` 0-based and gapless: trigger), written in
    the same transaction as its row in ``cortes``; ``raiz`` is the root of the tree of
    size ``indice + 1``. Append-only (trigger)."""

    __tablename__ = "registro_cortes"
    __table_args__ = (
        CheckConstraint("indice >= 0", name="indice"),
        CheckConstraint("length(hoja) = 32", name="hoja"),
        CheckConstraint("length(raiz) = 32", name="raiz"),
    )

    indice: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    corte: Mapped[str] = mapped_column(String(64), ForeignKey(CorteRow.directorio),
                                       unique=True)
    #: The entry's time exactly as its leaf carries it (``prep.transparencia.entrada``).
    hora: Mapped[str] = mapped_column(String(32))
    manifiesto_sha256: Mapped[str] = mapped_column(SHA256)
    hoja: Mapped[bytes]
    raiz: Mapped[bytes]
    creado_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Cofirma(Base):
    """A difusor's cosignature of the checkpoint of size ``tamano`` (the signature line
    of a C2SP signed note, ``— <difusor id> <base64>``), stored once the central checked
    it against the log's root of that size and the difusor's key. Append-only."""

    __tablename__ = "cofirmas"
    __table_args__ = (
        CheckConstraint("tamano >= 1", name="tamano"),
        CheckConstraint("length(linea) <= 400", name="linea"),
    )

    difusor: Mapped[str] = mapped_column(String(32), ForeignKey(Difusor.id),
                                         primary_key=True)
    tamano: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    linea: Mapped[str] = mapped_column(Text)
    #: The Unix time the cosignature carries (cosignature/v1's timestamp).
    hora_cofirma: Mapped[int] = mapped_column(BigInteger)
    recibida_at: Mapped[datetime] = mapped_column(server_default=func.now())
