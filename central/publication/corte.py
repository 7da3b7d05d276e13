"""One corte from start to finish: lock, snapshot, package, row in ``cortes``, audit.

Only one corte is made at a time in the whole installation (a PostgreSQL session
advisory lock, so ``prep central corte`` and the schedule of ``prep central serve`` never
race), and its snapshot is taken after the lock is held, so cortes follow each other in
time. The directory is prepared first (every file, the manifest and its signature, under a
hidden name), then its row and audit event are committed, and only then is it renamed
into place and pointed at by ``latest``: a corte the database did not record is never
published (a replaced primary whose commit waits for its lost synchronous standby
publishes nothing; issue 62). A crash before the commit leaves a hidden directory that
nobody reads; a crash after it, a prepared corte that the next corte publishes first.
A node that is not the current primary makes no corte at all
(:mod:`central.continuity.fencing`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from central.audit import ancla
from central.audit import audit
from central.continuity import fencing
from central.db import locks
from central.db.publicacion import CorteRow
from central.node.metrics import instruments as metrics
from central.publication import feed
from central.publication import snapshot_historial
from central.publication import transparencia
from central.publication import ventana
from central.publication.correcciones import con_antes
from central.publication.memo_corte import CorteMemo
from central.publication.publicar import CorteError
from central.publication.publicar import Publicado
from central.publication.publicar import completar
from central.publication.publicar import publish
from central.publication.snapshot import Snapshot
from central.publication.snapshot import SnapshotError
from central.publication.snapshot import read_snapshot
from central.publication.ventana import Peticion
from central.publication.ventana import PublicacionRechazada
from prep.corte.archivos import ArchivoPublicado
from prep.corte.package import DIFERENCIAS
from prep.crypto import SigningKey
from prep.logsetup import fields
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

if TYPE_CHECKING:
    from central.node.tuning import CentralTuning

log = logging.getLogger("central.publication")

CORTE_LOCK = (0x50524550, 70)  # "PREP", 70: one corte at a time
#: How long a corte waits for the one in progress (a national-scale corte's target is
#: 20 s, docs/publicacion.md); longer means a stuck holder, and waiting on would hang
#: whoever asked.
CORTE_LOCK_WAIT = timedelta(minutes=2)
PROGRAMADO = "programado"
A_PEDIDO = "a_pedido"


class NoEsPrimario(CorteError):
    """This node cannot confirm it is the current primary: it publishes nothing
    (:func:`central.continuity.fencing.corte_refusal` says why, in Spanish)."""


@dataclass(frozen=True)
class CorteSettings:
    """Where cortes go and what they are made with."""

    publicacion: Path
    blobs: Path | None  # None: no images (benchmarks)
    rules: RuleSet = DEFAULT_RULES
    sitio: bool = True
    #: What a running central keeps between its cortes (None: read and render every
    #: acta, as a corte in a process of its own does).
    memo: CorteMemo | None = None
    #: The node's data directory, where a replaced node keeps the signed word of the
    #: timeline that replaced it (central.continuity.fencing); None: not checked.
    datos: Path | None = None
    #: The process's tuning, entered by the program that makes the cortes (``serve``,
    #: ``corte``, the benchmarks): each corte runs in its ``corte()`` (the collector
    #: paused, a short switch interval). None: the process is left as it is.
    tuning: CentralTuning | None = None
    #: The registry of published files (prep.corte.archivos; None: the project's). A
    #: test passes its own to see the differential catch a file that reads an input it
    #: did not declare (tests/central/test_corte_diferencial.py).
    archivos: Sequence[ArchivoPublicado] | None = None


@dataclass(frozen=True)
class CorteHecho:
    """A corte published and recorded."""

    publicado: Publicado
    corte_id: int
    seconds: float
    snapshot_seconds: float
    actas_esperadas: int
    actas_capturadas: int
    actas_contabilizadas: int
    fuera: int
    #: Actas read again since this process's previous corte (None: all were read).
    releidas: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"corte": self.publicado.name, "directorio": str(self.publicado.path),
                "manifiesto_sha256": self.publicado.manifest_sha256,
                "actas_esperadas": self.actas_esperadas,
                "actas_capturadas": self.actas_capturadas,
                "actas_contabilizadas": self.actas_contabilizadas,
                "fuera_de_catalogo": self.fuera, "imagenes": self.publicado.imagenes,
                "archivos": self.publicado.files, "segundos": round(self.seconds, 3),
                "segundos_por_fase": {"snapshot": round(self.snapshot_seconds, 3),
                                      **self.publicado.seconds},
                "diferencias": dict(self.publicado.diferencias),
                "actas_releidas": self.releidas}


def make_corte(engine: Engine, key: SigningKey, settings: CorteSettings, *, motivo: str,
               actor: str, ultimo_corte: bool = False,
               lock_wait: timedelta = CORTE_LOCK_WAIT,
               peticion: Peticion | None = None) -> CorteHecho:
    """Make, publish and record one corte; audit ``corte_published`` or, on failure,
    ``corte_failed`` (and raise :class:`CorteError` / :class:`SnapshotError`).

    ``peticion``: a public corte (the schedule, ``prep central corte``, the dashboard),
    checked against the Consejo's window and último corte once the lock is held
    (:mod:`central.publication.ventana`; :class:`PublicacionRechazada`, audited
    ``corte_refused``, when they refuse it). ``None`` is for tools that make cortes of
    their own data (benchmarks, tests): no rule is checked, but a corte marked
    ``ultimo_corte`` still ends the publication.

    Waits up to ``lock_wait`` for a corte in progress to end; past that the corte is not
    made (:class:`CorteError`): a lock held by a stuck session must not hang the
    schedule nor the coordinator who asked for it."""
    started = time.perf_counter()
    lock = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        _take_lock(lock, lock_wait, engine, actor, motivo)
        try:
            with nullcontext() if settings.tuning is None else settings.tuning.corte():
                return _make_locked(engine, key, settings, motivo, actor, ultimo_corte,
                                    started, peticion)
        finally:
            lock.execute(select(func.pg_advisory_unlock(*CORTE_LOCK)))
    finally:
        lock.close()


def _make_locked(engine: Engine, key: SigningKey, settings: CorteSettings, motivo: str,
                 actor: str, ultimo_corte: bool, started: float,
                 peticion: Peticion | None) -> CorteHecho:
    """:func:`make_corte` once the corte lock is held."""
    try:
        # A node that is not the current primary publishes nothing (issue 62).
        razon = fencing.corte_refusal(engine, settings.datos, key.public)
        if razon is not None:
            raise NoEsPrimario(razon)
        fuera = None if peticion is None else ventana.autorizar(
            engine, peticion, ultimo=ultimo_corte, actor=actor, motivo=motivo)
        hecho = _make(engine, key, settings, motivo, actor, ultimo_corte, started,
                      peticion, fuera)
        metrics.corte_published(hecho.seconds, {"snapshot": hecho.snapshot_seconds,
                                                **hecho.publicado.seconds})
        return hecho
    except PublicacionRechazada:
        metrics.corte_refused()
        raise  # audited as a refusal, not as a failure (nothing was read)
    except NoEsPrimario as exc:
        # Not audited in the database: a replaced primary's commits may wait for
        # ever (its lost synchronous standby), and its chain is not the current one.
        _forget(settings)
        metrics.corte_failed()
        log.error("no se publicó el corte: %s", exc)
        raise
    except (CorteError, SnapshotError, OSError, SQLAlchemyError) as exc:
        _forget(settings)
        _failed(engine, actor, motivo, str(exc))
        raise
    except BaseException:
        _forget(settings)
        raise


def _forget(settings: CorteSettings) -> None:
    """After a failed corte the next one reads and renders everything again."""
    if settings.memo is not None:
        settings.memo.clear()


def _take_lock(lock: Connection, wait: timedelta, engine: Engine, actor: str,
               motivo: str) -> None:
    try:
        with locks.lock_wait(lock, wait):
            lock.execute(select(func.pg_advisory_lock(*CORTE_LOCK)))
    except locks.DatabaseBusy:
        seconds = wait.total_seconds()
        lapse = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
        reason = (f"otro corte lleva más de {lapse} en curso (o una sesión de la base de "
                  "datos retiene su candado), así que no se hizo este corte. Espere a que "
                  "termine y vuelva a pedirlo; si no hay ningún corte en curso, revise en "
                  "PostgreSQL quién retiene el candado (pg_locks, locktype = 'advisory')")
        _failed(engine, actor, motivo, reason)
        raise CorteError(reason) from None


def _make(engine: Engine, key: SigningKey, settings: CorteSettings, motivo: str,
          actor: str, ultimo_corte: bool, started: float, peticion: Peticion | None,
          fuera_de_ventana: str | None) -> CorteHecho:
    with Session(engine) as session:
        recorded = list(session.scalars(select(CorteRow.directorio)
                                        .order_by(CorteRow.id)))
        _segundo_propio(session)
        # The audit chain's head, signed in the manifest: a later rewrite of the chain
        # contradicts what was published (issue 62, prep.cadena).
        bitacora = ancla.cabeza(session)
    # A corte completed here gets the log's files before «latest» moves, under the origin
    # already published (none: the log's first corte, whose files this corte writes).
    publicado_origen = transparencia.origen_publicado(settings.publicacion)
    if recorded and completar(settings.publicacion, recorded[-1], None if publicado_origen
                              is None else _registro_publico(engine, key, settings,
                                                             publicado_origen)):
        log.warning("el corte %s estaba registrado y preparado pero no publicado (el "
                    "proceso se detuvo entre los dos pasos); se publicó ahora", recorded[-1])
    anterior = settings.publicacion / recorded[-1] if recorded else None
    if anterior is not None and not anterior.is_dir():
        log.warning("el corte anterior %s ya no está en %s; diferencias contra nada",
                    anterior.name, settings.publicacion)
        anterior = None
    snapshot_started = time.perf_counter()
    # What each correction published now changed, from the previous corte's files.
    snap = con_antes(read_snapshot(engine, settings.memo), anterior)
    snapshot_seconds = time.perf_counter() - snapshot_started
    registro: dict[str, int] = {}

    def registrar(publicado: Publicado, preparado: Path) -> None:
        # The row commits before anything is published: a node whose commit cannot
        # complete (a replaced primary waiting for its lost synchronous standby) leaves
        # only a hidden directory, never a corte that «latest» points at.
        razon = fencing.corte_refusal(engine, settings.datos, key.public)
        if razon is not None:
            raise NoEsPrimario(razon)
        registro["id"] = _registrar(engine, snap, publicado, preparado, motivo, actor,
                                    ultimo_corte, started, peticion, fuera_de_ventana)

    publicado = publish(settings.publicacion, snap, key, blobs=settings.blobs,
                        anterior=anterior, rules=settings.rules, ultimo_corte=ultimo_corte,
                        sitio=settings.sitio, taken=frozenset(recorded),
                        memo=None if settings.memo is None else settings.memo.render,
                        bitacora=bitacora, antes_de_publicar=registrar,
                        archivos=settings.archivos,
                        antes_de_latest=_registro_publico(
                            engine, key, settings,
                            transparencia.origen(snap.catalog, snap.simulacro)))
    esperadas = sum(r.esperadas for r in publicado.resumenes)
    capturadas = sum(r.capturadas for r in publicado.resumenes)
    contabilizadas = sum(r.contabilizadas for r in publicado.resumenes)
    fuera = sum(r.fuera_catalogo for r in publicado.resumenes)
    seconds = time.perf_counter() - started
    corte_id = registro["id"]
    feed.publicar_indice(settings.publicacion, key)  # issue 30: what difusores follow
    log.info("corte %s publicado en %.2f s", publicado.name, seconds,
             extra=fields(corte=publicado.name))
    return CorteHecho(publicado, corte_id, seconds, snapshot_seconds, esperadas, capturadas,
                      contabilizadas, fuera, snap.releidas)


def _registrar(engine: Engine, snap: Snapshot, publicado: Publicado, preparado: Path,
               motivo: str, actor: str, ultimo_corte: bool, started: float,
               peticion: Peticion | None, fuera_de_ventana: str | None) -> int:
    """The corte's row, its history and audit events, committed; the row's id.
    ``publicado`` names the corte as it will be published; its files are still in the
    hidden directory ``preparado``."""
    esperadas = sum(r.esperadas for r in publicado.resumenes)
    capturadas = sum(r.capturadas for r in publicado.resumenes)
    contabilizadas = sum(r.contabilizadas for r in publicado.resumenes)
    fuera = sum(r.fuera_catalogo for r in publicado.resumenes)
    seconds = time.perf_counter() - started
    with Session(engine) as session, session.begin():
        row = CorteRow(corte_at=snap.corte, directorio=publicado.name,
                       manifiesto_sha256=publicado.manifest_sha256,
                       catalog_version=snap.catalog_version, actas_esperadas=esperadas,
                       actas_capturadas=capturadas, actas_contabilizadas=contabilizadas,
                       fuera_de_catalogo=fuera, imagenes=publicado.imagenes,
                       ultimo=ultimo_corte, motivo=motivo, seconds=seconds)
        session.add(row)
        session.flush()
        # The public log's leaf, in this very transaction (issue 67).
        transparencia.agregar(session, publicado.name, snap.corte, publicado.manifest_sha256)
        snapshot_historial.registrar(
            session, list(snap.primeras) if snap.primeras is not None
            else snapshot_historial.nuevas(snap.historial, snap.estado), row.id)
        snapshot_historial.registrar_correcciones(session, snap.historial, row.id)
        audit.emit(session, "corte_published", actor=actor, detail={
            "corte": publicado.name, "corte_at": snap.corte.isoformat(),
            "manifiesto_sha256": publicado.manifest_sha256, "motivo": motivo,
            "ultimo": ultimo_corte, "catalog_version": snap.catalog_version,
            "actas_esperadas": esperadas, "actas_capturadas": capturadas,
            "actas_contabilizadas": contabilizadas, "fuera_de_catalogo": fuera,
            "imagenes": publicado.imagenes,
            "diferencias": {k: dict(v) for k, v in publicado.diferencias.items()}})
        audit.emit_many(session, "correccion_publicada", actor=actor, details=[
            {"corte": publicado.name, **corregida} for corregida in _corregidas(preparado)])
        ventana.registrar(session, row, peticion, fuera_de_ventana, actor=actor)
        return row.id


def _registro_publico(engine: Engine, key: SigningKey, settings: CorteSettings,
                      origen: str) -> Callable[[], None]:
    """What writes the public log's files once a recorded corte is in place and before
    «latest» moves: a failure fails the corte (audited); the corte stays recorded and in
    its directory, and the next corte writes the log and moves «latest» past it."""
    def escribir() -> None:
        try:
            transparencia.escribir(settings.publicacion, engine, key, origen)
        except (transparencia.RegistroError, OSError, SQLAlchemyError) as exc:
            raise CorteError(f"el corte quedó registrado, pero no se pudo publicar el "
                             f"registro público de cortes ({exc}); «latest» no se movió y el "
                             "siguiente corte lo publicará") from exc
    return escribir


def _segundo_propio(session: Session) -> None:
    """Wait, if needed, until the database's clock is past the second of the last corte:
    each corte publishes its time to the second (line 2, the LEEME, the site), and two
    cortes of one second would claim the same time. The snapshot, taken after this under
    the corte lock, is then of a later second. At most one second's wait."""
    falta = session.execute(text(
        "SELECT extract(epoch FROM date_trunc('second', max(corte_at)) "
        "+ interval '1 second' - clock_timestamp()) FROM cortes")).scalar()
    if falta is not None and float(falta) > 0:
        time.sleep(min(float(falta), 1.0) + 0.001)


def _corregidas(directorio: Path) -> list[dict[str, Any]]:
    """The actas whose corrected data this corte published for the first time (each
    election's ``modificadas`` with a ``correccion`` in its diferencias.json)."""
    data = json.loads((directorio / DIFERENCIAS).read_bytes())
    found: dict[str, dict[str, Any]] = {}
    for eleccion in data.get("elecciones", {}).values():
        for cambio in eleccion.get("modificadas", ()):
            correccion = cambio.get("correccion")
            if correccion is not None:
                found[cambio["clave_acta"]] = {
                    "clave_acta": cambio["clave_acta"], "cotejo": correccion["cotejo"],
                    "campos": correccion["campos"], "motivo": correccion["motivo"]}
    return [found[clave] for clave in sorted(found)]


def _failed(engine: Engine, actor: str, motivo: str, reason: str) -> None:
    log.error("no se publicó el corte: %s", reason)
    metrics.corte_failed()
    try:
        with Session(engine) as session, session.begin():
            audit.emit(session, "corte_failed", actor=actor,
                       detail={"motivo": motivo, "reason": reason[:1000]})
    except Exception:  # the original error matters more; this one is logged
        log.exception("no se pudo registrar en la bitácora el corte fallido")
