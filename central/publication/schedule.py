"""When cortes are made: on a schedule inside the publication window while ``prep
central serve`` runs, and on demand with ``prep central corte``.

The Consejo fixes the window (at most 24 hours); it is kept in the database
(:mod:`central.publication.ventana`). ``serve --publicacion-inicio`` (local time of the
catalog's entidad unless an offset is given; ``--publicacion-horas``) fixes it when none
is set and must agree with the one set; without the option ``serve`` follows the window
in the database, and without either it makes no cortes by itself. Inside the window a
corte is made every ``--corte-every`` minutes (default 5, never more than 20) counted
from the start, plus one at the very end: that one is the *último corte*, after which no
public corte is made (its participation may use another base, see the rules). The
schedule reads the window again at least every :data:`RELEER` seconds, so a window the
Consejo moves takes effect without restarting ``serve``; every tick is checked against
it, and against an último corte made meanwhile, with the corte lock held.

A corte runs in a thread of its own (never on the aiohttp loop, never in the pool that
serves stations); if one outlasts its interval, the ticks it covered are skipped, not
queued. A failed corte is logged and audited (``corte_failed``), a refused one logged,
and the schedule goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from central.node.config import DataDir
from central.node.tuning import CentralTuning
from central.publication import ventana as publicacion
from central.publication.corte import PROGRAMADO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.memo_corte import CorteMemo
from central.publication.publicar import CorteError
from central.publication.snapshot import SnapshotError
from central.publication.ventana import Peticion
from central.publication.ventana import PublicacionRechazada
from prep.corte.anexo import TZ
from prep.corte.memo import RenderMemo
from prep.crypto import SigningKey
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

log = logging.getLogger("central.publication")

DEFAULT_EVERY = 5
MAX_EVERY = 20
MAX_HOURS = 24.0
#: Seconds between the schedule's readings of the window in the database.
RELEER = 30.0
T = TypeVar("T")


@dataclass(frozen=True)
class Ventana:
    """The publication window: cortes every ``cada`` from ``inicio`` until ``fin``."""

    inicio: datetime  # aware
    horas: float
    cada: timedelta

    def __post_init__(self) -> None:
        if self.inicio.tzinfo is None:
            raise ValueError("el inicio de la ventana de publicación necesita zona horaria")
        if not timedelta(minutes=1) <= self.cada <= timedelta(minutes=MAX_EVERY):
            raise ValueError(f"los cortes deben hacerse al menos cada {MAX_EVERY} minutos "
                             "(--corte-every de 1 a 20)")
        if not 0 < self.horas <= MAX_HOURS:
            raise ValueError("la ventana de publicación dura más de 0 y hasta 24 horas "
                             "(--publicacion-horas)")

    @classmethod
    def desde(cls, inicio: datetime, fin: datetime, cada: timedelta) -> Ventana:
        """The window from ``inicio`` to ``fin`` (as the database keeps it)."""
        return cls(inicio, (fin - inicio) / timedelta(hours=1), cada)

    @property
    def fin(self) -> datetime:
        return self.inicio + timedelta(hours=self.horas)

    def siguiente(self, now: datetime) -> tuple[datetime, bool] | None:
        """The next corte time at or after ``now`` and whether it is the last one;
        ``None`` once the window is over."""
        if now > self.fin:
            return None
        if now <= self.inicio:
            return self.inicio, self.inicio >= self.fin
        ticks = math.ceil((now - self.inicio) / self.cada)
        at = self.inicio + ticks * self.cada
        if at >= self.fin:
            return self.fin, True
        return at, False


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """``serve``'s corte options."""
    group = parser.add_argument_group("cortes de publicación")
    group.add_argument("--corte-every", type=float, default=DEFAULT_EVERY, metavar="MIN",
                       help=f"minutos entre cortes (predeterminado {DEFAULT_EVERY}; máximo "
                            f"{MAX_EVERY})")
    group.add_argument("--publicacion-inicio", default=None, metavar="FECHA_HORA",
                       help="inicio de la ventana de publicación, p. ej. 2027-06-06T20:00 "
                            "(hora del centro de México si no lleva zona) o «ahora»; debe "
                            "coincidir con la que fijó el Consejo (prep central ventana), o "
                            "la fija si aún no hay. Sin esta opción el nodo sigue la ventana "
                            "guardada; sin ninguna, no hace cortes por sí mismo")
    group.add_argument("--publicacion-horas", type=float, default=None, metavar="H",
                       help="duración de la ventana en horas (predeterminado y máximo 24)")
    add_corte_options(group)


def add_corte_options(group: argparse._ActionsContainer) -> None:
    """Options shared by ``serve`` and ``corte``: where and with which rules."""
    group.add_argument("--publicacion", type=Path, default=None, metavar="DIR",
                       help="directorio de publicación (predeterminado "
                            "<data-dir>/publicacion)")
    group.add_argument("--reglas", type=Path, default=None,
                       help="archivo TOML de reglas de publicación (resources/reglas.toml)")


def ventana_from_args(args: argparse.Namespace, now: datetime | None = None) -> Ventana | None:
    """The window the options describe (``None``: no scheduled cortes); Spanish
    :class:`ValueError` on bad values."""
    if args.corte_every > MAX_EVERY:
        raise ValueError(f"--corte-every {args.corte_every:g}: el máximo es {MAX_EVERY} "
                         "minutos entre cortes (se deben publicar al menos 3 por hora)")
    if args.corte_every < 1:
        raise ValueError("--corte-every debe ser de al menos 1 minuto")
    horas = MAX_HOURS if args.publicacion_horas is None else args.publicacion_horas
    if not 0 < horas <= MAX_HOURS:
        raise ValueError("--publicacion-horas debe ser de más de 0 y hasta 24 horas")
    if args.publicacion_inicio is None:
        if args.publicacion_horas is not None:
            raise ValueError("--publicacion-horas va con --publicacion-inicio")
        return None
    return Ventana(parse_inicio(args.publicacion_inicio, now), horas,
                   timedelta(minutes=args.corte_every))


def ventana_para_serve(engine: Engine, args: argparse.Namespace, pedida: Ventana | None,
                       actor: str) -> Ventana | None:
    """The window ``serve`` schedules: the Consejo's, in the database. ``pedida`` (from
    ``--publicacion-inicio``) fixes it when none is set (audited) and otherwise must be
    the same, or :class:`ValueError` says so before the server starts."""
    cada = timedelta(minutes=args.corte_every)
    estado = publicacion.estado(engine)
    if pedida is None:
        if estado.inicio is None or estado.fin is None:
            return None
        return Ventana.desde(estado.inicio, estado.fin, cada)
    if estado.inicio is None or estado.fin is None:
        publicacion.fijar_ventana(engine, pedida.inicio, pedida.horas, actor=actor,
                                  origen="serve")
        return pedida
    if pedida.inicio == estado.inicio and (args.publicacion_horas is None
                                           or pedida.fin == estado.fin):
        return Ventana.desde(estado.inicio, estado.fin, cada)
    otra = publicacion.EstadoPublicacion(pedida.inicio, pedida.fin, None, None,
                                         estado.ahora)
    raise ValueError(f"la ventana de publicación que fijó el Consejo es "
                     f"{estado.ventana_texto()}, y --publicacion-inicio pide "
                     f"{otra.ventana_texto()}. Arranque sin --publicacion-inicio (el nodo "
                     "sigue la ventana guardada) o, si el Consejo la cambió, cámbiela con "
                     "prep central ventana --inicio … --motivo «…»")


def parse_inicio(text: str, now: datetime | None = None) -> datetime:
    """``ahora`` or an ISO date-time (America/Mexico_City when it has no offset)."""
    if text.strip().lower() == "ahora":
        return (now or datetime.now(UTC)).replace(microsecond=0)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--publicacion-inicio «{text}» no es una fecha y hora como "
                         "2027-06-06T20:00") from None
    return when.replace(tzinfo=TZ) if when.tzinfo is None else when


def settings_from_args(args: argparse.Namespace, data_dir: DataDir,
                       tuning: CentralTuning | None = None) -> CorteSettings:
    """The cortes of ``serve`` and ``corte`` (``tuning``: the process's, which the
    command entered; :mod:`central.node.tuning`)."""
    rules = RuleSet.from_toml(args.reglas) if args.reglas else DEFAULT_RULES
    # serve's cortes read and render only what changed since the previous one
    # and keep the texts they reuse in files without a name in the data directory
    return CorteSettings(args.publicacion or data_dir.root / "publicacion", data_dir.blobs,
                         rules, memo=CorteMemo(render=RenderMemo(carrete=data_dir.root)),
                         datos=data_dir.root, tuning=tuning)


#: Held (a session advisory lock) by the one ``serve`` node that makes the scheduled
#: cortes when several serve one database (issue 31); released when its connection
#: ends, so another node takes over at its next tick if that node dies.
SCHEDULER_LOCK = (0x50524550, 71)  # "PREP", 71


class Scheduler:
    """Cortes of a window, each in the scheduler's own thread. With several ``serve``
    nodes on one database, only the one holding :data:`SCHEDULER_LOCK` makes them."""

    def __init__(self, engine: Engine, key: SigningKey, settings: CorteSettings,
                 ventana: Ventana, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
                 ) -> None:
        self.engine = engine
        self.key = key
        self.settings = settings
        self.ventana = ventana
        self.clock = clock
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="central-corte")
        self.hechos = 0  # cortes published
        self.rechazados = 0  # ticks the Consejo's rules refused (after the último corte)
        self.terminado = False  # the window is over (or the schedule was stopped)
        self.omitidos = 0  # ticks left to the node that holds the scheduler lock
        self._lock: Connection | None = None  # the session holding SCHEDULER_LOCK

    async def run(self) -> None:
        """Make the window's cortes until it ends (or the task is cancelled)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self.ventana = await loop.run_in_executor(self.executor, self._guardada)
                nxt = self.ventana.siguiente(self.clock())
                if nxt is None:
                    break
                at, ultimo = nxt
                wait = (at - self.clock()).total_seconds()
                if wait > RELEER:  # read the window again before then
                    await asyncio.sleep(RELEER)
                    continue
                await asyncio.sleep(max(0.0, wait))
                if not await loop.run_in_executor(self.executor, self.holds_lock):
                    self.omitidos += 1
                    log.info("otro nodo tiene el calendario de cortes; este no corta a las "
                             "%s", at.isoformat())
                    await asyncio.sleep(1.0)
                    continue
                try:
                    await loop.run_in_executor(self.executor, self._corte, at, ultimo)
                    self.hechos += 1
                except PublicacionRechazada as exc:
                    self.rechazados += 1
                    log.warning("no se hizo el corte programado: %s", exc)
                except (CorteError, SnapshotError, OSError) as exc:
                    log.error("corte programado fallido: %s", exc)
                except Exception:  # the schedule must outlive any one corte
                    log.exception("corte programado fallido")
                if ultimo:
                    break
                # Never the same tick twice, even if the corte took no time at all.
                if self.clock() < at + timedelta(seconds=1):
                    await asyncio.sleep((at + timedelta(seconds=1) - self.clock())
                                        .total_seconds())
            log.info("terminó la ventana de publicación (%d cortes)", self.hechos)
        finally:
            self.terminado = True
            self.executor.submit(self._release)
            self.executor.shutdown(wait=True)

    def holds_lock(self) -> bool:
        """Whether this node makes the scheduled cortes: it holds the scheduler lock,
        or takes it now (free: no other node holds it, or its holder died)."""
        if self._lock is not None:
            try:
                self._lock.execute(text("SELECT 1"))
                self._lock.commit()
                return True
            except SQLAlchemyError:
                self._release()  # the connection broke: the lock went with it
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            log.warning("no se pudo pedir el calendario de cortes: %s", exc)
            return False
        try:
            taken = bool(conn.execute(select(func.pg_try_advisory_lock(*SCHEDULER_LOCK)))
                         .scalar())
            conn.commit()
        except SQLAlchemyError as exc:
            log.warning("no se pudo pedir el calendario de cortes: %s", exc)
            conn.close()
            return False
        if not taken:
            conn.close()
            return False
        log.info("este nodo hace los cortes programados")
        self._lock = conn
        return True

    def _release(self) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(SQLAlchemyError):
            self._lock.execute(select(func.pg_advisory_unlock(*SCHEDULER_LOCK)))
            self._lock.commit()
        with contextlib.suppress(SQLAlchemyError):
            self._lock.invalidate()  # never back to the pool holding anything
        self._lock = None

    def _corte(self, at: datetime, ultimo: bool) -> None:
        make_corte(self.engine, self.key, self.settings, motivo=PROGRAMADO,
                   actor="central", ultimo_corte=ultimo,
                   peticion=Peticion(programado_para=at))

    def _guardada(self) -> Ventana:
        """The window in the database now (the one it had, if it cannot be read)."""
        try:
            estado = publicacion.estado(self.engine)
        except (SQLAlchemyError, CorteError) as exc:
            log.warning("no se pudo leer la ventana de publicación: %s", exc)
            return self.ventana
        if estado.inicio is None or estado.fin is None:
            return self.ventana
        guardada = Ventana.desde(estado.inicio, estado.fin, self.ventana.cada)
        if guardada != self.ventana:
            log.info("ventana de publicación: %s", estado.ventana_texto())
        return guardada


async def cortes_while(server: Coroutine[Any, Any, T], scheduler: Scheduler | None) -> T:
    """Run ``server`` (the HTTPS API) with the schedule beside it; stop the schedule
    (waiting for a corte in progress) when the server stops."""
    if scheduler is None:
        return await server
    task = asyncio.create_task(scheduler.run(), name="cortes")
    try:
        return await server
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
