"""Cortes the dashboard asks for, made by the central's service (issue 62).

The dashboard never holds the central's signing key. A coordinator's «Corte ahora» is a
row of ``corte_peticiones`` (inserted by the dashboard's ``prep_coordinador`` login in
the coordinator's session: the database sets its ``actor``, and its ``segundo`` from the
second coordinator's session for a corte outside the window) and a ``NOTIFY`` on
:data:`CHANNEL`. Every ``serve`` node runs a :class:`AtiendePeticiones`: woken by the
notification (or every :data:`POLL_SECONDS`), it claims the oldest pending row (``FOR
UPDATE SKIP LOCKED``: with several nodes, one makes it), makes the corte with its key as
``prep central corte`` would, in the coordinator's name, and writes the outcome back
(``hecho``, ``rechazado`` by the Consejo's rules, or ``fallido``), which the dashboard
reads.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import psycopg
from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from central.db.coordinacion import CortePeticion
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.publicar import CorteError
from central.publication.snapshot import SnapshotError
from central.publication.ventana import Peticion
from central.publication.ventana import PublicacionRechazada
from prep.background import BackgroundLoop
from prep.crypto import SigningKey

log = logging.getLogger("central.publication")

CHANNEL = "prep_corte_pedido"
POLL_SECONDS = 5.0
RECONNECT_SECONDS = 5.0
#: How often the dashboard looks at its request's outcome.
RESULT_POLL_SECONDS = 0.25
FINAL = ("hecho", "rechazado", "fallido")


def pedir_corte(engine: Engine, *, actor: str, ultimo: bool, motivo: str | None,
                fuera_de_ventana: str | None, segundo_token: str | None) -> int:
    """Insert the request and wake the service; its id. (The database fills ``actor``
    and ``segundo`` from the sessions and refuses the row without them.)"""
    with Session(engine) as session, session.begin():
        row = CortePeticion(actor=actor, ultimo=ultimo, motivo=motivo,
                            fuera_de_ventana=fuera_de_ventana, segundo_token=segundo_token)
        session.add(row)
        session.flush()
        session.execute(select(func.pg_notify(CHANNEL, str(row.id))))
        return int(row.id)


def resultado(engine: Engine, peticion_id: int, wait: timedelta,
              stop: threading.Event | None = None) -> tuple[str, str]:
    """(estado, mensaje) of the request once final, or its state when ``wait`` ran out
    or ``stop`` was set (the dashboard closing)."""
    deadline = time.monotonic() + wait.total_seconds()
    stop = stop or threading.Event()
    while True:
        with Session(engine) as session:
            row = session.execute(select(CortePeticion.estado, CortePeticion.mensaje)
                                  .where(CortePeticion.id == peticion_id)).one()
        if row.estado in FINAL or time.monotonic() >= deadline:
            return str(row.estado), str(row.mensaje or "")
        if stop.wait(RESULT_POLL_SECONDS):
            return str(row.estado), str(row.mensaje or "")


_CLAIM = text("""
    UPDATE corte_peticiones SET estado = 'en_curso', atendido_at = now()
    WHERE id = (SELECT id FROM corte_peticiones WHERE estado = 'pendiente'
                ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING id, actor, ultimo, motivo, fuera_de_ventana, segundo
""")


def atender_una(engine: Engine, key: SigningKey, settings: CorteSettings) -> bool:
    """Make the oldest pending corte asked for, if any; whether there was one."""
    with engine.begin() as conn:
        row = conn.execute(_CLAIM).one_or_none()
    if row is None:
        return False
    estado, mensaje = "fallido", ""
    try:
        peticion = Peticion(fuera_de_ventana=row.fuera_de_ventana,
                            motivo_ultimo=row.motivo if row.ultimo else None,
                            segundo=row.segundo)
        hecho = make_corte(engine, key, settings, motivo=A_PEDIDO, actor=row.actor,
                           ultimo_corte=row.ultimo, peticion=peticion)
        final = " Es el último corte: la publicación terminó." if row.ultimo else ""
        estado, mensaje = "hecho", (
            f"Corte {hecho.publicado.name} publicado: {hecho.actas_capturadas} de "
            f"{hecho.actas_esperadas} actas con datos.{final}")
    except PublicacionRechazada as exc:
        estado, mensaje = "rechazado", f"{exc}."
    except ValueError as exc:  # a reason the rules refuse (checked by the dashboard too)
        estado, mensaje = "rechazado", f"{str(exc)[:1].upper()}{str(exc)[1:]}."
    except (CorteError, SnapshotError, OSError) as exc:
        log.error("corte pedido desde el tablero fallido: %s", exc)
        mensaje = f"{exc}"[:1000]
    except Exception:  # the service must outlive any one corte
        log.exception("corte pedido desde el tablero fallido")
        mensaje = "error inesperado del nodo central (el detalle quedó en su registro)"
    with engine.begin() as conn:
        conn.execute(text("UPDATE corte_peticiones SET estado = :e, mensaje = :m, "
                          "atendido_at = now() WHERE id = :i"),
                     {"e": estado, "m": mensaje, "i": row.id})
    return True


class AtiendePeticiones(BackgroundLoop):
    """``serve``'s thread that makes the cortes the dashboard asks for (see module)."""

    def __init__(self, dsn: str, engine: Engine, key: SigningKey,
                 settings: CorteSettings) -> None:
        super().__init__("central-cortes-pedidos", join_seconds=None)
        self.dsn = dsn
        self.engine = engine
        self.key = key
        self.settings = settings
        self.atendidas = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True,
                                     application_name="prep-central-cortes-pedidos") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        self._drain()
                        for _ in conn.notifies(timeout=POLL_SECONDS, stop_after=1):
                            pass
            except (psycopg.Error, SQLAlchemyError) as exc:
                log.warning("sin atender cortes pedidos desde el tablero (%s); reintento "
                            "en %.0f s", exc, RECONNECT_SECONDS)
                self._stop.wait(RECONNECT_SECONDS)

    def _drain(self) -> None:
        while not self._stop.is_set() and atender_una(self.engine, self.key, self.settings):
            self.atendidas += 1
