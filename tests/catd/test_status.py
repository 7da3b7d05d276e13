"""What the status bar says for each state of the station and its sync agent."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QObject
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMainWindow
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from catd.status import ElidedLabel
from catd.status import Health
from catd.status import StatusBarView
from catd.status import describe_status
from catd.theme import apply_theme
from catd.window import MainWindow
from central.db import make_engine
from central.stations.stations_admin import set_station_enabled
from prep.station.errors import DISABLED_MESSAGE
from prep.station.station import Station
from prep.station.station import StationStatus
from prep.station.sync import FOUND_LIST
from prep.station.sync import FOUND_MDNS
from prep.station.sync import SyncState
from tests.catd.conftest import COORDINADORA
from tests.catd.conftest import Central
from tests.catd.conftest import log_in

ONLINE = SyncState(running=True, online=True, central_url="https://10.0.0.5:8443")
ENROLLED = StationStatus(
    data_dir="/d", enrolled=True, station_id="catd-07-x", role="catd", sitio="07",
    node="central-1", central_url="https://10.0.0.5:8443", cert_sha256="ab" * 32,
    records=12, last_seq=12, backlog_records=3, backlog_bytes=2_500, batches=2,
    batches_delivered=1, blocked=None, last_receipt_at="2027-06-03T03:40:02.000000Z",
    sync=ONLINE)


def test_online_with_a_backlog_and_the_last_delivery_in_local_time() -> None:
    line = describe_status(ENROLLED)
    assert line.health is Health.ONLINE
    assert line.central == "Nodo central en línea · 10.0.0.5:8443 (dirección configurada)"
    assert line.backlog == "Por enviar: 3 registros (2.4 KB)"
    assert line.last_sync == "Último envío: 21:40:02"  # UTC-6


def test_which_node_of_the_signed_list() -> None:
    own = replace(ONLINE, found_via=FOUND_LIST)
    assert describe_status(replace(ENROLLED, sync=own)).central == \
        "Nodo central en línea · 10.0.0.5:8443 (nodo de esta estación)"
    other = replace(own, central_url="https://10.0.0.6:8443", own_node=False)
    assert describe_status(replace(ENROLLED, sync=other)).central == (
        "Nodo central en línea · 10.0.0.6:8443 (otro nodo de la lista firmada: el de esta "
        "estación no responde)")


def test_found_by_mdns_offline_and_blocked() -> None:
    assert describe_status(replace(ENROLLED, sync=replace(
        ONLINE, central_url="https://10.0.0.9:8443", found_via=FOUND_MDNS))
    ).central == "Nodo central en línea · 10.0.0.9:8443 (encontrado por mDNS)"
    offline = describe_status(replace(ENROLLED, sync=replace(
        ONLINE, online=False, last_error="No se pudo conectar."), backlog_records=1,
        backlog_bytes=10))
    assert offline.health is Health.OFFLINE
    assert offline.central.startswith("Sin conexión con el nodo central: los registros se "
                                      "guardan aquí")
    assert offline.central_detail == "No se pudo conectar."
    assert offline.backlog == "Por enviar: 1 registro (10 B)"
    blocked = describe_status(replace(ENROLLED, blocked="Lote 4 rechazado: firma."))
    assert (blocked.health, blocked.central_detail) == (Health.BLOCKED,
                                                        "Lote 4 rechazado: firma.")


def test_before_enrollment() -> None:
    line = describe_status(replace(ENROLLED, enrolled=False, sync=None, backlog_records=0,
                                   last_receipt_at=None))
    assert line.central == "Estación sin dar de alta"


class _Signals(QObject):
    """What the status bar listens to (the presenter's three signals)."""

    status_did_change = Signal(object)
    clock_did_tick = Signal(str)
    operator_did_change = Signal(str)


def _bar_window(qtbot: QtBot, width: int) -> tuple[QMainWindow, StatusBarView, _Signals]:
    """A window ``width`` wide with the status bar at its foot, shown."""
    window = QMainWindow()
    qtbot.addWidget(window)
    signals = _Signals()
    bar = StatusBarView(signals)  # type: ignore[arg-type]
    window.setStatusBar(bar)
    window.setCentralWidget(QWidget())
    window.resize(width, 768)
    window.show()
    return window, bar, signals


def test_a_long_offline_message_never_widens_the_window(qtbot: QtBot) -> None:
    window, bar, signals = _bar_window(qtbot, 1366)
    offline = describe_status(replace(ENROLLED, sync=replace(
        ONLINE, online=False, last_error="No se pudo conectar.")))
    signals.status_did_change.emit(offline)
    signals.operator_did_change.emit("Operador: Ana Acopio (acopiador)")
    signals.clock_did_tick.emit("Hora de la estación: 21:43:05")
    qtbot.waitUntil(lambda: bar.central.full_text == "● " + offline.central)
    assert window.minimumSizeHint().width() <= 1366
    assert window.width() == 1366
    window.resize(1024, 768)  # a smaller screen: the message is shortened, not the window
    # ... to whole words that still say what matters, never «Sin conexión con e».
    qtbot.waitUntil(lambda: bar.central.text() != bar.central.full_text)
    assert bar.central.text() in ("● Sin conexión con el nodo central", "● Sin conexión")
    assert window.width() == 1024
    assert bar.central.toolTip() == "No se pudo conectar."  # what went wrong, on hover


@pytest.mark.parametrize("width", [1366, 1024])
def test_a_station_the_central_disabled_says_so_and_to_call_the_coordinator(
        width: int, enrolled: Station, central: Central, window: MainWindow,
        qtbot: QtBot) -> None:
    """Issue 36: the real window over a station a coordinator disabled: the status bar
    says the central disabled this equipment, not that it is offline, and that nothing
    is lost; enabling it brings it back online. Issue 63: at 1024 px too, with an
    operator logged in, what to do is on the bar, whole (not only in the tooltip)."""
    engine = make_engine(central.node.dsn, pool_size=1)
    station_id = enrolled.store.require_identity().station_id
    bar = window.status_bar
    window.resize(width, 768)
    qtbot.waitUntil(lambda: window.width() == width, timeout=2_000)
    log_in(qtbot, window, COORDINADORA)
    try:
        qtbot.waitUntil(lambda: "en línea" in bar.central.full_text, timeout=20_000)
        set_station_enabled(engine, station_id, False, actor="coordinador:pruebas",
                            reason="prueba del tablero")
        qtbot.waitUntil(lambda: bar.central.full_text == "● El nodo central deshabilitó "
                        "este equipo: llame a su coordinador", timeout=20_000)
        qtbot.waitUntil(lambda: _fits(bar.central), timeout=2_000)
        assert "llame a su coordinador" in bar.central.text(), bar.central.text()
        assert "deshabilit" in bar.central.text()
        assert window.width() == width
        assert bar.central.toolTip() == DISABLED_MESSAGE
        assert bar.central.property("health") == Health.BLOCKED.value
        assert enrolled.status().blocked is None  # no batch held against it
        set_station_enabled(engine, station_id, True, actor="coordinador:pruebas", reason="")
        qtbot.waitUntil(lambda: "en línea" in bar.central.full_text, timeout=20_000)
    finally:
        engine.dispose()


def _online_bar(qtbot: QtBot, qapp: QApplication,
                width: int) -> tuple[QMainWindow, StatusBarView, _Signals]:
    """The themed status bar (its labels have padding 2px 10px) in a window ``width`` wide,
    online."""
    apply_theme(qapp)
    window, bar, signals = _bar_window(qtbot, width)
    qtbot.waitExposed(window)
    signals.status_did_change.emit(describe_status(ENROLLED))
    signals.clock_did_tick.emit("Hora de la estación: 21:43:05")
    return window, bar, signals


def _fits(label: ElidedLabel) -> bool:
    """Whether the text drawn is whole inside the part of the label text is drawn in."""
    return label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()


@pytest.mark.parametrize("backlog", [3, 12_345])
def test_online_at_1024_the_indicator_is_drawn_whole(
        backlog: int, qtbot: QtBot, qapp: QApplication) -> None:
    """Issue 35: at 1024 px, online, the indicator lost its last letter (the label
    measured its width, not the width left inside the style sheet's padding 2px 10px).
    Operator names of every length leave it every width a 1024 px window can; a long
    name is shortened too, never widening the window."""
    window, bar, signals = _online_bar(qtbot, qapp, 1024)
    signals.status_did_change.emit(describe_status(replace(
        ENROLLED, backlog_records=backlog, backlog_bytes=backlog * 8_000)))
    qtbot.waitUntil(lambda: bar.central.full_text.startswith("● Nodo central en línea"))
    whole_name = "María Fernanda Gutiérrez Castañeda de la Garza"
    cut = []
    for length in range(0, len(whole_name) + 1):
        signals.operator_did_change.emit(f"Operador: {whole_name[:length]} (capturista)")
        qtbot.wait(5)
        assert bar.central.text() in ("● Nodo central en línea · 10.0.0.5:8443 (dirección "
                                      "configurada)", "● Nodo central en línea", "● En línea")
        cut += [(label.width(), label.text()) for label in (bar.central, bar.operator)
                if not _fits(label)]
        assert window.width() == 1024, (length, window.width())
    assert not cut, cut
    # With room to spare, the whole name and the «Operador:» before it.
    window.resize(1366, 768)
    signals.operator_did_change.emit("Operador: Ana Acopio (acopiador)")
    qtbot.waitUntil(lambda: bar.operator.text() == "Operador: Ana Acopio (acopiador)")
    assert bar.operator.toolTip() == "Operador: Ana Acopio (acopiador)"


def test_every_width_the_indicator_can_get_shows_a_whole_text(
        qtbot: QtBot, qapp: QApplication) -> None:
    """Whatever room the other fields leave, the text chosen is drawn whole: never a
    phrase a few pixels too wide for the padded label."""
    _window, bar, _signals = _online_bar(qtbot, qapp, 1366)
    qtbot.waitUntil(lambda: bar.central.full_text.startswith("● Nodo central en línea"))
    label = bar.central
    cut = []
    for width in range(150, 460, 3):
        label.setFixedWidth(width)
        qtbot.waitUntil(lambda w=width: label.width() == w, timeout=2_000)  # type: ignore[misc]
        if not _fits(label):
            cut.append((width, label.text()))
    assert not cut, cut


@pytest.mark.parametrize(("disabled", "blocked"), [("x", None), (None, "lote rechazado")])
def test_at_1024_a_state_that_needs_action_says_what_to_do_whole(
        disabled: str | None, blocked: str | None, qtbot: QtBot, qapp: QApplication) -> None:
    """Issue 63: a red state is shortened to words that still say what to do, even
    beside a big backlog and a long name (the name and the clock give way first);
    «El nodo central desha…» was all a 1024 px bar showed."""
    window, bar, signals = _online_bar(qtbot, qapp, 1024)
    signals.status_did_change.emit(describe_status(replace(
        ENROLLED, disabled=disabled, blocked=blocked, backlog_records=12_345,
        backlog_bytes=12_345 * 8_000)))
    signals.operator_did_change.emit("Operador: María Fernanda Gutiérrez Castañeda de la "
                                     "Garza (capturista)")
    qtbot.waitUntil(lambda: bar.central.property("health") == Health.BLOCKED.value)
    qtbot.waitUntil(lambda: _fits(bar.central) and "coordinador" in bar.central.text(),
                    timeout=2_000)
    assert not bar.central.text().endswith("…")
    assert bar.clock.text() == "21:43:05"  # the words on hover
    assert bar.clock.toolTip() == "Hora de la estación: 21:43:05"
    assert window.width() == 1024
    window.resize(1366, 768)  # room to spare: the whole sentences again
    qtbot.waitUntil(lambda: bar.clock.text() == "Hora de la estación: 21:43:05")
