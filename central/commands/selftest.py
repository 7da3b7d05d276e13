"""``prep central self-test``: the central node's checks after installing it.

The data directory (node key, TLS certificate: ``prep central init``), PostgreSQL (the
configured server, or the embedded one in the data directory) reachable and its schema
at the newest migration, the libraries the node needs, and the build fingerprint.
Report and exit codes: :mod:`prep.selftest`.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from central.db import current_revision
from central.db import database_dsn
from central.db import head_revision
from central.db import make_engine
from central.db.privileges import API_ROLE
from central.node.config import DataDir
from central.node.config import load_identity
from prep.cli_es import Subcommands
from prep.selftest import EXIT_DATA_DIR
from prep.selftest import EXIT_DATABASE
from prep.selftest import EXIT_DEPENDENCIES
from prep.selftest import Check
from prep.selftest import CheckFailed
from prep.selftest import build_check
from prep.selftest import run_checks


def register_selftest(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``self-test`` to ``prep central``."""
    test = sub.add_parser("self-test", parents=[common],
                          help="autoprueba: directorio de datos, PostgreSQL, bibliotecas, "
                               "huella de la compilación")
    test.set_defaults(func=self_test)


def self_test(args: argparse.Namespace) -> int:
    """Run every check of the central node; returns the exit status."""
    data_dir = DataDir(args.data_dir)

    def identity() -> str:
        try:
            found = load_identity(data_dir)
        except (OSError, ValueError) as exc:
            raise CheckFailed(str(exc)) from exc
        return f"nodo {found.node} en {data_dir.root}; certificado TLS {found.cert_sha256}"

    def database() -> str:
        try:
            with ExitStack() as stack:
                dsn = stack.enter_context(database_dsn(args.dsn, data_dir.pgdata))
                engine = make_engine(dsn, pool_size=1)
                stack.callback(engine.dispose)
                with engine.connect() as connection:
                    version = connection.execute(text("SHOW server_version")).scalar_one()
                cannot_serve = api_role_problem(dsn)
                try:
                    current, head = current_revision(engine), head_revision()
                except SQLAlchemyError:
                    if cannot_serve:  # a login that cannot even read the schema
                        raise CheckFailed(cannot_serve) from None
                    raise
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise CheckFailed(f"PostgreSQL no responde: {reason}") from exc
        if current != head:
            raise CheckFailed(f"PostgreSQL {version} responde, pero el esquema está en la "
                              f"versión {current or 'ninguna'} y debe estar en {head}: "
                              "ejecute «prep central init»")
        if cannot_serve:
            raise CheckFailed(cannot_serve)
        return (f"PostgreSQL {version} responde; esquema en la versión {head}; serve "
                f"atenderá como {API_ROLE}")

    def api_role_problem(dsn: str) -> str | None:
        """Why serve, given this DSN, could not serve as prep_api (docs/seguridad.md)."""
        engine = make_engine(dsn, pool_size=1, role=API_ROLE)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            return (f"«prep central serve» no podrá atender: el usuario del DSN no puede "
                    f"tomar el rol {API_ROLE} ({reason}). Un administrador de PostgreSQL "
                    f"debe darle el rol (GRANT {API_ROLE} TO usuario): docs/seguridad.md, "
                    "«Roles de PostgreSQL»")
        finally:
            engine.dispose()
        return None

    def libraries() -> str:
        import aiohttp
        import cryptography
        import psycopg
        import reportlab

        return (f"aiohttp {aiohttp.__version__}, psycopg {psycopg.__version__}, "
                f"cryptography {cryptography.__version__}, reportlab {reportlab.Version}")

    def corte_writer() -> str:
        """The process a corte writes its files with starts and writes (its command
        differs in the installed bundle: central.publication.escritor)."""
        import hashlib
        import tempfile
        from pathlib import Path

        from central.publication.escritor import Escritor

        datos = b"prep central self-test\n"
        with tempfile.TemporaryDirectory(prefix=".self-test-corte-") as carpeta:
            try:
                escritor = Escritor(Path(carpeta), 64 * 1024)
            except OSError as exc:
                raise CheckFailed(f"no se pudo iniciar el proceso que escribe los cortes: "
                                  f"{exc}") from exc
            try:
                escritor.put("sitio/prueba.js", datos)
                escritor.close()
            except OSError as exc:
                escritor.kill()
                raise CheckFailed(f"el proceso que escribe los cortes falló: {exc}") from exc
            escrito = (Path(carpeta) / "sitio/prueba.js").read_bytes()
        if escrito != datos or escritor.digests.get("sitio/prueba.js") != \
                hashlib.sha256(datos).hexdigest():
            raise CheckFailed("el proceso que escribe los cortes escribió otra cosa")
        return "el proceso que escribe los archivos de cada corte inicia y escribe"

    return run_checks("PREP nodo central", [
        build_check(),
        Check("Directorio de datos", EXIT_DATA_DIR, identity),
        Check("Base de datos", EXIT_DATABASE, database),
        Check("Bibliotecas del nodo", EXIT_DEPENDENCIES, libraries),
        Check("Escritura de cortes", EXIT_DEPENDENCIES, corte_writer),
    ])
