"""``prep central audited-build add|list|remove``: the fingerprints of the audited
builds (:mod:`central.audit.audited_builds`)."""

from __future__ import annotations

import argparse
import json
import sys

from central.audit.audited_builds import AuditedBuildError
from central.audit.audited_builds import add_build
from central.audit.audited_builds import list_builds
from central.audit.audited_builds import normalize
from central.audit.audited_builds import remove_build
from central.commands.common import Command
from central.commands.common import open_engine
from central.commands.common import refusing
from central.commands.common import technician_actor
from central.node.config import DataDir
from prep.cli_es import Subcommands


def register_audited_builds(sub: Subcommands, common: argparse.ArgumentParser) -> None:
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


def _command(action: Command) -> Command:
    """Refusals of the list of audited builds with their Spanish message, exit 2."""
    return refusing(AuditedBuildError, 2, action)


def _add(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        added = add_build(engine, args.fingerprint, args.nombre, technician_actor())
    print(f"Huella {normalize(args.fingerprint)} "
          f"{'registrada como auditada' if added else 'ya estaba registrada'}.")
    return 0


def _list(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        print(json.dumps(list_builds(engine), ensure_ascii=False, indent=2))
    return 0


def _remove(args: argparse.Namespace) -> int:
    with open_engine(args, DataDir(args.data_dir)) as engine:
        removed = remove_build(engine, args.fingerprint, technician_actor())
    if not removed:
        print(f"error: la huella {normalize(args.fingerprint)} no está en la lista",
              file=sys.stderr)
        return 1
    print(f"Huella {normalize(args.fingerprint)} retirada de la lista de auditadas.")
    return 0
