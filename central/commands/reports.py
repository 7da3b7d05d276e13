"""``prep central report progreso|final|puesta-en-ceros --out FILE``.

Each report reads the database with the central's own connection in one snapshot and
is recorded in the audit log with the SHA-256 of what was written.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from central.audit import audit
from central.commands.common import database_errors
from central.commands.common import technician_actor
from central.controlroom.overview import Settings
from central.controlroom.overview import read_overview
from central.controlroom.reports.ceros import Identity
from central.controlroom.reports.ceros import NotZero
from central.controlroom.reports.ceros import certify
from central.controlroom.reports.progreso import write_final
from central.controlroom.reports.progreso import write_progreso
from central.db import database_dsn
from central.db import make_engine
from central.node.config import DataDir
from central.node.config import load_identity
from prep.cli_es import Subcommands

KINDS = ("progreso", "final", "puesta-en-ceros")


def register_reports(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``report`` to ``prep central``."""
    report = sub.add_parser("report", parents=[common],
                            help="informes PDF: avance por CATD, informe final, constancia "
                                 "de puesta en ceros")
    report.add_argument("kind", choices=KINDS, metavar="|".join(KINDS))
    report.add_argument("--out", type=Path, required=True, help="archivo PDF a escribir")
    report.add_argument("--rezago-puntos", type=float, default=10.0,
                        help="puntos bajo el promedio estatal que marcan un CATD rezagado")
    report.set_defaults(func=database_errors(_report))


def _report(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() != ".pdf":
        raise ValueError("--out debe ser un archivo .pdf")
    data_dir = DataDir(args.data_dir)
    actor = technician_actor()
    with database_dsn(args.dsn, data_dir.pgdata) as dsn:
        with psycopg.connect(dsn) as conn:
            outcome = _write(args, conn, data_dir)
        if outcome is None:
            return 1
        event, detail, message = outcome
        engine = make_engine(dsn, pool_size=1)
        try:
            with Session(engine) as session, session.begin():
                # Literal event names: the audit catalog test reads them from the source.
                if event == "puesta_en_ceros_certified":
                    audit.emit(session, "puesta_en_ceros_certified", actor=actor,
                               detail=detail)
                else:
                    audit.emit(session, "report_generated", actor=actor, detail=detail)
        finally:
            engine.dispose()
    print(message, file=sys.stderr)
    return 0


def _write(args: argparse.Namespace, conn: psycopg.Connection[Any], data_dir: DataDir
           ) -> tuple[str, dict[str, Any], str] | None:
    """Write the report; (audit event, its detail, message), or None if refused."""
    if args.kind == "puesta-en-ceros":
        identity = load_identity(data_dir)
        try:
            cert = certify(conn, Identity(identity.node, identity.key,
                                          identity.cert_sha256), args.out)
        except NotZero as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
        event, detail = "puesta_en_ceros_certified", {
            "file": str(args.out), "statement_sha256": cert.statement_sha256,
            "signature": cert.signature, "pdf_sha256": cert.pdf_sha256,
            "central_key_sha256": identity.key.public.fingerprint()}
        message = (f"Constancia de puesta en ceros escrita en {args.out} (firma en "
                   f"{args.out.name}.sig, declaración en {args.out.name}.json).")
    else:
        overview = read_overview(conn, Settings(rezago_puntos=args.rezago_puntos))
        writer = write_progreso if args.kind == "progreso" else write_final
        writer(overview, args.out)
        event, detail = "report_generated", {
            "kind": args.kind, "file": str(args.out),
            "sha256": hashlib.sha256(args.out.read_bytes()).hexdigest(),
            "taken_at": overview.taken_at.isoformat()}
        message = f"Informe {args.kind} escrito en {args.out}."
    return event, detail, message
