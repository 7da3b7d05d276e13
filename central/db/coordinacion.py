"""The coordinators' tables (revision 0028): their dashboard logins, their failed
attempts and the cortes they ask for (:mod:`central.controlroom`,
:mod:`central.stations.coordinator_login`, :mod:`central.publication.peticiones`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import Base
from central.db.estaciones import Operator


class CoordinadorSesion(Base):
    """A coordinator's login to the dashboard (revision 0028): only the SHA-256 of its
    random token is kept; the dashboard's role acts only while its connection carries
    the token of an open session (``prep.sesion``), and as that session's coordinator."""

    __tablename__ = "coordinador_sesiones"

    token_sha256: Mapped[bytes] = mapped_column(primary_key=True)
    operator: Mapped[str] = mapped_column(String(64), ForeignKey(Operator.id))
    abierta_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expira_at: Mapped[datetime]
    cerrada_at: Mapped[datetime | None]


class CoordinadorIntento(Base):
    """Wrong passwords in a row of a coordinator's account and until when it waits
    (revision 0028; kept by the login function, not by any client)."""

    __tablename__ = "coordinador_intentos"

    operator: Mapped[str] = mapped_column(String(64), ForeignKey(Operator.id),
                                          primary_key=True)
    fallos: Mapped[int] = mapped_column(Integer)
    hasta: Mapped[datetime | None]


class CortePeticion(Base):
    """A corte a coordinator asked for from the dashboard (revision 0028): the
    central's service makes it with its own key and writes the outcome back."""

    __tablename__ = "corte_peticiones"
    __table_args__ = (
        CheckConstraint("estado IN ('pendiente', 'en_curso', 'hecho', 'rechazado', "
                        "'fallido')", name="estado"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    pedido_at: Mapped[datetime] = mapped_column(server_default=func.now())
    actor: Mapped[str] = mapped_column(String(64))
    ultimo: Mapped[bool] = mapped_column(server_default=false())
    motivo: Mapped[str | None] = mapped_column(Text)
    fuera_de_ventana: Mapped[str | None] = mapped_column(Text)
    segundo: Mapped[str | None] = mapped_column(String(64))
    segundo_token: Mapped[str | None] = mapped_column(Text)
    estado: Mapped[str] = mapped_column(String(16), server_default=text("'pendiente'"))
    mensaje: Mapped[str | None] = mapped_column(Text)
    atendido_at: Mapped[datetime | None]
