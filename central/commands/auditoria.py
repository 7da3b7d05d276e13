"""``prep auditoria evidencia --out DIR``: the central's signed evidence package for the
auditor (:mod:`central.audit.evidencia`); registered under ``prep auditoria`` by
:mod:`prep.auditoria.cli`, next to ``verificar``."""

from __future__ import annotations

import argparse
from pathlib import Path

from central.audit.evidencia import Fuentes
from central.audit.evidencia import write_evidencia
from central.commands.common import subcommand
from central.commands.common import technician_actor
from central.db import database_dsn
from central.db import make_engine
from central.node.config import DEFAULT_DATA_DIR
from central.node.config import ENV_DSN
from central.node.config import DataDir
from central.node.config import load_identity
from prep.cli_es import Subcommands
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet


def register_evidencia(actions: Subcommands) -> None:
    """Add ``evidencia`` to ``prep auditoria``."""
    evidencia = subcommand(actions, "evidencia", _evidencia,
                           help="en el nodo central: escribe el paquete de evidencia firmado "
                                "(compilación, estaciones, bitácora, cortes, puesta en ceros, "
                                "anomalías, catálogo, configuración sin secretos)")
    evidencia.add_argument("--out", type=Path, required=True, metavar="DIR",
                           help="directorio nuevo (o vacío) donde escribir el paquete")
    evidencia.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                           help=f"directorio de datos del nodo (predeterminado "
                                f"{DEFAULT_DATA_DIR})")
    evidencia.add_argument("--dsn", default=None,
                           help=f"PostgreSQL a usar (también {ENV_DSN}); sin él, el "
                                "integrado en el directorio de datos")
    evidencia.add_argument("--publicacion", type=Path, default=None, metavar="DIR",
                           help="directorio de publicación de los cortes (predeterminado "
                                "<data-dir>/publicacion)")
    evidencia.add_argument("--ceros", type=Path, default=None, metavar="PDF",
                           help="la constancia de puesta en ceros (PDF, con sus .json y "
                                ".sig); predeterminada la ruta que registró la bitácora")
    evidencia.add_argument("--reglas", type=Path, default=None,
                           help="reglas de publicación (reglas.toml) con que se hicieron "
                                "los cortes, si no son las predeterminadas")


def _evidencia(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    identity = load_identity(data_dir)
    rules = RuleSet.from_toml(args.reglas) if args.reglas else DEFAULT_RULES
    publicacion = args.publicacion or data_dir.root / "publicacion"
    with database_dsn(args.dsn, data_dir.pgdata) as dsn:
        engine = make_engine(dsn, pool_size=2)
        try:
            done = write_evidencia(engine, identity, data_dir, args.out, Fuentes(
                publicacion, args.ceros, rules, args.reglas, dsn), technician_actor())
        finally:
            engine.dispose()
    huella = identity.key.public.fingerprint()
    print(f"Paquete de evidencia escrito en {done.directorio} ({done.archivos} archivos, "
          f"índice firmado SHA-256 {done.indice_sha256}).\n"
          f"  compilación del nodo central: {done.compilacion} "
          f"({done.resultado_compilacion})\n"
          f"  estaciones con compilación no auditada: {done.estaciones_no_auditadas}\n"
          f"  bitácora: {done.eventos} eventos, "
          f"{'íntegra' if done.bitacora_integra else 'ALTERADA'}\n"
          f"  cortes: {done.cortes}, no válidos: {done.cortes_no_validos}\n"
          f"  constancia de puesta en ceros: {'incluida' if done.ceros else 'no incluida'}\n"
          f"Verifíquelo con: prep auditoria verificar {done.directorio} --huella {huella}")
    return 0
