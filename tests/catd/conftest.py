"""The CATD workstation under test: a real central (module-wide) with a small catalog
and operator accounts at CATD 07, a station store enrolled with it per test, and the
real window driven by keys, with the wedge detector on a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import cast

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from catd.collector import GarbageCollector
from catd.context import AppContext
from catd.taskman import TaskManager
from catd.theme import apply_theme
from catd.wedge import WedgeDetector
from catd.window import MainWindow
from prep.catalog import Acta
from prep.catalog import Catalog
from prep.station.printing import FakePrinter
from prep.station.station import Station
from prep.station.sync import SyncOptions
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.work import PASSWORD
from tests.harness.work import add_operators
from tests.harness.work import load_catalog

CATD = 7
ACOPIADOR = "Ana Acopio"
CAPTURISTA = "Carlos Captura"
COORDINADORA = "Cora Coordinadora"
READER_GAP_MS = 4.0
PERSON_GAP_MS = 140.0
FAST_SYNC = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.2,
                        heartbeat_interval=0.05, bundle_interval=0)

__all__ = ["PASSWORD"]


class FakeClock:
    """Milliseconds the test advances by hand (the detector's clock)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += ms


class Central:
    """The module's central and its catalog."""

    def __init__(self, node: CentralNode, catalog: Catalog) -> None:
        self.node = node
        self.catalog = catalog

    def actas_here(self) -> list[Acta]:
        """The catalog actas of CATD 07, in publication order."""
        return [a for a in self.catalog.iter_actas() if a.casilla.distrito_id == CATD]

    def acta_elsewhere(self) -> Acta:
        return next(a for a in self.catalog.iter_actas() if a.casilla.distrito_id != CATD)


@pytest.fixture(scope="module")
def central(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    with running_central(tmp_path_factory.mktemp("catd-central"), pg_dsn) as node:
        catalog = load_catalog(node)
        add_operators(node, [(ACOPIADOR, "acopiador", "07"), (CAPTURISTA, "capturista", "07"),
                             (COORDINADORA, "coordinador", "07")])
        yield Central(node, catalog)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def printer() -> FakePrinter:
    return FakePrinter()


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    """A station store not enrolled yet."""
    with Station.open(tmp_path / "station") as opened:
        yield opened


@pytest.fixture
def enrolled(station: Station, central: Central) -> Station:
    """The station enrolled with the central (it received the catalog and accounts)."""
    station.enroll(central.node.url, central.node.enroll_code(catd=CATD),
                   central.node.cert_sha256)
    assert station.bundle_info() is not None
    return station


@pytest.fixture
def context(station: Station, clock: FakeClock, printer: FakePrinter,
            qapp: QApplication) -> Iterator[AppContext]:
    apply_theme(qapp)
    collector = GarbageCollector()
    tasks = TaskManager()
    detector = WedgeDetector(clock=clock)
    detector.install(qapp)
    yield AppContext(station, tasks, detector, printer, discover=False,
                     sync_options=FAST_SYNC)
    tasks.shutdown(wait=True)
    detector.uninstall(qapp)
    station.stop_sync()
    collector.stop()


@pytest.fixture
def window(context: AppContext, qtbot: QtBot) -> Iterator[MainWindow]:
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.start()
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    yield win
    win.status_presenter.stop()


@pytest.fixture
def another_window(central: Central, context: AppContext, tmp_path: Path,
                   qtbot: QtBot) -> Iterator[Callable[[], MainWindow]]:
    """Opens another CATD 07 workstation beside ``window``: a station store of its own,
    enrolled with the central (with the accounts that exist by then), and its real
    window, on the same wedge detector and test clock. The central never gives one
    station both captures of an acta, so a second capture needs a second station."""
    opened: list[MainWindow] = []
    with ExitStack() as stack:
        def open_window() -> MainWindow:
            station = stack.enter_context(
                Station.open(tmp_path / f"station-{len(opened) + 2}"))
            station.enroll(central.node.url, central.node.enroll_code(catd=CATD),
                           central.node.cert_sha256)
            assert station.bundle_info() is not None
            win = MainWindow(AppContext(station, TaskManager(), context.detector,
                                        FakePrinter(), discover=False,
                                        sync_options=FAST_SYNC))
            qtbot.addWidget(win)
            win.resize(1366, 768)
            win.start()
            win.show()
            qtbot.waitExposed(win)
            opened.append(win)
            return win
        yield open_window
        for win in reversed(opened):
            win.log_out()  # a failed test may leave an operator's screens open
            win.status_presenter.stop()
            win.context.tasks.shutdown(wait=True)
            win.context.station.stop_sync()


def wait_idle(qtbot: QtBot, tasks: TaskManager) -> None:
    """Until every background task's result reached the screen."""
    qtbot.waitUntil(lambda: tasks.pending == 0, timeout=20_000)


def log_in(qtbot: QtBot, window: MainWindow, user: str, password: str = PASSWORD) -> None:
    """Type credentials into the login page at a person's speed (the page tells a
    reader's scan from typing) and press Enter."""
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    # The window's detector runs on the test's FakeClock (the ``context`` fixture).
    clock = cast(FakeClock, window.context.detector.clock)
    window.activateWindow()
    window.login.user.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.login.user)
    QTest.keyClick(window.login.user, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    type_as(clock, user, PERSON_GAP_MS)  # over what a failed try left there
    type_as(clock, password, PERSON_GAP_MS)
    wait_idle(qtbot, window.context.tasks)


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def type_as(clock: FakeClock, text: str, gap_ms: float,
            suffix: Qt.Key | None = Qt.Key.Key_Return) -> None:
    """Press the keys of ``text`` into whatever has the focus, ``gap_ms`` apart on the
    detector's clock, then the reader's suffix (Enter by default)."""
    for ch in text:
        clock.advance(gap_ms)
        press(focused(), ch)
    if suffix is not None:
        clock.advance(gap_ms)
        QTest.keyClick(focused(), suffix)


def press(widget: QWidget, ch: str) -> None:
    """One key as the keyboard sends it (QTest knows only ASCII keys)."""
    if ch.isascii():
        QTest.keyClicks(widget, ch)
        return
    key = ord(ch.upper()) if ord(ch) < 0x100 else int(Qt.Key.Key_unknown)
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch))


def type_into(widget: QWidget, text: str) -> None:
    for ch in text:
        press(widget, ch)


def scan(clock: FakeClock, text: str) -> None:
    """What a keyboard-wedge reader sends."""
    type_as(clock, text, READER_GAP_MS)
