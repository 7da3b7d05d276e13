"""``prep central standby …`` and ``prep central promote``: a hot standby of the central's
PostgreSQL, its synchronous or asynchronous mode, and its promotion
(:mod:`central.continuity.replication`, docs/continuidad.md).

On the standby's machine::

    prep central standby init --data-dir D2 --primario-datos D1   # or --primario DSN
    prep central standby run --data-dir D2        # keeps the standby's PostgreSQL up

On the primary's::

    prep central standby sincrono --data-dir D1   # every receipt waits for the standby
    prep central standby asincrono --data-dir D1 --motivo "…"   # the standby is down
    prep central standby estado --data-dir D1

When the primary is lost::

    prep central promote --data-dir D2 --motivo "…"
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from central.audit import ancla
from central.audit import audit
from central.commands.common import refusing
from central.commands.common import technician_actor as _operator
from central.continuity import backup as respaldo
from central.continuity import replication
from central.continuity.replication import STANDBY_NAME
from central.continuity.replication import ContinuityError
from central.db import database_dsn
from central.db import make_engine
from central.db.blobs import BlobStore
from central.db.blobs import reconcile
from central.db.engine import configured_dsn
from central.node.config import DataDir
from prep.cli_es import Subcommands
from prep.corte.anexo import TZ

#: How often ``backup --continuo`` copies the images that arrived since.
BLOB_COPY_SECONDS = 30


def register_continuity(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``standby`` and ``promote`` to ``prep central``."""
    standby = sub.add_parser("standby", help="standby en caliente del PostgreSQL central "
                                             "(replicación en flujo, docs/continuidad.md)")
    actions = standby.add_subparsers(dest="standby_command", required=True, metavar="ACCIÓN")
    name = argparse.ArgumentParser(add_help=False)
    name.add_argument("--nombre", default=STANDBY_NAME,
                      help=f"nombre del standby en el primario (predeterminado {STANDBY_NAME})")

    init = actions.add_parser("init", parents=[common, name],
                              help="hace de --data-dir un standby del primario "
                                   "(pg_basebackup) con la identidad del nodo central")
    origin = init.add_mutually_exclusive_group(required=True)
    origin.add_argument("--primario-datos", type=Path, metavar="DIR",
                        help="directorio de datos del primario en esta máquina (PostgreSQL "
                             "integrado); de ahí se copia también la identidad")
    origin.add_argument("--primario", metavar="DSN",
                        help="conexión de replicación al PostgreSQL primario de la "
                             "institución (la identidad se instala antes a mano, 0600)")
    init.set_defaults(func=_errors(_init))

    run = actions.add_parser("run", parents=[common],
                             help="mantiene en marcha el PostgreSQL del standby (hasta "
                                  "SIGTERM o Ctrl+C)")
    run.set_defaults(func=_errors(_run))

    sync = actions.add_parser("sincrono", parents=[common, name],
                              help="en el primario: cada confirmación (y cada acuse de "
                                   "lote) espera a que el standby la tenga")
    sync.set_defaults(func=_errors(_sincrono))

    async_ = actions.add_parser("asincrono", parents=[common],
                                help="en el primario: seguir sin esperar al standby "
                                     "(decisión auditada)")
    async_.add_argument("--motivo", required=True,
                        help="por qué se sigue sin standby síncrono (queda en la bitácora)")
    async_.set_defaults(func=_errors(_asincrono))

    state = actions.add_parser("estado", parents=[common],
                               help="primario o standby, línea de tiempo, modo y standbys "
                                    "conectados (JSON)")
    state.set_defaults(func=_errors(_estado))

    backup = sub.add_parser("backup", parents=[common],
                            help="copia base (pg_basebackup) con identidad e imágenes; con "
                                 "--continuo, además el WAL al segundo (pg_receivewal)")
    backup.add_argument("--destino", type=Path, required=True, metavar="DIR",
                        help="directorio del respaldo (guárdelo como el del nodo: lleva su "
                             "llave)")
    backup.add_argument("--continuo", action="store_true",
                        help="después de la copia base, recibir el WAL y copiar imágenes "
                             "nuevas y la copia de la bitácora (ancla) hasta SIGTERM o "
                             "Ctrl+C")
    backup.add_argument("--cada", type=float, default=BLOB_COPY_SECONDS, metavar="S",
                        help="con --continuo, cada cuántos segundos se copian las imágenes "
                             f"nuevas y el ancla (predeterminado {BLOB_COPY_SECONDS:g})")
    backup.set_defaults(func=_errors(_backup))

    restore = sub.add_parser("restore", parents=[common],
                             help="un nodo central nuevo desde un respaldo, al momento "
                                  "--hasta (o al final del respaldo)")
    restore.add_argument("--respaldo", type=Path, required=True, metavar="DIR")
    restore.add_argument("--hasta", type=_moment, default=None, metavar="FECHA_HORA",
                         help="AAAA-MM-DDTHH:MM[:SS] (hora del centro de México si no lleva "
                              "zona)")
    restore.add_argument("--ancla", type=Path, action="append", default=[], metavar="DIR",
                         help="otra copia de la bitácora fuera de la base de datos (el "
                              "directorio «ancla» del nodo perdido, si su disco se salvó); "
                              "se puede repetir")
    restore.set_defaults(func=_errors(_restore))

    promote = sub.add_parser("promote", parents=[common],
                             help="convierte el standby en primario (el primario se perdió)")
    promote.add_argument("--motivo", required=True,
                         help="por qué se promueve (queda en la bitácora)")
    promote.set_defaults(func=_errors(_promote))


def _errors(command: Callable[[argparse.Namespace], int]
            ) -> Callable[[argparse.Namespace], int]:
    """Database failures as one line and replication refusals with their Spanish
    message, exit 1."""
    return refusing(ContinuityError, 1, command)


def _init(args: argparse.Namespace) -> int:
    standby = DataDir(args.data_dir)
    if args.primario_datos is not None:
        primary = DataDir(args.primario_datos)
        conninfo = replication.embedded_conninfo(primary, args.nombre)
    else:
        primary, conninfo = None, args.primario
    replication.init_standby(conninfo, primary, standby, name=args.nombre)
    print(f"Standby «{args.nombre}» listo en {standby.root}. Siguientes pasos: «prep central "
          f"standby run --data-dir {standby.root}» en esta máquina y, en el primario, "
          "«prep central standby sincrono» para que cada acuse espere al standby.",
          file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with database_dsn(args.dsn, DataDir(args.data_dir).pgdata) as dsn:
        state = replication.status(dsn)
        if not state.standby:
            print("aviso: este PostgreSQL ya es primario (fue promovido); «prep central "
                  "serve» es quien lo usa ahora", file=sys.stderr)
        print(json.dumps(_as_json(state)), flush=True)
        stop.wait()
    return 0


def _sincrono(args: argparse.Namespace) -> int:
    with database_dsn(args.dsn, DataDir(args.data_dir).pgdata) as dsn:
        _require_primary(dsn)
        replica = replication.wait_streaming(dsn, args.nombre)
        # Written first: once synchronous, a write waits for the standby.
        with _audit_session(dsn) as session:
            audit.emit(session, "replication_synchronous", actor=_operator(),
                       detail={"standby": replica.name})
        replication.set_mode(dsn, sincrono=True, name=args.nombre)
        print(json.dumps(_as_json(replication.status(dsn))), flush=True)
    return 0


def _asincrono(args: argparse.Namespace) -> int:
    motivo = _motivo(args.motivo)
    with database_dsn(args.dsn, DataDir(args.data_dir).pgdata) as dsn:
        _require_primary(dsn)
        before = replication.status(dsn)
        # Released first: a write waiting for an absent standby (this audit row too)
        # would never return.
        replication.set_mode(dsn, sincrono=False)
        with _audit_session(dsn) as session:
            audit.emit(session, "replication_asynchronous", actor=_operator(),
                       detail={"motivo": motivo, "estaba": before.synchronous_standby_names,
                               "standbys": [r.name for r in before.replicas]})
        print(json.dumps(_as_json(replication.status(dsn))), flush=True)
    return 0


def _estado(args: argparse.Namespace) -> int:
    with database_dsn(args.dsn, DataDir(args.data_dir).pgdata) as dsn:
        print(json.dumps(_as_json(replication.status(dsn)), indent=2), flush=True)
    return 0


def _promote(args: argparse.Namespace) -> int:
    motivo = _motivo(args.motivo)
    with database_dsn(args.dsn, DataDir(args.data_dir).pgdata) as dsn:
        timeline = replication.promote(dsn)
        with _audit_session(dsn) as session:
            audit.emit(session, "central_promoted", actor=_operator(),
                       detail={"motivo": motivo, "timeline": timeline})
        images = _reconcile(dsn, DataDir(args.data_dir))
        print(json.dumps({**_as_json(replication.status(dsn)),
                          "imagenes_restituidas": images}), flush=True)
    print(f"Este nodo es ahora el primario (línea de tiempo {timeline}). Arranque «prep "
          f"central serve --data-dir {args.data_dir}»; el primario anterior no debe volver a "
          "atender: rehágalo como standby de este (docs/continuidad.md).", file=sys.stderr)
    return 0


def _backup(args: argparse.Namespace) -> int:
    source, copy = DataDir(args.data_dir), respaldo.BackupDir(args.destino)
    if configured_dsn(args.dsn) is not None:
        raise ContinuityError("el respaldo con --dsn lo hace la institución con las "
                              "herramientas de su PostgreSQL (docs/continuidad.md); esta "
                              "orden respalda el PostgreSQL integrado")
    conninfo = respaldo.embedded_replication(source)
    receiver = respaldo.receive_wal(conninfo, copy) if args.continuo else None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        taken = respaldo.base_backup(conninfo, source, copy)
        print(json.dumps({"copia_base": str(taken.path), "inicio": taken.started_at.isoformat(),
                          "segundos": round(taken.seconds, 2), "bytes": taken.bytes,
                          "imagenes_copiadas": taken.blobs_copied,
                          "wal_continuo": receiver is not None}), flush=True)
        if not 0 < args.cada <= 3600:
            raise ContinuityError("--cada debe ser de más de 0 y hasta 3600 segundos")
        while receiver is not None and not stop.wait(args.cada):
            if receiver.poll() is not None:
                raise ContinuityError(f"pg_receivewal terminó (código {receiver.returncode}); "
                                      f"vea {copy.root / 'pg_receivewal.log'}")
            respaldo.copy_blobs(source.blobs, copy.blobs)
            respaldo.copy_ancla(source.ancla, copy.ancla)
        if receiver is not None:
            respaldo.copy_blobs(source.blobs, copy.blobs)
            respaldo.copy_ancla(source.ancla, copy.ancla)
    finally:
        if receiver is not None and receiver.poll() is None:
            receiver.send_signal(signal.SIGTERM)
            receiver.wait(30)
    return 0


def _restore(args: argparse.Namespace) -> int:
    target = DataDir(args.data_dir)
    base = respaldo.restore(respaldo.BackupDir(args.respaldo), target, args.hasta,
                            args.ancla)
    with database_dsn(None, target.pgdata) as dsn:
        with _audit_session(dsn) as session:
            audit.emit(session, "central_restored", actor=_operator(),
                       detail={"copia_base": base.name,
                               "hasta": None if args.hasta is None else args.hasta.isoformat()})
            # What the copy of the chain outside the database says was revoked after
            # the restored point (issue 62): listed now, and serve refuses until then.
            pendientes = ancla.pendientes(session, target.ancla)
            if pendientes:
                audit.emit(session, "revocaciones_pendientes", actor=_operator(), detail={
                    "origen": "restore", "total": len(pendientes),
                    "revocaciones": [r.to_json() for r in pendientes[:50]]})
        images = _reconcile(dsn, target)
    print(json.dumps({"copia_base": base.name, "hasta": args.hasta and args.hasta.isoformat(),
                      "data_dir": str(target.root), "imagenes_restituidas": images,
                      "revocaciones_pendientes": [r.to_json() for r in pendientes]}),
          flush=True)
    print("Nodo restaurado. Al arrancar «prep central serve» con este directorio, cada "
          "equipo reenvía lo que el nodo ya no tenga (docs/continuidad.md).", file=sys.stderr)
    if pendientes:
        print(ancla.aviso(pendientes, target.root), file=sys.stderr)
    return 0


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» no es una fecha y hora "
                                         "AAAA-MM-DDTHH:MM") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=TZ)


def _reconcile(dsn: str, data_dir: DataDir) -> int:
    """Write back the images the database holds and the disk lacks; how many."""
    engine = make_engine(dsn, pool_size=1)
    try:
        return reconcile(engine, BlobStore(data_dir.blobs, engine=engine)).files_written
    finally:
        engine.dispose()


def _motivo(text: str) -> str:
    """The coordinator's reason on one line; refused if it says nothing."""
    motivo = " ".join(text.split())
    if len(motivo) < 5:
        raise ContinuityError("escriba el motivo (al menos unas palabras): queda en la "
                              "bitácora")
    return motivo


def _require_primary(dsn: str) -> None:
    if replication.status(dsn).standby:
        raise ContinuityError("este PostgreSQL es un standby; la orden es para el primario "
                              "(use su --data-dir o --dsn)")


@contextmanager
def _audit_session(dsn: str) -> Iterator[Session]:
    """A session whose transaction commits the audit rows written in it."""
    engine = make_engine(dsn, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            yield session
    finally:
        engine.dispose()


def _as_json(state: replication.Status) -> dict[str, object]:
    return {"rol": "standby" if state.standby else "primario", "timeline": state.timeline,
            "modo": state.modo, "synchronous_standby_names": state.synchronous_standby_names,
            "standbys": [{"nombre": r.name, "estado": r.state, "sincronia": r.sync_state,
                          "retraso_s": r.flush_lag_s} for r in state.replicas]}
