"""Audited builds: which software the stations are allowed to run, provably.

The institute audits one build of the programs (``installer/``) and registers its
fingerprint (``prep/build_info.py``) with ``prep central audited-build add FINGERPRINT
--nombre …``. Every heartbeat carries the fingerprint the station computed from its own
files at start; :func:`check_station_build` (called by ingest, inside the batch's
transaction) raises an ``unaudited_build`` anomaly when it is not in the list: once per
station and fingerprint, not on every heartbeat. Adding, listing and removing are in the
audit log (``audited_build_added``, ``audited_build_removed``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, delete, exists, select
from sqlalchemy.orm import Session

from central import audit
from central.anomalies import add_anomaly
from central.cli import _database_errors, _engine, _operator
from central.config import DataDir
from central.db.models import Anomaly, AuditedBuild
from prep.build_info import LABEL, LABEL_MAX
from prep.records import format_time

ANOMALY = "unaudited_build"
NOMBRE_MAX = 200


class AuditedBuildError(ValueError):
    """Bad input for the audited list (Spanish message)."""


def normalize(fingerprint: str) -> str:
    """The fingerprint as stored and compared (lowercase); refuses anything that is not
    one (64 hexadecimal digits, ``desarrollo:`` in front for a source checkout)."""
    value = fingerprint.strip().lower()
    if len(value) > LABEL_MAX or not LABEL.fullmatch(value):
        raise AuditedBuildError(
            "la huella debe ser el SHA-256 de la compilación: 64 dígitos hexadecimales "
            "(la imprime «--self-test» del programa instalado)")
    return value


def add_build(engine: Engine, fingerprint: str, nombre: str, actor: str) -> bool:
    """Register an audited fingerprint; ``False`` when it already was (nothing changes)."""
    value = normalize(fingerprint)
    nombre = nombre.strip()
    if not nombre or len(nombre) > NOMBRE_MAX:
        raise AuditedBuildError(f"el nombre es obligatorio y de hasta {NOMBRE_MAX} caracteres")
    with Session(engine) as session, session.begin():
        if session.get(AuditedBuild, value) is not None:
            return False
        session.add(AuditedBuild(fingerprint=value, nombre=nombre, added_by=actor))
        audit.emit(session, "audited_build_added", actor=actor,
                   detail={"fingerprint": value, "nombre": nombre})
    return True


def remove_build(engine: Engine, fingerprint: str, actor: str) -> bool:
    """Withdraw a fingerprint from the list; ``False`` when it was not in it."""
    value = normalize(fingerprint)
    with Session(engine) as session, session.begin():
        row = session.get(AuditedBuild, value)
        if row is None:
            return False
        nombre = row.nombre
        session.execute(delete(AuditedBuild).where(AuditedBuild.fingerprint == value))
        audit.emit(session, "audited_build_removed", actor=actor,
                   detail={"fingerprint": value, "nombre": nombre})
    return True


def list_builds(engine: Engine) -> list[dict[str, Any]]:
    """The audited list, oldest first (JSON-ready)."""
    with Session(engine) as session:
        rows = session.scalars(select(AuditedBuild).order_by(AuditedBuild.added_at,
                                                             AuditedBuild.fingerprint))
        return [{"fingerprint": r.fingerprint, "nombre": r.nombre, "added_by": r.added_by,
                 "added_at": format_time(r.added_at)} for r in rows]


def check_station_build(session: Session, station: str, build: str | None) -> None:
    """Raise the ``unaudited_build`` anomaly for ``station`` running ``build`` (``None``:
    software too old to report one) unless it is audited or was already flagged."""
    label = build if build is not None else "sin huella"
    if build is not None and session.get(AuditedBuild, build) is not None:
        return
    flagged = session.scalar(select(exists().where(
        Anomaly.type == ANOMALY, Anomaly.station == station,
        Anomaly.detail["build"].astext == label)))
    if not flagged:
        add_anomaly(session, ANOMALY, station, {"build": label})


def register_audited_builds(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                            common: argparse.ArgumentParser) -> None:
    """Add ``audited-build add|list|remove`` to ``prep central``."""
    parser = sub.add_parser("audited-build", help="huellas de las compilaciones auditadas "
                            "(las estaciones con otra levantan una anomalía)")
    actions = parser.add_subparsers(dest="audited_build_command", required=True,
                                    metavar="ACCIÓN")
    add = actions.add_parser("add", parents=[common], help="registra una huella auditada")
    add.add_argument("fingerprint", metavar="HUELLA")
    add.add_argument("--nombre", required=True,
                     help="qué compilación es (p. ej. «PREP 1.0.0, auditoría 2027-05»)")
    add.set_defaults(func=_command(_add))
    listing = actions.add_parser("list", parents=[common], help="lista las huellas (JSON)")
    listing.set_defaults(func=_command(_list))
    remove = actions.add_parser("remove", parents=[common], help="retira una huella")
    remove.add_argument("fingerprint", metavar="HUELLA")
    remove.set_defaults(func=_command(_remove))


def _command(action: Callable[[argparse.Namespace], int]
             ) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return action(args)
        except AuditedBuildError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return _database_errors(run)


def _add(args: argparse.Namespace) -> int:
    with _engine(args, DataDir(args.data_dir)) as engine:
        added = add_build(engine, args.fingerprint, args.nombre, _operator())
    print(f"Huella {normalize(args.fingerprint)} "
          f"{'registrada como auditada' if added else 'ya estaba registrada'}.")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _engine(args, DataDir(args.data_dir)) as engine:
        print(json.dumps(list_builds(engine), ensure_ascii=False, indent=2))
    return 0


def _remove(args: argparse.Namespace) -> int:
    with _engine(args, DataDir(args.data_dir)) as engine:
        removed = remove_build(engine, args.fingerprint, _operator())
    if not removed:
        print(f"error: la huella {normalize(args.fingerprint)} no está en la lista",
              file=sys.stderr)
        return 1
    print(f"Huella {normalize(args.fingerprint)} retirada de la lista de auditadas.")
    return 0
