"""The core library ``prep`` is Qt-free: importing all of it never loads PySide6."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import importlib, json, pkgutil, sys
import prep
names = ["prep"]
for info in pkgutil.walk_packages(prep.__path__, "prep."):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue  # running it would execute the command line
    importlib.import_module(info.name)
    names.append(info.name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5",
                                                          "PyQt6", "pytestqt"))
print(json.dumps({"imported": names, "qt": qt}))
"""


def test_prep_never_imports_qt() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    imported = set(result["imported"])
    # The walk really covered the package, not just its top.
    for module in ("prep.values", "prep.rules", "prep.qr", "prep.cli", "prep.catalog.model",
                   "prep.corte.package", "prep.corte.reader", "prep.simulacro.run"):
        assert module in imported
    assert result["qt"] == [], f"prep importa Qt: {result['qt']}"


def test_pyside6_is_importable_here() -> None:
    """Guard against a vacuous pass: the check above means something only where PySide6
    is installed (the workstation apps need it)."""
    done = subprocess.run([sys.executable, "-c", "import PySide6, sys; "
                           "print('PySide6' in sys.modules)"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip() == "True", done.stderr
