"""When cortes are made: on a schedule inside the publication window while ``prep
central serve`` runs, and on demand with ``prep central corte``.

The Consejo fixes the window's start (``--publicacion-inicio``, local time of the
catalog's entidad unless an offset is given) and it lasts at most 24 hours
(``--publicacion-horas``). Inside it a corte is made every ``--corte-every`` minutes
(default 5, never more than 20) counted from the start, plus one at the very end: that
one is the *último corte* (its participation may use another base, see the rules).
Without ``--publicacion-inicio`` the server makes no cortes by itself.

A corte runs in a thread of its own (never on the aiohttp loop, never in the pool that
serves stations); if one outlasts its interval, the ticks it covered are skipped, not
queued. A failed corte is logged and audited (``corte_failed``) and the schedule goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine

from central.config import DataDir
from central.publication.corte import A_PEDIDO, PROGRAMADO, CorteSettings, make_corte
from central.publication.package import CorteError
from central.publication.snapshot import SnapshotError
from prep.corte.anexo import TZ
from prep.crypto import SigningKey
from prep.rules import DEFAULT_RULES, RuleSet

log = logging.getLogger("central.publication")

DEFAULT_EVERY = 5
MAX_EVERY = 20
MAX_HOURS = 24.0
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
                            "(hora del centro de México si no lleva zona) o «ahora»; sin "
                            "esta opción el nodo no hace cortes por sí mismo")
    group.add_argument("--publicacion-horas", type=float, default=MAX_HOURS, metavar="H",
                       help="duración de la ventana en horas (máximo 24)")
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
    if not 0 < args.publicacion_horas <= MAX_HOURS:
        raise ValueError("--publicacion-horas debe ser de más de 0 y hasta 24 horas")
    if args.publicacion_inicio is None:
        return None
    return Ventana(parse_inicio(args.publicacion_inicio, now), args.publicacion_horas,
                   timedelta(minutes=args.corte_every))


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


def settings_from_args(args: argparse.Namespace, data_dir: DataDir) -> CorteSettings:
    rules = RuleSet.from_toml(args.reglas) if args.reglas else DEFAULT_RULES
    return CorteSettings(args.publicacion or data_dir.root / "publicacion", data_dir.blobs,
                         rules)


class Scheduler:
    """Cortes of a window, each in the scheduler's own thread."""

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
        self.terminado = False  # the window is over (or the schedule was stopped)

    async def run(self) -> None:
        """Make the window's cortes until it ends (or the task is cancelled)."""
        loop = asyncio.get_running_loop()
        try:
            while (nxt := self.ventana.siguiente(self.clock())) is not None:
                at, ultimo = nxt
                await asyncio.sleep(max(0.0, (at - self.clock()).total_seconds()))
                try:
                    await loop.run_in_executor(self.executor, self._corte, ultimo)
                    self.hechos += 1
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
            self.executor.shutdown(wait=True)

    def _corte(self, ultimo: bool) -> None:
        make_corte(self.engine, self.key, self.settings, motivo=PROGRAMADO,
                   actor="central", ultimo_corte=ultimo)


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


# --- prep central corte ------------------------------------------------------------

def register_corte(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                   common: argparse.ArgumentParser) -> None:
    """Add ``corte`` to ``prep central``."""
    from central.cli import _database_errors

    corte = sub.add_parser("corte", parents=[common],
                           help="hace y publica un corte ahora (directorio publicacion/)")
    add_corte_options(corte)
    corte.add_argument("--ultimo", action="store_true",
                       help="es el último corte de la ventana de publicación")
    corte.set_defaults(func=_database_errors(_corte_command))


def _corte_command(args: argparse.Namespace) -> int:
    from central.cli import _engine, _operator
    from central.config import load_identity

    data_dir = DataDir(args.data_dir)
    identity = load_identity(data_dir)
    settings = settings_from_args(args, data_dir)
    with _engine(args, data_dir) as engine:
        try:
            hecho = make_corte(engine, identity.key, settings, motivo=A_PEDIDO,
                               actor=_operator(), ultimo_corte=args.ultimo)
        except (CorteError, SnapshotError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(hecho.to_json(), ensure_ascii=False), flush=True)
    print(f"Corte {hecho.publicado.name} publicado en {hecho.publicado.path} "
          f"({hecho.actas_capturadas} de {hecho.actas_esperadas} actas capturadas).",
          file=sys.stderr)
    return 0
