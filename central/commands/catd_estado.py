"""``prep central catd-estado ocultar|mostrar --catd NN --motivo «…»`` (issue 29): stop
publishing, or publish again, whether a CATD is online in AVANCE_CATD.csv and on the
site, from the next corte on. Each change is a row of ``catd_estado_oculto`` (revision
0017), which the corte's snapshot reads (:mod:`central.publication.snapshot_salud_catd`),
and an audit event with its reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.audit import audit
from central.commands.common import database_errors
from central.commands.common import open_engine
from central.db.publicacion import CatdEstadoOculto
from central.node.config import DataDir
from central.stations.coordinator_login import add_login_options
from central.stations.coordinator_login import require_coordinator
from central.stations.enrollment import MAX_CATD
from prep.cli_es import Subcommands
from prep.corte.salud_catd import CCV

MAX_MOTIVO = 300


def sitio_de(catd: str) -> str:
    """``7``, ``07`` → ``07``; ``ccv`` → ``CCV``; anything else: ValueError (Spanish)."""
    texto = catd.strip()
    if texto.upper() == CCV:
        return CCV
    if texto.isdigit() and 1 <= int(texto) <= MAX_CATD:
        return f"{int(texto):02d}"
    raise ValueError(f"--catd debe ser un número de CATD de 1 a {MAX_CATD} o {CCV}: "
                     f"{catd!r}")


def _motivo(motivo: str) -> str:
    texto = " ".join(motivo.split())
    if not texto:
        raise ValueError("indique el motivo (--motivo «…»): queda en la auditoría")
    if len(texto) > MAX_MOTIVO:
        raise ValueError(f"el motivo excede {MAX_MOTIVO} caracteres")
    return texto


def ocultar(engine: Engine, catd: str, motivo: str, *, actor: str) -> list[str]:
    """Stop publishing ``catd``'s online status from the next corte on (audited with
    ``motivo``); return the sitios hidden now."""
    sitio, texto = sitio_de(catd), _motivo(motivo)
    with Session(engine) as session, session.begin():
        upsert = insert(CatdEstadoOculto).values(
            sitio=sitio, motivo=texto, ocultado_por=actor, ocultado_at=datetime.now(UTC))
        session.execute(upsert.on_conflict_do_update(
            index_elements=[CatdEstadoOculto.sitio],
            set_={"motivo": upsert.excluded.motivo,
                  "ocultado_por": upsert.excluded.ocultado_por,
                  "ocultado_at": upsert.excluded.ocultado_at}))
        audit.emit(session, "catd_estado_ocultado", actor=actor,
                   detail={"catd": sitio, "motivo": texto})
        return _ocultos(session)


def mostrar(engine: Engine, catd: str, motivo: str, *, actor: str) -> list[str]:
    """Publish ``catd``'s online status again from the next corte on (audited)."""
    sitio, texto = sitio_de(catd), _motivo(motivo)
    with Session(engine) as session, session.begin():
        gone = session.execute(delete(CatdEstadoOculto).where(
            CatdEstadoOculto.sitio == sitio).returning(CatdEstadoOculto.sitio)).first()
        audit.emit(session, "catd_estado_mostrado", actor=actor,
                   detail={"catd": sitio, "motivo": texto, "estaba_oculto": gone is not None})
        return _ocultos(session)


def _ocultos(session: Session) -> list[str]:
    return sorted(session.scalars(select(CatdEstadoOculto.sitio)))


def register_catd_estado(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``catd-estado ocultar|mostrar`` to ``prep central``."""
    command = sub.add_parser(
        "catd-estado", parents=[common],
        help="oculta o vuelve a mostrar en la publicación si un CATD está en línea "
             "(con motivo, queda en la auditoría)")
    command.add_argument("accion", choices=("ocultar", "mostrar"))
    command.add_argument("--catd", required=True, metavar="NN",
                         help=f"número del CATD (1 a {MAX_CATD}) o {CCV}")
    command.add_argument("--motivo", required=True,
                         help="por qué (obligatorio; queda en la bitácora de auditoría)")
    add_login_options(command)
    command.set_defaults(func=_command)


def _command(args: argparse.Namespace) -> int:
    def run(args: argparse.Namespace) -> int:
        with open_engine(args, DataDir(args.data_dir)) as engine:
            cambiar = ocultar if args.accion == "ocultar" else mostrar
            try:
                actor = require_coordinator(engine, args)
                ocultos = cambiar(engine, args.catd, args.motivo, actor=actor)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        print(json.dumps({"ocultos": ocultos}), flush=True)
        return 0
    return database_errors(run)(args)
