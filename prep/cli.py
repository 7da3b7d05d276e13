"""The ``prep`` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from prep import __version__
from prep import cli_es
from prep.errors_es import describe_os_error
from prep.errors_es import os_error_advice
from prep.logsetup import ENV_FORMAT
from prep.logsetup import FORMATS
from prep.logsetup import JSON
from prep.logsetup import TEXTO
from prep.logsetup import setup_logging
from prep.memory import keep_freed_memory
from prep.plugins import optional_module

log = logging.getLogger("prep")


def build_parser(programs: bool = True) -> argparse.ArgumentParser:
    """The ``prep`` parser; ``programs``: with the subcommands of the programs built on
    the core that are installed (:data:`_PLUGINS`), not only the core's own."""
    cli_es.install()  # argparse's own messages in Spanish, for every subcommand
    parser = argparse.ArgumentParser(prog="prep", description="PREP: resultados electorales "
                                     "preliminares (centros de acopio, nodo central, cortes).")
    parser.add_argument("--version", action="version", version=f"prep {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="bitácora detallada")
    parser.add_argument("--log-format", choices=FORMATS, default=None,
                        help=f"formato de la bitácora: {TEXTO} (predeterminado) o {JSON}, "
                             f"un objeto JSON por línea para journald y recolectores "
                             f"(también {ENV_FORMAT}=json)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMANDO")

    catalog = sub.add_parser("catalog", help="catálogo electoral")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    gen = catalog_sub.add_parser("generate", help="genera un catálogo sintético tipo CDMX")
    gen.add_argument("--seed", type=int, default=2027)
    gen.add_argument("--scale", type=_scale, default=1.0,
                     help="fracción de la CDMX (1 = ≈13,200 casillas; 0.01 = pruebas)")
    gen.add_argument("--out", type=Path, required=True, help="directorio de salida")
    gen.set_defaults(func=_catalog_generate)
    check = catalog_sub.add_parser("check", help="valida un directorio de catálogo")
    check.add_argument("directory", type=Path)
    check.set_defaults(func=_catalog_check)

    verify = sub.add_parser("verify-corte", help="verifica un corte publicado: firma, "
                            "huellas, imágenes y resúmenes")
    verify.add_argument("directory", type=Path, metavar="DIR")
    verify.add_argument("--llave", type=Path, default=None,
                        help="llave pública del nodo central (PEM); predeterminada la del "
                             "corte")
    verify.add_argument("--huella", default=None,
                        help="SHA-256 esperado de la llave pública (lo publica el instituto)")
    verify.add_argument("--reglas", type=Path, default=None,
                        help="reglas de publicación del instituto (reglas.toml), si cuentan "
                             "otras inconsistencias que las predeterminadas")
    verify.add_argument("--testigos", action="store_true",
                        help="comprueba además el registro público de cortes: que el corte "
                             "está en él, que extiende las cabezas guardadas y las cofirmas "
                             "de los difusores")
    verify.add_argument("--registro", default=None, metavar="DIR_O_URL",
                        help="dónde está el registro (transparencia/); predeterminado: el "
                             "directorio que contiene el corte")
    verify.add_argument("--cabeza", type=Path, action="append", default=[], metavar="ARCHIVO",
                        help="un checkpoint guardado antes (prep testigo guardar); "
                             "se puede repetir")
    verify.set_defaults(func=_verify_corte)

    # Programs built on the core add their own subcommands, if they are installed.
    for module in _PLUGINS if programs else ():
        plugin = optional_module(module)
        if plugin is not None:
            plugin.register(sub)
    return parser


_PLUGINS = ("simulacro.cli", "central.commands.cli", "prep.station.cli", "catd.app", "ccv.app",
            "dashboard.cli", "difusor.cli", "prep.auditoria.cli", "prep.capacitacion.cli",
            "prep.transparencia.testigo_cli")


#: The core's own commands. They run without importing the programs built on the core:
#: ``verify-corte`` on a machine where the central is installed loads neither the
#: central nor the corte's incremental engine (issue 65), so what an auditor runs shares
#: no code with what published the corte.
_CORE = frozenset({"catalog", "verify-corte"})


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (its first word that is not a top-level option);
    ``None`` if it names none. An option it does not know ends the search: the whole
    parser then decides."""
    words = iter(argv)
    for word in words:
        if word == "--log-format":
            next(words, None)
        elif word not in ("-v", "--verbose") and not word.startswith("--log-format="):
            return None if word.startswith("-") else word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(programs=_command(argv) not in _CORE).parse_args(argv)
    keep_freed_memory()  # images all night in the central, the drill, the intake
    setup_logging(logging.DEBUG if args.verbose else logging.INFO,  # escapes controls
                  fmt=args.log_format)
    cli_es.quiet_libraries(args.verbose)
    try:
        code: int = args.func(args)
    except OSError as exc:  # Python's text is English: Spanish here, the detail with -v
        if _raised_by_us(exc):
            # The PREP's own OSErrors (the embedded PostgreSQL, the drill's output
            # directory...) already say, in Spanish, what is wrong and what to do.
            print(f"error: {exc}", file=sys.stderr)
            return 2
        logging.getLogger("prep.cli").debug("error del sistema", exc_info=exc)
        print(f"error: {describe_os_error(exc)}. {os_error_advice(exc)} Con -v se muestra "
              "el detalle.", file=sys.stderr)
        return 2
    except ValueError as exc:  # the PREP's own checks: Spanish messages
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


#: The programs' packages: an OSError raised there carries a Spanish message of its own.
_OWN_PACKAGES = frozenset({"prep", "central", "simulacro", "difusor", "catd", "ccv", "qtkit",
                           "dashboard"})


def _raised_by_us(exc: OSError) -> bool:
    """Whether ``exc`` was raised by the PREP's own code with its own message (not by
    the operating system, which sets ``errno``, nor by a library)."""
    if exc.errno is not None or len(exc.args) != 1 or not isinstance(exc.args[0], str):
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    module = tb.tb_frame.f_globals.get("__name__", "")
    return str(module).split(".")[0] in _OWN_PACKAGES


def _scale(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError("la escala debe estar entre 0 (excluido) y 1")
    return value


def _catalog_generate(args: argparse.Namespace) -> int:
    from prep.catalog import catalog_digest
    from prep.catalog import generate_catalog
    from prep.catalog import write_catalog

    catalog = generate_catalog(args.seed, args.scale)
    write_catalog(catalog, args.out)
    print(f"{args.out}: {len(catalog.distritos)} distritos, "
          f"{len({c.seccion for c in catalog.casillas})} secciones, "
          f"{len(catalog.casillas)} casillas, {catalog.total_actas} actas, "
          f"lista nominal {sum(c.lista_nominal for c in catalog.casillas):,}")
    print(f"huella SHA-256: {catalog_digest(args.out)}")
    return 0


def _catalog_check(args: argparse.Namespace) -> int:
    from prep.catalog import catalog_digest
    from prep.catalog import load_catalog

    catalog = load_catalog(args.directory)
    print(f"{args.directory}: válido; {len(catalog.casillas)} casillas, "
          f"{catalog.total_actas} actas; huella {catalog_digest(args.directory)}")
    return 0


def _verify_corte(args: argparse.Namespace) -> int:
    from prep.corte.verify import verify_corte
    from prep.rules import DEFAULT_RULES
    from prep.rules import RuleSet

    rules = RuleSet.from_toml(args.reglas) if args.reglas else DEFAULT_RULES
    result = verify_corte(args.directory, args.llave, args.huella, rules=rules)
    if args.testigos or args.registro is not None or args.cabeza:
        from prep.corte.verify_testigos import verificar_testigos

        verificar_testigos(result, args.directory, registro=args.registro, llave=args.llave,
                           cabezas=args.cabeza)
    print(result.report())
    return 0 if result.ok else 1
