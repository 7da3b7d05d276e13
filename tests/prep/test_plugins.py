"""The programs built on the core are optional: a machine without them still runs
``prep`` (an auditor's has the core alone), and a real import error is not hidden."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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
                                          "difusor"):
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
        "'capacitacion')" in refused.stderr
    kit = run("auditoria", "--help")
    assert kit.returncode == 0, kit.stderr
    assert re.findall(r"^    (\S+)", kit.stdout, re.MULTILINE) == ["verificar"]
    # With the central installed, the same kit also makes the evidence package.
    assert "evidencia" in subprocess.run(
        [sys.executable, "-m", "prep", "auditoria", "--help"], cwd=REPO, capture_output=True,
        text=True, timeout=60).stdout
