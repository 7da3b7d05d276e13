"""``prep auditoria verificar|evidencia``: the auditor's kit (docs/auditoria.md).

``verificar`` needs only ``prep``; ``evidencia`` runs on the central and is added when
the central is installed, loaded by name like ``prep``'s other programs (prep never
imports the central statically).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prep.cli_es import Subcommands
from prep.plugins import optional_module

_CENTRAL = "central.commands.auditoria"


def register(subparsers: Subcommands) -> None:
    """Add ``auditoria`` and its actions to the ``prep`` parser."""
    parser = subparsers.add_parser("auditoria", help="kit del auditor: paquete de evidencia "
                                   "firmado del nodo central y su verificación")
    actions = parser.add_subparsers(dest="auditoria_command", required=True,
                                    metavar="ACCIÓN")
    check = actions.add_parser("verificar", help="verifica un paquete de evidencia en "
                               "cualquier equipo: firma, huellas, bitácora, compilación, "
                               "cortes, puesta en ceros y catálogo")
    check.add_argument("directory", type=Path, metavar="DIR")
    check.add_argument("--huella", default=None,
                       help="SHA-256 esperado de la llave pública del nodo central (lo "
                            "publica el instituto); sin él solo se prueba que el paquete "
                            "no cambió desde que se firmó")
    check.add_argument("--publicacion", type=Path, default=None, metavar="DIR",
                       help="copia del directorio de publicación: verifica también cada "
                            "corte publicado (verify-corte) contra el paquete")
    check.add_argument("--reglas", type=Path, default=None,
                       help="reglas de publicación del instituto (reglas.toml) para "
                            "verificar los cortes, si no son las predeterminadas")
    check.set_defaults(func=_verificar)
    central = optional_module(_CENTRAL)
    if central is not None:  # an auditor's machine, without the central: verificar only
        central.register_evidencia(actions)


def _verificar(args: argparse.Namespace) -> int:
    from prep.auditoria.verificar import verificar
    from prep.rules import DEFAULT_RULES
    from prep.rules import RuleSet

    rules = RuleSet.from_toml(args.reglas) if args.reglas else DEFAULT_RULES
    result = verificar(args.directory, args.huella, args.publicacion, rules)
    print(result.report())
    return 0 if result.ok else 1
