"""Render the captura, verificación and cotejo screens at 1024×768 (the smallest screen
of a CATD; ``--size`` for another) with realistic data into
``docs/screens/catd_captura.png``, ``docs/screens/catd_verificacion.png`` and
``docs/screens/catd_cotejo.png``.

A CATD 07 station holding a full-size catalog (``bench/gui.py``'s demo station) is given
leased actas with synthetic scanned images (``bench/work_demo.py``); the real window is
opened for a capturista (half the form typed), for a verificador, and for a verificador
on cotejo (F8; two fields marked as different, a reason chosen). No central runs:
the status bar says so, as it would during an outage.

    python3 scripts/render_work_screens.py [--out docs/screens] [--scale 0.2]
                                           [--size 1024x768]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from offscreen import REPO
from offscreen import application
from offscreen import save_grab
from offscreen import spin
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.gui import demo_station
from bench.work_demo import lease_work
from bench.work_demo import written_values
from catd.captura.view import WorkView
from catd.context import AppContext
from catd.screens import SCREENS
from catd.taskman import TaskManager
from catd.wedge import WedgeDetector
from catd.window import MainWindow
from prep.station.accounts import Operator


def render(out: Path, scale: float, size: tuple[int, int] = (1024, 768)) -> list[Path]:
    """Each screen on a station of its own, seen as it opens (the status bar still
    looking for the central)."""
    app = application()
    jobs = (("captura", Operator("op-07-carlos-ruiz", "Carlos Ruiz", "capturista", "07"),
             (3, 40, 81), "catd_captura.png"),
            ("verificacion", Operator("op-07-vera-luna", "Vera Luna", "verificador", "07"),
             (120, 7), "catd_verificacion.png"),
            ("cotejo", Operator("op-07-vera-luna", "Vera Luna", "verificador", "07"),
             (64, 9), "catd_cotejo.png"))
    written = []
    for kind, operator, picks, name in jobs:
        with tempfile.TemporaryDirectory(prefix="render-work-") as tmp:
            station, catalog = demo_station(Path(tmp) / "station", scale)
            here = [a for a in catalog.iter_actas() if a.casilla.distrito_id == 7]
            # The longest form on screen: what has to fit.
            longest = max(here, key=lambda a: len(a.layout.campos))
            lease_work(station, operator.id, [longest, *(here[i] for i in picks)], kind)
            tasks = TaskManager()
            context = AppContext(station, tasks, WedgeDetector(), None, discover=False)
            try:
                written.append(_render(app, context, kind, operator, out / name, size))
            finally:
                tasks.shutdown()
                station.stop_sync()
                station.close()
    return written


def _render(app: QApplication, context: AppContext, kind: str, operator: Operator,
            path: Path, size: tuple[int, int]) -> Path:
    tasks = context.tasks
    window = MainWindow(context)
    window.resize(*size)
    window.start()
    window.show()
    # A verificador at a CATD has verificación and cotejo (F8): cotejo is shown in front.
    keys = ("verificacion", "cotejo") if kind == "cotejo" else (kind,)
    screens = [s for s in SCREENS if s.key in keys]
    window.login_presenter.login_did_succeed.emit(operator, screens)
    window.workspace.tabs.setCurrentIndex(len(screens) - 1)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, WorkView), f"no {kind} screen registered"
    spin(app, lambda: view.shown is not None and view.image.has_image
          and view.presenter.online is not None)
    # What an operator has typed so far: half the capture (what the image says), the
    # disputed field of the verification, or two differences found by the cotejo.
    assert view.shown is not None
    acta = context.station.catalog().acta(view.shown.item.clave_acta)
    assert acta is not None
    written = written_values(acta)
    if kind == "cotejo":
        _mark_differences(app)
    typed = ([str(written[c]) for c in acta.layout.campos[:8]] if kind == "captura"
             else ["31"] if kind == "verificacion" else [])
    for text in typed:
        target = app.focusWidget()
        assert target is not None
        QTest.keyClicks(target, text)
        if kind == "captura":
            QTest.keyClick(target, Qt.Key.Key_Return)
    spin(app, lambda: tasks.pending == 0)
    app.processEvents()
    save_grab(window, path)
    window.log_out()
    window.status_presenter.stop()
    window.close()
    spin(app, lambda: tasks.pending == 0)
    return path


def _mark_differences(app: QApplication) -> None:
    """Keys of a cotejo that found two fields different: ↓ ↓ Space, ↓ ↓ ↓ Space, Tab,
    ↓ (the first usual reason)."""
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Space, Qt.Key.Key_Down,
                Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Space, Qt.Key.Key_Tab,
                Qt.Key.Key_Down):
        target = app.focusWidget()
        assert target is not None
        QTest.keyClick(target, key)
        app.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    parser.add_argument("--scale", type=float, default=0.2, help="catalog scale")
    parser.add_argument("--size", default="1024x768", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args()
    width, _, height = args.size.partition("x")
    args.out.mkdir(parents=True, exist_ok=True)
    render(args.out, args.scale, (int(width), int(height)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
