"""The core library ``prep``, the central node and the drill are Qt-free: importing all of
any never loads PySide6 (the workstations and the control-room dashboard are the Qt parts).
Of the dashboard, what ``prep`` imports to build its parser (``dashboard.cli``) and its
page's Qt-free lines are Qt-free too, so ``prep --help`` never loads Qt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import importlib, json, pkgutil, sys
QT_FREE_DASHBOARD = {"dashboard.cli", "dashboard.stations"}
package = importlib.import_module(sys.argv[1])
names = [package.__name__]
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue  # running it would execute the command line
    if info.name.startswith("dashboard.") and info.name not in QT_FREE_DASHBOARD:
        continue  # the dashboard program's Qt modules
    importlib.import_module(info.name)
    names.append(info.name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5",
                                                          "PyQt6", "pytestqt"))
print(json.dumps({"imported": names, "qt": qt}))
"""

# Modules the walk must have reached, so a pass is not a walk that stopped at the top.
MUST_IMPORT = {
    "prep": ("prep.values", "prep.rules", "prep.qr", "prep.cli", "prep.catalog.model",
             "prep.corte.package", "prep.corte.reader", "prep.sintetico.plan",
             "prep.station.sync", "prep.station.acopio", "prep.station.captura",
             "prep.station.digitalizacion", "prep.station.ledger"),
    "central": ("central.api.server", "central.pipeline.ingest", "central.commands.cli",
                "central.db.schema", "central.controlroom.overview",
                "central.controlroom.actions", "central.controlroom.gate",
                "central.controlroom.login", "central.commands.reports",
                "central.controlroom.reports.ceros"),
    "dashboard": ("dashboard.cli", "dashboard.stations"),
    "simulacro": ("simulacro.cli", "simulacro.drill", "simulacro.run", "simulacro.zygote"),
}


@pytest.mark.parametrize("package", sorted(MUST_IMPORT))
def test_never_imports_qt(package: str) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, package], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for module in MUST_IMPORT[package]:
        assert module in result["imported"]
    assert result["qt"] == [], f"{package} importa Qt: {result['qt']}"


def test_pyside6_is_importable_here() -> None:
    """Guard against a vacuous pass: the check above means something only where PySide6
    is installed (the workstation apps need it)."""
    done = subprocess.run([sys.executable, "-c", "import PySide6, sys; "
                           "print('PySide6' in sys.modules)"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip() == "True", done.stderr
