"""The programs built on the core are optional: a machine without them still runs
``prep`` (an auditor's has the core alone), and a real import error is not hidden."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prep import cli
from prep.plugins import optional_module
from tests.harness.central import REPO


def test_a_module_that_is_not_installed_is_none_and_one_that_is_is_imported() -> None:
    assert optional_module("paquete_que_no_existe.cli") is None
    assert optional_module("prep.modulo_que_no_existe") is None
    module = optional_module("prep.plugins")
    assert module is not None and module.optional_module is optional_module


def test_a_module_whose_own_import_fails_is_an_error(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "complemento_roto.py").write_text("import dependencia_que_falta\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="dependencia_que_falta"):
        optional_module("complemento_roto")


def test_without_the_central_prep_offers_the_auditors_kit_alone() -> None:
    # The central and the other programs are hidden from the import system, as on an
    # auditor's machine with only the core installed.
    script = textwrap.dedent("""
        import sys
        from importlib.abc import MetaPathFinder

        class SinProgramas(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("central", "catd", "ccv", "simulacro",
                                          "difusor", "dashboard"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, SinProgramas())
        from prep.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", script, *args], cwd=REPO,
                              capture_output=True, text=True, timeout=60)

    refused = run("central", "--help")
    assert refused.returncode == 2
    assert "(elija una de: 'catalog', 'verify-corte', 'station', 'auditoria', " \
        "'capacitacion', 'testigo')" in refused.stderr  # testigo: a party's, prep alone
    kit = run("auditoria", "--help")
    assert kit.returncode == 0, kit.stderr
    assert re.findall(r"^    (\S+)", kit.stdout, re.MULTILINE) == ["verificar"]
    # With the central installed, the same kit also makes the evidence package.
    assert "evidencia" in subprocess.run(
        [sys.executable, "-m", "prep", "auditoria", "--help"], cwd=REPO, capture_output=True,
        text=True, timeout=60).stdout


def _ayuda(parser: argparse.ArgumentParser, *ruta: str) -> str:
    for nombre in ruta:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[nombre]
    return parser.format_help()


@pytest.mark.rapido
def test_the_cores_own_commands_run_without_the_programs_and_read_the_same() -> None:
    """``prep verify-corte`` and ``prep catalog`` build the core's parser alone (nothing of
    the central is imported for them); their help and options are the same as in the
    whole parser, and any other command, or none, gets the whole parser."""
    assert cli._command(["verify-corte", "x"]) == "verify-corte"
    assert cli._command(["-v", "--log-format", "json", "verify-corte", "x"]) == "verify-corte"
    assert cli._command(["--log-format=json", "catalog", "check", "x"]) == "catalog"
    assert cli._command(["--log", "json", "verify-corte"]) is None  # the whole parser decides
    assert cli._command(["-h"]) is None and cli._command([]) is None
    assert cli._command(["central", "corte"]) == "central"
    completo, nucleo = cli.build_parser(), cli.build_parser(programs=False)
    for ruta in (("verify-corte",), ("catalog", "generate"), ("catalog", "check")):
        assert _ayuda(nucleo, *ruta) == _ayuda(completo, *ruta)
