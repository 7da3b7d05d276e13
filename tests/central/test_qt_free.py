"""The central's library and server are Qt-free: importing all of ``central`` never loads
PySide6 (the control-room dashboard, a separate program, is the only Qt part)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.harness.central import REPO

SCRIPT = """
import importlib, json, pkgutil, sys
import central
names = ["central"]
for info in pkgutil.walk_packages(central.__path__, "central."):
    importlib.import_module(info.name)
    names.append(info.name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5",
                                                          "PyQt6", "pytestqt"))
print(json.dumps({"imported": names, "qt": qt}))
"""


def test_central_never_imports_qt() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for module in ("central.server", "central.ingest", "central.cli", "central.db.models"):
        assert module in result["imported"]
    assert result["qt"] == [], f"central importa Qt: {result['qt']}"
