"""Render the digitalización screen at 1366×768 with realistic data into
``docs/screens/catd_digitalizacion.png`` (a stored acta selected),
``catd_digitalizacion_sin_acopio.png`` (an image of an acta without acopio) and
``catd_digitalizacion_asociar.png`` (an unreadable QR being associated by hand, at its
confirmation step).

A CATD 07 station holding a catalog (``bench/gui.py``'s demo station) received most of
its actas in acopio; synthetic scans (:mod:`prep.sintetico.acta_image`) are written
into the real hot folder: good ones, a re-scan, a blank page, a low-resolution scan,
an acta without acopio and one whose QR was torn off. No central runs.

    python3 scripts/render_digitalizacion.py [--out docs/screens] [--scale 0.2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from offscreen import REPO
from offscreen import application
from offscreen import save_grab
from offscreen import spin
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.gui import demo_station
from catd.collector import GarbageCollector
from catd.context import AppContext
from catd.digitalizacion.view import DigitalizacionView
from catd.screens import SCREENS
from catd.status import describe_status
from catd.taskman import TaskManager
from catd.wedge import WedgeDetector
from catd.window import MainWindow
from prep.catalog import Acta
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import blank_page
from prep.sintetico.acta_image import render_acta_image
from prep.station.accounts import Operator
from prep.station.sync import SyncState

DORA = Operator("op-07-dora-hernandez", "Dora Hernández", "digitalizador", "07")
CENTRAL_URL = "https://10.70.0.5:8443"
START = dt.datetime(2027, 6, 7, 3, 12, 0, tzinfo=dt.UTC)  # 21:12 in Ciudad de México


class NightClock:
    """Election night, a little later each time the station reads the clock."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=4)
        return self.now


def _scan(acta: Acta, seed: int, **options: object) -> bytes:
    valores = {campo: (seed * 37 + 11 * (i + 3)) % 260 for i, campo in
               enumerate(acta.layout.campos)}
    return render_acta_image(acta, valores, ActaImageOptions(seed=seed, **options))  # type: ignore[arg-type]


def render(out: Path, scale: float) -> list[Path]:
    app = application()
    collector = GarbageCollector()
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="catd07-") as tmp:
        station, catalog = demo_station(Path(tmp) / "estacion", scale, NightClock())
        here = [a for a in catalog.iter_actas() if a.casilla.distrito_id == 7]
        for acta in here[:90]:
            station.acopio(acta.clave, "op-07-ana-acopio")
        tasks = TaskManager()
        context = AppContext(station, tasks, WedgeDetector(), None, discover=False)
        window = MainWindow(context)
        try:
            window.resize(1366, 768)
            window.start()
            window.show()
            screens = [s for s in SCREENS if s.key == "digitalizacion"]
            window.login_presenter.login_did_succeed.emit(DORA, screens)
            view = window.workspace.tabs.currentWidget()
            assert isinstance(view, DigitalizacionView)
            spin(app, lambda: view.presenter.folder.path is not None)
            inbox = view.presenter.folder.path
            assert inbox is not None
            batches: list[list[tuple[str, bytes]]] = [
                [(f"CATD07_{n:04d}.jpg", _scan(here[n], n)) for n in range(3, 9)],
                [("CATD07_0009.jpg", blank_page()),
                 ("CATD07_0010.jpg", _scan(here[10], 10, dpi=150)),
                 ("CATD07_0011.jpg", _scan(here[11], 11)),
                 ("CATD07_0012.jpg", _scan(here[95], 12, skew_degrees=1.2)),
                 ("CATD07_0013.jpg", _scan(here[10], 13))],
                [("CATD07_0014.jpg", _scan(here[5], 14)),
                 ("CATD07_0015.jpg", _scan(here[14], 15, qr_text="")),
                 ("CATD07_0016.jpg", _scan(here[16], 16, skew_degrees=-0.8))],
            ]
            total = 0
            for batch in batches:
                for name, data in batch:
                    (inbox / name).write_bytes(data)
                total += len(batch)
                spin(app, _rows_are(view, total))
            _connected(window)
            # A stored acta, its image beside it.
            view.table.setCurrentCell(view.row_of(_id_of(view, "CATD07_0016.jpg")), 0)
            view.table.setFocus()
            spin(app, lambda: view.preview.has_image and tasks.pending == 0)
            app.processEvents()
            written.append(_save(window, out / "catd_digitalizacion.png"))

            # An acta scanned before its acopio was registered.
            view.table.setCurrentCell(view.row_of(_id_of(view, "CATD07_0012.jpg")), 0)
            spin(app, lambda: view.preview.has_image and tasks.pending == 0)
            written.append(_save(window, out / "catd_digitalizacion_sin_acopio.png"))

            # The torn QR: F2, the clave typed, Enter shows the acta; one more Enter stores.
            view.table.setCurrentCell(view.row_of(_id_of(view, "CATD07_0015.jpg")), 0)
            spin(app, lambda: view.preview.has_image and tasks.pending == 0)
            QTest.keyClick(view.table, Qt.Key.Key_F2)
            clave = view.detail.associate.clave
            QTest.keyClicks(clave, here[14].clave)
            QTest.keyClick(clave, Qt.Key.Key_Return)
            app.processEvents()
            written.append(_save(window, out / "catd_digitalizacion_asociar.png"))
            view.presenter.stop()
            window.log_out()
            window.status_presenter.stop()
            window.close()
            spin(app, lambda: tasks.pending == 0)
        finally:
            tasks.shutdown()
            station.stop_sync()
            station.close()
            collector.stop()
    return written


def _connected(window: MainWindow) -> None:
    """The status bar of a station connected to its central (none runs here)."""
    window.status_presenter.stop()
    station = window.context.station
    receipt = (START + dt.timedelta(minutes=17, seconds=41)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    window.status_bar.show_status(describe_status(replace(
        station.status(), sync=SyncState(running=True, online=True, central_url=CENTRAL_URL),
        central_url=CENTRAL_URL, backlog_records=1, backlog_bytes=496_310,
        last_receipt_at=receipt)))
    window.status_bar.clock.setText("Hora de la estación: 21:30:04")


def _rows_are(view: DigitalizacionView, count: int) -> Callable[[], bool]:
    return lambda: bool(view.table.rowCount() == count)


def _id_of(view: DigitalizacionView, name: str) -> int:
    return next(i.id for i in view.presenter.items.values() if i.name == name)


def _save(window: MainWindow, path: Path) -> Path:
    app = QApplication.instance()
    assert app is not None
    app.processEvents()
    window.resize(1366, 768)  # the offline message had widened the window
    app.processEvents()
    if (window.width(), window.height()) != (1366, 768):
        raise RuntimeError(f"the window grew to {window.width()}×{window.height()}")
    return save_grab(window, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    parser.add_argument("--scale", type=float, default=0.2, help="catalog scale")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    render(args.out, args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
