"""What a coordinator does from the dashboard, through the central's audited functions
(Qt-free).

The dashboard reads through the read-only role; every write goes through a *second*
connection, a login holding only ``prep_coordinador`` (revision 0028), whose connections
carry the logged-in coordinator's session token (:mod:`central.controlroom.login`): the
database refuses the role's writes without an open session and audit events whose actor
is not that session's coordinator. The writes go through the same Python functions the
command line uses, so each one lands in the hash-chained audit log. A SECURITY DEFINER
function was considered for acknowledging anomalies and rejected: the audit chain's
hashes are canonical JSON computed in Python (:mod:`central.audit.audit`), and a second
implementation in PL/pgSQL would be a second writer of the chain to keep identical
forever.

The dashboard never holds the central's signing key: a corte it asks for is a row of
``corte_peticiones`` that ``serve`` makes with its own key
(:mod:`central.publication.peticiones`), and whose outcome it writes back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from central.audit import audit
from central.db import make_engine
from central.db.auditoria import Anomaly
from central.stations.enrollment import Site
from central.stations.enrollment import create_code
from central.stations.operators import OperatorInfo
from central.stations.operators import add_operator
from central.stations.stations_admin import UnknownStation
from central.stations.stations_admin import set_station_enabled

if TYPE_CHECKING:
    from central.publication.ventana import EstadoPublicacion

MAX_NOTE = 500
#: A corte of a full CDMX night takes a minute or two; past this the dashboard stops
#: waiting (the request stays with the central's service).
CORTE_WAIT = timedelta(minutes=10)


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
class Coordinator:
    """The dashboard's writer: ``engine`` on a login holding only ``prep_coordinador``,
    and who acts (``actor``, the logged-in coordinator's account id, with the ``token`` of
    their session: see :mod:`central.controlroom.login`). Without a session every action
    is refused, here and by the database: nothing is written anonymously."""

    engine: Engine
    dsn: str = ""
    actor: str | None = None
    token: str | None = field(default=None, repr=False)
    #: How long a corte asked for may take before the dashboard stops waiting.
    corte_wait: timedelta = CORTE_WAIT
    #: Set when the dashboard closes: stop waiting for a corte's outcome.
    stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def acting_as(self, actor: str, token: str) -> Coordinator:
        """The same login, acting in ``actor``'s session ``token`` (a new engine whose
        connections carry it: dispose of it on logout)."""
        return replace(self, engine=make_engine(self.dsn, pool_size=1, sesion=token),
                       actor=actor, token=token)

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
        ``station_enabled`` (:mod:`central.stations.stations_admin`)."""
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
              motivo: str | None = None, segundo_token: str | None = None) -> str:
        """Ask the central's service for a corte now (``a_pedido``), under the Consejo's
        rules: outside its window only with ``fuera_de_ventana`` (a reason of substance)
        and a second coordinator's open session (``segundo_token``), never after the
        último corte; ``ultimo`` ends the publication (``motivo``: why). ``serve`` makes
        it with its key and audits it as the coordinator (``corte_published``, with
        ``corte_outside_window`` / ``publication_closed``, or ``corte_refused``); this
        waits for its outcome (on the dashboard's actions worker)."""
        from central.publication.peticiones import pedir_corte
        from central.publication.peticiones import resultado
        from central.publication.ventana import Peticion

        actor = self.who
        try:
            Peticion(fuera_de_ventana=fuera_de_ventana,
                     motivo_ultimo=motivo if ultimo else None, segundo=segundo_token)
        except ValueError as exc:
            raise ActionError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
        if fuera_de_ventana is not None and not segundo_token:
            raise ActionError("Un corte fuera de la ventana necesita que un segundo "
                              "coordinador lo confirme con su usuario y contraseña.")
        try:
            peticion_id = pedir_corte(self.engine, actor=actor, ultimo=ultimo,
                                      motivo=motivo if ultimo else None,
                                      fuera_de_ventana=fuera_de_ventana,
                                      segundo_token=segundo_token)
        except DBAPIError as exc:
            if not isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
                raise
            # The database's own refusal (revision 0028), already in Spanish.
            reason = str(exc.orig).splitlines()[0]
            raise ActionError(f"El nodo central no aceptó el corte: {reason}.") from None
        estado, mensaje = resultado(self.engine, peticion_id, self.corte_wait, self.stop)
        if estado == "hecho":
            return mensaje
        if estado == "rechazado":
            raise ActionError(f"Corte rechazado: {mensaje}")
        if estado == "fallido":
            raise ActionError(f"El corte falló en el nodo central: {mensaje}")
        raise ActionError("El nodo central no terminó el corte pedido a tiempo: revise que "
                          "«prep central serve» esté en marcha; el corte se hará en cuanto "
                          "lo atienda (o no, si ya no procede) y quedará en el tablero.")
