"""``prep central …``: set up, run and administer the central node.

This module only builds the parser (``prep``'s plugin entry point): each group of
commands is a module of :mod:`central.commands` (or, for cortes and reports, of
:mod:`central.publication` and :mod:`central.reports`) with its own ``register_…``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from central.commands.admin import register_admin
from central.commands.audited_builds import register_audited_builds
from central.commands.catd_distritos import register_catd_distritos
from central.commands.difusores import register_difusores
from central.commands.node import register_node
from central.commands.pipeline import register_pipeline
from central.commands.readonly import register_readonly
from central.commands.stations import register_stations_admin
from central.config import DEFAULT_DATA_DIR
from central.config import ENV_DSN
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
    from central.selftest import self_test  # issue 10

    test = sub.add_parser("self-test", parents=[common],
                          help="autoprueba: directorio de datos, PostgreSQL, bibliotecas, "
                               "huella de la compilación")
    test.set_defaults(func=self_test)
    register_audited_builds(sub, common)  # issue 10
    register_admin(sub, common)  # operator, catalog, import-casilla, stations
    register_stations_admin(sub, common)  # station disable (issue 36)
    register_readonly(sub, common)  # read-only-user (issue 36)
    register_pipeline(sub, common)  # rebuild-state (issue 4)
    register_catd_distritos(sub, common)  # issue 36
    register_difusores(sub, common)  # issue 30
    from central.commands.catd_estado import register_catd_estado  # issue 29

    register_catd_estado(sub, common)
    from central.publication.comandos import register as register_corte  # issue 7

    register_corte(sub, common)  # corte, ventana, reabrir-publicacion
    from central.commands.continuity import register_continuity  # standby, backup (31)

    register_continuity(sub, common)
    from central.commands.nodos import register_nodos  # the stations' node list (31)

    register_nodos(sub, common)
    from central.commands.revocaciones import register_revocaciones  # issue 62

    register_revocaciones(sub, common)
    from central.reports.cli import register_reports  # report (issue 8)

    register_reports(sub, common)
