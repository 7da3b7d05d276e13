"""``catd --capacitacion``: the real window over a practice store. Every window says
CAPACITACIÓN; a trainee logs in with the practice password and types practice actas
with keys alone on the real captura screen; the score counts her errors against the
truth and her keystrokes; and a training station beside a real central on loopback
never makes a single connection to it, even when asked to enroll with it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from catd.app import open_training_station
from catd.captura.presenter import WorkPresenter
from catd.captura.view import CapturaView
from catd.captura.view import WorkView
from catd.captura.widgets import ValueEdit
from catd.casilla.view import IntakePanel
from catd.collector import GarbageCollector
from catd.context import AppContext
from catd.taskman import TaskManager
from catd.theme import apply_theme
from catd.wedge import WedgeDetector
from catd.window import MainWindow
from prep.capacitacion.estacion import TrainingError
from prep.capacitacion.estacion import TrainingStation
from prep.capacitacion.practica import practice_dir
from prep.capacitacion.puntaje import puntajes
from prep.records import Kind
from prep.station.printing import FakePrinter
from prep.station.station import Station
from qtkit.capacitacion import TrainingBanner
from qtkit.capacitacion import install_training_marks
from tests.catd.conftest import CATD
from tests.catd.conftest import Central
from tests.catd.conftest import FakeClock
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import wait_idle
from tests.central.station import query
from tests.harness.capacitacion import CAPTURISTA
from tests.harness.capacitacion import PRACTICE_PASSWORD
from tests.harness.capacitacion import VERIFICADOR
from tests.harness.capacitacion import account
from tests.harness.capacitacion import copy_practice
from tests.harness.capacitacion import prepare_practice
from tests.harness.proxy import FaultProxy


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_practice(tmp_path_factory.mktemp("practica"), actas=4)


@contextmanager
def open_training_window(station: TrainingStation, clock: FakeClock, qapp: QApplication,
                         qtbot: QtBot) -> Iterator[MainWindow]:
    """The workstation as ``catd --capacitacion`` builds it (``catd.app.run``)."""
    apply_theme(qapp)
    collector = GarbageCollector()
    tasks = TaskManager()
    detector = WedgeDetector(clock=clock)
    detector.install(qapp)
    marks = install_training_marks(qapp)
    try:
        with _training_window(station, tasks, detector, qtbot) as win:
            yield win
    finally:
        # Whatever failed, the application-wide filters leave with this window: the next
        # test on this worker (a real CCV login, say) must not see CAPACITACIÓN.
        qapp.removeEventFilter(marks)
        detector.uninstall(qapp)
        collector.stop()


@contextmanager
def _training_window(station: TrainingStation, tasks: TaskManager, detector: WedgeDetector,
                     qtbot: QtBot) -> Iterator[MainWindow]:
    win = MainWindow(AppContext(station, tasks, detector, FakePrinter(), discover=False,
                                capacitacion=True))
    qtbot.addWidget(win)
    win.resize(1024, 768)
    win.start()
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    try:
        yield win
    finally:
        # pytest-qt closed the window already: a closed window keeps its leases for the
        # restart (catd.captura.view), so its screens are stopped here, before the
        # task manager they run on.
        tabs = win.workspace.tabs
        for index in range(tabs.count()):
            presenter = getattr(tabs.widget(index), "presenter", None)
            if isinstance(presenter, WorkPresenter):
                presenter.stop()
        win.log_out()
        win.status_presenter.stop()
        tasks.shutdown(wait=True)


@pytest.fixture
def training(prepared: Path, tmp_path: Path) -> Iterator[TrainingStation]:
    with TrainingStation.open(copy_practice(prepared, tmp_path / "estacion")) as station:
        yield station


@pytest.fixture
def window(training: TrainingStation, clock: FakeClock, qapp: QApplication,
           qtbot: QtBot) -> Iterator[MainWindow]:
    with open_training_window(training, clock, qapp, qtbot) as win:
        yield win


def save_screen(qtbot: QtBot, window: MainWindow, name: str) -> None:
    """With PREP_SCREENS set, the window as the trainee sees it (for docs/screens)."""
    where = os.environ.get("PREP_SCREENS")
    if where:
        qtbot.wait(200)  # the status bar laid out with its latest texts
        window.grab().save(str(Path(where) / name))


def work_view(qtbot: QtBot, window: MainWindow) -> WorkView:
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, WorkView)
    qtbot.waitUntil(lambda: view.shown is not None and view.image.has_image, timeout=20_000)
    wait_idle(qtbot, window.context.tasks)
    return view


def type_acta(view: WorkView, valores: Mapping[str, str]) -> int:
    """Type ``valores`` field after field with keys alone; the keys pressed."""
    assert view.shown is not None
    return type_acta_partly(view, {campo: valores[campo] for campo in view.shown.item.campos})


def test_every_window_says_capacitacion(window: MainWindow, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    assert window.windowTitle() == "CAPACITACIÓN · PREP · CATD"
    banner = window.menuWidget()
    assert isinstance(banner, TrainingBanner) and banner.isVisible()
    assert banner.text().startswith("CAPACITACIÓN · ")
    assert banner.geometry().top() == 0 and banner.width() == window.width()
    qtbot.waitUntil(lambda: window.status_bar.central.full_text.startswith(
        "● CAPACITACIÓN: sin nodo central"))
    # A title the program sets later keeps the mark; a message box gets it too.
    window.setWindowTitle("PREP · CATD")
    assert window.windowTitle() == "CAPACITACIÓN · PREP · CATD"
    box = QMessageBox(QMessageBox.Icon.Warning, "PREP · CATD", "Aviso", parent=window)
    box.open()
    qtbot.waitExposed(box)
    assert box.windowTitle() == "CAPACITACIÓN · PREP · CATD"
    box.close()
    save_screen(qtbot, window, "catd_capacitacion_login.png")


def test_a_trainee_types_practice_actas_and_gets_her_score(
        window: MainWindow, training: TrainingStation, qtbot: QtBot) -> None:
    practica = training.practica
    log_in(qtbot, window, CAPTURISTA, PRACTICE_PASSWORD)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.workspace)
    view = work_view(qtbot, window)
    assert isinstance(view, CapturaView)
    # The real captura screen, with the first practice acta and its image.
    first, second = practica.actas[:2]
    assert view.header.clave.text() == first.clave
    banner = window.menuWidget()
    assert isinstance(banner, TrainingBanner) and banner.isVisible()
    # She gets one field wrong in the first acta.
    wrong = dict(first.verdad)
    campo = next(c for c, v in wrong.items() if v.isdigit() and v != "0")
    wrong[campo] = str(int(wrong[campo]) - 1)
    half = {c: v for c, v in list(wrong.items())[:len(wrong) // 2]}
    keys = type_acta_partly(view, half)
    save_screen(qtbot, window, "catd_capacitacion_captura.png")
    keys += type_acta_rest(view, wrong, len(half))
    qtbot.waitUntil(lambda: view.header.clave.text() == second.clave)
    keys += type_acta(view, second.verdad)
    qtbot.waitUntil(lambda: training.store.kinds_for(second.clave) == [Kind.CAPTURA.value],
                    timeout=10_000)
    wait_idle(qtbot, window.context.tasks)

    [score] = [s for s in puntajes(training) if s.operador == account(practica, CAPTURISTA)]
    assert (score.actas, score.errores, dict(score.por_campo)) == (2, 1, {campo: 1})
    assert score.campos == len(first.campos) + len(second.campos)
    assert score.teclas == keys  # every key she pressed on the two actas, no more
    assert training.status().backlog_records == 0 and training.status().capacitacion


def type_acta_partly(view: WorkView, valores: Mapping[str, str]) -> int:
    """The first fields of the acta on screen (``valores`` in form order)."""
    keys = 0
    for campo, valor in valores.items():
        edit = focused()
        assert isinstance(edit, ValueEdit) and edit.campo == campo
        if valor in ("Ilegible", "Sin dato"):
            QTest.keyClicks(edit, valor[0])
            keys += 1
        else:
            QTest.keyClicks(edit, valor)
            QTest.keyClick(edit, Qt.Key.Key_Return)
            keys += len(valor) + 1
    return keys


def type_acta_rest(view: WorkView, valores: Mapping[str, str], done: int) -> int:
    return type_acta_partly(view, dict(list(valores.items())[done:]))


def test_a_training_station_never_reaches_the_real_central(
        central: Central, tmp_path: Path, clock: FakeClock, qapp: QApplication,
        qtbot: QtBot) -> None:
    """The station's data directory is a real CATD 07 station enrolled with a real
    central (through a counting proxy); its practice lives inside it. Nothing the
    trainee does, nor an attempt to enroll the training station, opens a connection."""
    data = tmp_path / "estacion-real"
    with FaultProxy("127.0.0.1", central.node.port) as link:
        url = link.url_for(central.node.url)
        with Station.open(data) as real:
            real.enroll(url, central.node.enroll_code(catd=CATD), central.node.cert_sha256)
        prepare_practice(data, actas=2)
        before = link.stats().connections
        assert before > 0  # the real station's enrollment went through the proxy
        records = query(central.node.dsn, "SELECT count(*) FROM records")
        code = central.node.enroll_code(catd=CATD)
        with TrainingStation.open(practice_dir(data)) as station:
            with open_training_window(station, clock, qapp, qtbot) as screen:
                log_in(qtbot, screen, CAPTURISTA, PRACTICE_PASSWORD)
                view = work_view(qtbot, screen)
                type_acta(view, station.practica.actas[0].verdad)
                qtbot.waitUntil(lambda: station.store.counts()[0] == 1, timeout=10_000)
                with pytest.raises(TrainingError):
                    station.enroll(url, code, central.node.cert_sha256)
                with pytest.raises(TrainingError):
                    station.start_sync()
                qtbot.wait(300)  # a status poll or two, a refill: none may go out
        assert link.stats().connections == before
    assert query(central.node.dsn, "SELECT count(*) FROM records") == records
    assert query(central.node.dsn, "SELECT count(*) FROM stations WHERE id LIKE "
                 "'capacitacion-%%'") == [(0,)]
    # The code was never sent: a real station still enrolls with it.
    with Station.open(tmp_path / "otra") as other:
        other.enroll(central.node.url, code, central.node.cert_sha256)


def test_ccv_capacitacion_shows_the_ccv_screens_over_the_practice(
        tmp_path: Path, clock: FakeClock, qapp: QApplication, qtbot: QtBot) -> None:
    """``ccv --capacitacion``: the CCV's captura and its PREP Casilla panel, which asks
    the practice central (no photos arrive in practice) instead of a central."""
    data = prepare_practice(tmp_path / "ccv", actas=2, role="ccv")
    with TrainingStation.open(practice_dir(data)) as station:
        with open_training_window(station, clock, qapp, qtbot) as window:
            qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
            assert window.windowTitle() == "CAPACITACIÓN · PREP · CCV"
            log_in(qtbot, window, CAPTURISTA, PRACTICE_PASSWORD)
            view = work_view(qtbot, window)
            assert view.header.clave.text() == station.practica.actas[0].clave
            tabs = window.workspace.tabs
            assert [tabs.tabText(i) for i in range(tabs.count())] == ["Captura",
                                                                      "PREP Casilla"]
            tabs.setCurrentIndex(1)
            panel = tabs.currentWidget()
            assert isinstance(panel, IntakePanel)
            qtbot.waitUntil(lambda: panel.state.text().startswith("Actualizado"))
            save_screen(qtbot, window, "ccv_capacitacion_casilla.png")
            tabs.setCurrentIndex(0)


def test_a_ccv_practice_is_refused_by_catd_and_a_catd_one_by_ccv(
        prepared: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"es de CATD.*preparar --ccv"):
        open_training_station(prepared, "PREP CCV")
    ccv = prepare_practice(tmp_path / "ccv", actas=1, role="ccv")
    with pytest.raises(TrainingError, match="es de CCV"):
        open_training_station(ccv, "PREP CATD")
    station = open_training_station(ccv, "PREP CCV")
    assert isinstance(station, TrainingStation)
    station.close()


def test_practice_says_nothing_is_sent_and_has_no_cotejo(
        window: MainWindow, training: TrainingStation, qtbot: QtBot) -> None:
    """Issue 63: under the CAPACITACIÓN banner a saved acta never says «se enviará al
    nodo central», and a verificador's practice has no red Cotejo tab (a cotejo needs
    published data: the manual says it has no practice)."""
    log_in(qtbot, window, CAPTURISTA, PRACTICE_PASSWORD)
    view = work_view(qtbot, window)
    first = training.practica.actas[0]
    assert view.header.clave.text() == first.clave
    type_acta(view, first.verdad)
    qtbot.waitUntil(lambda: f"Acta {first.clave} guardada" in view.feedback.text()
                    or f"Acta {first.clave} guardada" in view.notice.detail.text())
    said = view.feedback.text() + view.notice.detail.text()
    assert "nodo central" not in said and "práctica (no se envía)" in said
    wait_idle(qtbot, window.context.tasks)
    QTest.keyClick(focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)

    log_in(qtbot, window, VERIFICADOR, PRACTICE_PASSWORD)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.workspace)
    tabs = window.workspace.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Verificación"]
    assert not tabs.tabBar().isVisible()
    QTest.keyClick(focused(), Qt.Key.Key_F8)  # no cotejo to switch to
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Verificación"]
