"""Render every CATD workstation screen at 1366×768 to ``docs/screens/catd_*.png``
(acopio also at 1024×768, the smallest display a CATD PC has: ``*_1024.png``).

The data are realistic: a CATD 07 station holding a full-scale synthetic catalog and
three operator accounts (see :func:`bench.gui.demo_station`), acopio records made
through the real presenter on an election-night clock, and a printer that runs out of
paper for one shot. The status bar shows what a station connected to its central
shows (no central is started: the sync agent is not run).

    QT_QPA_PLATFORM=offscreen python3 scripts/render_screens.py [--out docs/screens]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from offscreen import REPO
from offscreen import application
from offscreen import save_grab
from PySide6.QtCore import QEventLoop
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget

from bench.gui import DEMO_PASSWORD
from bench.gui import demo_station
from catd.acopio.view import AcopioView
from catd.collector import GarbageCollector
from catd.context import AppContext
from catd.enrollment import ResolvedCentral
from catd.status import describe_status
from catd.taskman import TaskManager
from catd.wedge import WedgeDetector
from catd.window import MainWindow
from prep.rules import CausaSinActa
from prep.station.printing import FakePrinter
from prep.station.station import Station
from prep.station.sync import SyncState

SIZE = (1366, 768)
SMALL = (1024, 768)
CENTRAL_URL = "https://10.70.0.5:8443"
START = dt.datetime(2027, 6, 7, 1, 50, 0, tzinfo=dt.UTC)  # 19:50 in Ciudad de México


class NightClock:
    """Election night: each reading 1.2 s after the previous one (a record reads the
    clock a few times), so the last acopio lands shortly after 21:40."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1.2)
        return self.now


def settle(app: QApplication, until: Callable[[], bool] = lambda: True,
           ms: int = 150) -> None:
    """Run the event loop until ``until()`` holds, then ``ms`` more for painting."""
    deadline = time.monotonic() + 30
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not settle")
        _run_loop(20)
    _run_loop(ms)


def _run_loop(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save(widget: QWidget, out: Path, name: str) -> None:
    save_grab(widget, out / f"catd_{name}.png")


def connected(window: MainWindow, station: Station) -> None:
    """Show the status a connected station shows (the agent is not run here)."""
    window.status_presenter.stop()
    status = station.status()
    receipt = (START + dt.timedelta(minutes=96, seconds=12)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sync = SyncState(running=True, online=True, central_url=CENTRAL_URL)
    from dataclasses import replace

    window.status_bar.show_status(describe_status(replace(
        status, sync=sync, central_url=CENTRAL_URL, backlog_records=2,
        backlog_bytes=1_930, last_receipt_at=receipt)))
    window.status_bar.clock.setText("Hora de la estación: 21:43:05")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = application()
    collector = GarbageCollector()
    with tempfile.TemporaryDirectory(prefix="catd-screens-") as tmp:
        render_enrollment(app, Path(tmp) / "nueva", args.out)
        render_work(app, Path(tmp) / "catd07", args.out)
    from scripts.render_digitalizacion import render as render_digitalizacion

    render_digitalizacion(args.out, 0.2)
    collector.stop()
    return 0


def _window(app: QApplication, station: Station, printer: FakePrinter | None) -> MainWindow:
    tasks = TaskManager()
    detector = WedgeDetector()
    detector.install(app)
    window = MainWindow(AppContext(station, tasks, detector, printer, discover=False))
    window.resize(*SIZE)
    window.show()
    return window


def render_enrollment(app: QApplication, data_dir: Path, out: Path) -> None:
    with Station.open(data_dir) as station:
        window = _window(app, station, None)
        window.start()
        view = window.enrollment
        view.url.setText(CENTRAL_URL)
        central = ResolvedCentral(CENTRAL_URL, "3f9a07c2" "5be14d08" "91c6e2ad" "7740b3f1"
                                  "c08d5a62" "e93b1f47" "0a6cd215" "8e4b9f30",
                                  f"Dirección escrita: {CENTRAL_URL}")
        window.enrollment_presenter.central = central
        view.show_central(central)
        view.confirm.setChecked(True)
        view.code.setText("K7QM-4XTP-93HD")
        settle(app)
        save(window, out, "alta")
        window.status_presenter.stop()
        window.context.tasks.shutdown()
        window.close()


def render_work(app: QApplication, data_dir: Path, out: Path) -> None:
    clock = NightClock()
    station, catalog = demo_station(data_dir, 1.0, clock)
    printer = FakePrinter()
    try:
        window = _window(app, station, printer)
        window.show_login()
        window.login.user.setText("Ana Acopio")
        settle(app, lambda: bool(window.login.station_line.text()))
        connected(window, station)
        settle(app)
        save(window, out, "login")

        window.login_presenter.login("Ana Acopio", DEMO_PASSWORD)
        settle(app, lambda: window.pages.currentWidget() is window.workspace)
        view = window.workspace.tabs.currentWidget()
        assert isinstance(view, AcopioView)
        presenter = view.presenter
        settle(app, lambda: presenter.ready)
        here = [a for a in catalog.iter_actas() if a.casilla.distrito_id == 7]
        # The night so far: most Jefatura actas, fewer of the others, a few sin acta.
        for i, acta in enumerate(here):
            if i % 3 == 0 or (i % 3 == 1 and i < len(here) * 0.55) or (i % 3 == 2
                                                                        and i % 5 == 0):
                presenter.handle_typed(acta.clave)
                settle(app, lambda: view.presenter.tasks.pending == 0, 0)
        for acta, causa in ((here[-1], CausaSinActa.CASILLA_NO_INSTALADA),
                            (here[-2], CausaSinActa.PAQUETE_NO_ENTREGADO)):
            presenter.register_sin_acta(acta.clave, causa)
            settle(app, lambda: presenter.tasks.pending == 0, 0)
        last = here[-4]
        presenter.handle_scan(f"PREP1|{last.clave}")
        settle(app, lambda: presenter.tasks.pending == 0)
        connected(window, station)
        settle(app)
        save(window, out, "acopio")
        window.resize(*SMALL)
        settle(app)
        save(window, out, "acopio_1024")
        window.resize(*SIZE)

        presenter.handle_scan(here[0].clave)
        settle(app)
        save(window, out, "acopio_duplicada")

        presenter.handle_scan("099998B010002")
        settle(app)
        save(window, out, "acopio_fuera_de_catalogo")

        printer.fail_with = ("La impresora no tiene papel: cargue un rollo nuevo y cierre "
                             "la tapa.")
        presenter.handle_scan(here[-5].clave)
        settle(app, lambda: presenter.tasks.pending == 0)
        save(window, out, "acopio_impresora")

        window.resize(*SMALL)
        presenter.handle_scan(here[-1].clave)  # registered sin acta: F7 corrects it
        settle(app)
        save(window, out, "acopio_sin_acta_1024")
        window.status_presenter.stop()
        window.context.tasks.shutdown()
        window.close()
    finally:
        station.close()


if __name__ == "__main__":
    sys.exit(main())
