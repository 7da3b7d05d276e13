"""``prep central …``: set up, run and administer the central node.

This module only builds the parser (``prep``'s plugin entry point), in one place: each
group of commands is a module of :mod:`central.commands` with its own ``register_…``,
added here in the order ``prep central --help`` lists them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from central.commands.admin import register_admin
from central.commands.audited_builds import register_audited_builds
from central.commands.catd_distritos import register_catd_distritos
from central.commands.catd_estado import register_catd_estado
from central.commands.continuity import register_continuity
from central.commands.difusores import register_difusores
from central.commands.node import register_node
from central.commands.nodos import register_nodos
from central.commands.pipeline import register_pipeline
from central.commands.publication import register_publication
from central.commands.readonly import register_readonly
from central.commands.reports import register_reports
from central.commands.revocaciones import register_revocaciones
from central.commands.selftest import register_selftest
from central.commands.stations import register_stations_admin
from central.node.config import DEFAULT_DATA_DIR
from central.node.config import ENV_DSN
from prep.cli_es import Subcommands


def register(subparsers: Subcommands) -> None:
    """Add the ``central`` command and its subcommands to the ``prep`` parser."""
    central = subparsers.add_parser("central", help="nodo central: alta de equipos y "
                                    "recepción de lotes")
    sub = central.add_subparsers(dest="central_command", required=True, metavar="ACCIÓN")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"directorio de datos del nodo (predeterminado {DEFAULT_DATA_DIR})")
    common.add_argument("--dsn", default=None,
                        help=f"PostgreSQL a usar (también {ENV_DSN}); sin él, uno integrado "
                             "en el directorio de datos")

    register_node(sub, common)  # init, serve, enroll-code, verify-audit
    register_selftest(sub, common)  # issue 10
    register_audited_builds(sub, common)  # issue 10
    register_admin(sub, common)  # operator, catalog, import-casilla, stations
    register_stations_admin(sub, common)  # station disable (issue 36)
    register_readonly(sub, common)  # read-only-user (issue 36)
    register_pipeline(sub, common)  # rebuild-state (issue 4)
    register_catd_distritos(sub, common)  # issue 36
    register_difusores(sub, common)  # issue 30
    register_catd_estado(sub, common)  # issue 29
    register_publication(sub, common)  # corte, ventana, reabrir-publicacion (issue 7)
    register_continuity(sub, common)  # standby, backup (issue 31)
    register_nodos(sub, common)  # the stations' node list (issue 31)
    register_revocaciones(sub, common)  # issue 62
    register_reports(sub, common)  # report (issue 8)
