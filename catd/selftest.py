"""``catd --self-test`` / ``ccv --self-test``: the workstation's checks, offscreen.

The Qt check starts a real ``QApplication`` on the ``offscreen`` platform (no display
needed: the technician may run it over SSH) after making sure the platform plugin file
is in the installation, since a plugin Qt cannot load aborts the process instead of
raising an error. The rest are the Qt-free station checks of :mod:`prep.selftest`.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from prep.selftest import EXIT_QT
from prep.selftest import Check
from prep.selftest import CheckFailed
from prep.selftest import build_check
from prep.selftest import run_checks
from prep.selftest import station_checks


def run_self_test(program: str, data_dir: Path | None) -> int:
    """Run every check of the workstation ``program``; returns the exit status."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    with ExitStack() as stack:
        checks = [build_check(), Check("Interfaz gráfica (Qt)", EXIT_QT, _qt),
                  *station_checks(data_dir, stack)]
        return run_checks(program, checks)


def _qt() -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtWidgets import QApplication
    from PySide6.QtWidgets import QLabel

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    if not any(plugins.glob("*qoffscreen*")):
        raise CheckFailed(f"falta el complemento de plataforma «offscreen» de Qt en {plugins}")
    app = QApplication.instance() or QApplication(["prep-autoprueba"])
    assert isinstance(app, QApplication)
    label = QLabel("Autoprueba")
    label.show()
    app.processEvents()
    shown = label.isVisible()
    label.close()
    label.deleteLater()
    app.processEvents()
    if not shown:
        raise CheckFailed("Qt no pudo mostrar una ventana")
    available = sorted(p.name for p in plugins.iterdir() if p.is_file())
    return (f"PySide6 {pyside_version}, plataforma {app.platformName()}; complementos: "
            f"{', '.join(available)}")
