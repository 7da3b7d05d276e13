"""What a coordinator does from the dashboard, through the central's audited functions
(Qt-free).

The dashboard reads through the read-only role; every write goes through a *second*
connection, with the central's own database user, and through the same Python
functions the command line uses, so each one lands in the hash-chained audit log. A
SECURITY DEFINER function was considered for acknowledging anomalies and rejected: the
audit chain's hashes are canonical JSON computed in Python (:mod:`central.audit`), and
a second implementation in PL/pgSQL would be a second writer of the chain to keep
identical forever. The acknowledgement's note lives in its audit event
(``anomaly_acknowledged``), which is also where the dashboard reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central import audit
from central.db.models import Anomaly
from central.enrollment import Site
from central.enrollment import create_code
from central.operators import OperatorInfo
from central.operators import add_operator
from central.stations_admin import UnknownStation
from central.stations_admin import set_station_enabled
from prep.crypto import SigningKey

if TYPE_CHECKING:
    from central.publication.ventana import EstadoPublicacion

MAX_NOTE = 500


class ActionError(ValueError):
    """A coordinator's action that cannot be done (Spanish, shown as is)."""


def clean_note(note: str) -> str:
    """The note as stored: trimmed, one line of printable text, required."""
    text = " ".join(note.split())
    if not text:
        raise ActionError("Escriba una nota: qué se revisó y qué se hizo.")
    if len(text) > MAX_NOTE or not text.isprintable():
        raise ActionError(f"La nota debe ser texto de hasta {MAX_NOTE} caracteres.")
    return text


def ack_anomaly(engine: Engine, anomaly_id: int, note: str, *, actor: str) -> None:
    """Mark an anomaly as attended with ``note``; audit ``anomaly_acknowledged``.

    Raises :class:`ActionError` if it does not exist or was already attended (by
    someone else, meanwhile: the row is locked, so two coordinators never both do it).
    """
    text = clean_note(note)
    with Session(engine) as session, session.begin():
        row = session.scalar(select(Anomaly).where(Anomaly.id == anomaly_id)
                             .with_for_update())
        if row is None:
            raise ActionError(f"La anomalía {anomaly_id} no existe.")
        if row.acknowledged:
            raise ActionError(f"La anomalía {anomaly_id} ya fue atendida.")
        row.acknowledged = True
        audit.emit(session, "anomaly_acknowledged", actor=actor, detail={
            "id": anomaly_id, "type": row.type, "station": row.station, "nota": text})


@dataclass(frozen=True)
class CorteConfig:
    """What a corte needs besides the database: the central's key and where cortes go
    (``None`` when the dashboard runs without the central's data directory)."""

    key: SigningKey
    publicacion: Path
    blobs: Path


@dataclass(frozen=True)
class Coordinator:
    """The dashboard's writer: the central's engine (never the read-only one), and who
    acts (the logged-in coordinator's account id; see :mod:`central.dashboard.login`).
    Without an ``actor`` every action is refused: nothing is written anonymously."""

    engine: Engine
    corte_config: CorteConfig | None = None
    actor: str | None = None

    def acting_as(self, actor: str) -> Coordinator:
        """The same writer, acting as ``actor``."""
        return replace(self, actor=actor)

    @property
    def who(self) -> str:
        if not self.actor:
            raise ActionError("Inicie sesión como coordinador (Ctrl+L) para actuar desde "
                              "el tablero.")
        return self.actor

    def ack(self, anomaly_id: int, note: str) -> str:
        ack_anomaly(self.engine, anomaly_id, note, actor=self.who)
        return f"Anomalía {anomaly_id} atendida."

    def enrollment_code(self, catd: int | None, role: str, hours: float = 24.0) -> str:
        """A one-time code (shown once); audited ``enrollment_code_created``."""
        if not 0 < hours <= 24 * 30:
            raise ActionError("La vigencia debe ser de más de 0 y hasta 720 horas.")
        try:
            site = Site.of(catd, role)
        except ValueError as exc:
            raise ActionError(str(exc)) from None
        return create_code(self.engine, site, actor=self.who, ttl=timedelta(hours=hours))

    def operator(self, name: str, role: str, sitio: str, password: str) -> OperatorInfo:
        """A new account; audited ``operator_created``."""
        return add_operator(self.engine, name, role, sitio, password, actor=self.who)

    def station(self, station_id: str, enabled: bool, reason: str) -> str:
        """Disable or enable an enrolled station; audited ``station_disabled`` /
        ``station_enabled`` (:mod:`central.stations_admin`)."""
        try:
            set_station_enabled(self.engine, station_id, enabled, actor=self.who,
                                reason=reason)
        except UnknownStation as exc:
            raise ActionError(str(exc)) from None
        if enabled:
            return f"Equipo {station_id} habilitado: vuelve a entregar lo que guardó."
        return (f"Equipo {station_id} deshabilitado: el nodo central rechaza todo lo que "
                "firme desde ahora.")

    def publicacion(self) -> EstadoPublicacion:
        """The Consejo's window and whether the publication ended (asked before a corte,
        so the dialog says why a reason is needed)."""
        from central.publication.ventana import estado

        return estado(self.engine)

    def corte(self, fuera_de_ventana: str | None = None, ultimo: bool = False,
              motivo: str | None = None) -> str:
        """A corte now (``a_pedido``), under the Consejo's rules: outside its window only
        with ``fuera_de_ventana`` (the coordinator's reason), never after the último
        corte; ``ultimo`` ends the publication (``motivo``: why). Audited
        ``corte_published`` (with ``corte_outside_window`` / ``publication_closed``),
        ``corte_refused`` or ``corte_failed``."""
        if self.corte_config is None:
            raise ActionError("Para hacer un corte desde el tablero, arránquelo con "
                              "--data-dir del nodo central (su llave firma el corte).")
        from central.publication.corte import A_PEDIDO
        from central.publication.corte import CorteSettings
        from central.publication.corte import make_corte
        from central.publication.ventana import Peticion
        from central.publication.ventana import PublicacionRechazada

        actor = self.who
        try:
            peticion = Peticion(fuera_de_ventana=fuera_de_ventana,
                                motivo_ultimo=motivo if ultimo else None)
        except ValueError as exc:
            raise ActionError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
        config = self.corte_config
        try:
            hecho = make_corte(self.engine, config.key,
                               CorteSettings(config.publicacion, config.blobs),
                               motivo=A_PEDIDO, actor=actor, ultimo_corte=ultimo,
                               peticion=peticion)
        except PublicacionRechazada as exc:
            raise ActionError(f"Corte rechazado: {exc}.") from None
        final = " Es el último corte: la publicación terminó." if ultimo else ""
        return (f"Corte {hecho.publicado.name} publicado: {hecho.actas_capturadas} de "
                f"{hecho.actas_esperadas} actas con datos.{final}")
