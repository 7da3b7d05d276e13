"""The cotejo screen over real stations and a real central (issue 29): an acta is
validated by two capturistas' captures made at two workstations of the CATD; then a
verificador of the CATD who did not touch it, at one of them, switches from
verificación (the screen a verificador opens on) to cotejo with F8, sees the acta's
image beside its published values and, keys only, either confirms it with Ctrl+Enter
(the central records it cotejada) or marks with ↓ and Space the fields that differ from
the paper, gives a reason and sends it (the central opens a correction round for those
fields). With nothing to check the screen says so."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.cotejo.view import CotejoView
from catd.cotejo.view import DifiereCheck
from catd.verificacion.view import VerificacionView
from catd.window import MainWindow
from prep.catalog import Acta
from prep.station.station import Station
from tests.catd.conftest import Central
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import wait_idle
from tests.catd.test_captura import CECILIA
from tests.catd.test_captura import DIEGO
from tests.catd.test_captura import VERA
from tests.catd.test_captura import capture_on_screen
from tests.catd.test_captura import digitize
from tests.catd.test_captura import fresh_actas
from tests.catd.test_captura import log_out
from tests.catd.test_captura import station
from tests.catd.test_captura import wait_estado
from tests.catd.test_captura import work_view
from tests.catd.test_captura import workers
from tests.catd.work_forms import assert_fits
from tests.central.station import query
from tests.harness.work import truth

__all__ = ["station", "workers"]  # the fixtures, shared with the captura tests

SMALL = (1024, 768)


def validate_on_screens(qtbot: QtBot, window: MainWindow,
                        another_window: Callable[[], MainWindow], central: Central,
                        acta: Acta) -> None:
    """Digitize ``acta``; Cecilia captures it at ``window``, Diego at another
    workstation of the CATD: equal captures, the acta is validated (published)."""
    digitize(central, [acta])
    capture_on_screen(qtbot, window, CECILIA, acta, slot=1)
    wait_estado(qtbot, central, acta.clave, "captura_1")
    log_out(qtbot, window)
    other = another_window()
    capture_on_screen(qtbot, other, DIEGO, acta, slot=2)
    wait_estado(qtbot, central, acta.clave, "validada")
    log_out(qtbot, other)


def open_cotejo(qtbot: QtBot, window: MainWindow) -> CotejoView:
    """Vera logs in (verificación in front, as always) and presses F8."""
    log_in(qtbot, window, VERA)
    tabs = window.workspace.tabs
    assert isinstance(tabs.currentWidget(), VerificacionView)
    assert window.workspace.title.text().endswith("Verificación")
    QTest.keyClick(focused(), Qt.Key.Key_F8)
    view = tabs.currentWidget()
    assert isinstance(view, CotejoView)
    assert window.workspace.title.text().endswith("Cotejo")
    return view


def published(view: CotejoView) -> dict[str, str]:
    return {row.spec.campo: value.text()
            for row, value in zip(view.table.rows, view.table.values, strict=True)}


def test_a_verificador_switches_to_cotejo_and_an_empty_queue_is_explained(
        station: Station, window: MainWindow, qtbot: QtBot) -> None:
    log_in(qtbot, window, VERA)
    tabs = window.workspace.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Verificación (F7)",
                                                              "Cotejo (F8)"]
    verificacion = tabs.currentWidget()
    assert isinstance(verificacion, VerificacionView)  # the default, as before
    assert "<b>F8</b> cotejo" in verificacion.legend.text()
    qtbot.waitUntil(lambda: verificacion.presenter.online is True)
    wait_idle(qtbot, window.context.tasks)

    QTest.keyClick(focused(), Qt.Key.Key_F8)
    view = tabs.currentWidget()
    assert isinstance(view, CotejoView)
    assert not verificacion.presenter.started  # its actas went back to the central
    assert "<b>F7</b> verificación" in view.legend.text()
    qtbot.waitUntil(lambda: view.presenter.online is True)
    wait_idle(qtbot, window.context.tasks)
    assert view.pages.currentWidget() is view.notice
    assert view.notice.title.text() == "No hay actas por cotejar en este momento"
    assert "F5" in view.notice.text.text()

    QTest.keyClick(focused(), Qt.Key.Key_F7)  # and back
    assert tabs.currentWidget() is verificacion
    log_out(qtbot, window)


def test_an_acta_that_matches_its_paper_is_confirmed_with_one_key(
        station: Station, window: MainWindow, central: Central, workers: dict[str, str],
        another_window: Callable[[], MainWindow], qtbot: QtBot) -> None:
    [acta] = fresh_actas(central, 1)
    validate_on_screens(qtbot, window, another_window, central, acta)

    view = open_cotejo(qtbot, window)
    assert work_view(qtbot, window) is view
    assert view.header.clave.text() == acta.clave
    assert view.header.slot.text() == "Cotejo"
    # One row per field, in the acta's order, with the value published.
    assert published(view) == {c: str(v) for c, v in truth(acta).items()}
    assert [row.spec.campo for row in view.table.rows] == list(acta.layout.campos)
    check = focused()
    assert isinstance(check, DifiereCheck) and check.campo == acta.layout.campos[0]
    assert not view.unreadable.isVisible()  # no «imagen ilegible» in a cotejo

    QTest.keyClick(check, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert view.presenter.current is None  # nothing else to check: the notice shows
    qtbot.waitUntil(lambda: f"Acta {acta.clave} cotejada" in view.notice.detail.text())

    qtbot.waitUntil(lambda: query(central.node.dsn, "SELECT cotejo_operator FROM "
                                  "acta_states WHERE clave_acta = %s", acta.clave)
                    == [(workers[VERA],)], timeout=30_000)
    [(estado, station_id, correccion)] = query(
        central.node.dsn, "SELECT estado, cotejo_station, correccion_record FROM "
        "acta_states WHERE clave_acta = %s", acta.clave)
    assert estado == "validada" and correccion is None
    assert station_id == station.store.require_identity().station_id
    assert query(central.node.dsn, "SELECT body FROM records WHERE kind = 'cotejo' AND "
                 "body->>'clave_acta' = %s", acta.clave) == [
        ({"clave_acta": acta.clave, "coincide": True},)]
    log_out(qtbot, window)


def test_fields_marked_as_different_open_a_correction_round(
        station: Station, window: MainWindow, central: Central, workers: dict[str, str],
        another_window: Callable[[], MainWindow], qtbot: QtBot) -> None:
    # The widest form among the fresh actas: it has to fit 1024×768.
    acta = max(fresh_actas(central, 4), key=lambda a: len(a.layout.campos))
    validate_on_screens(qtbot, window, another_window, central, acta)
    window.resize(*SMALL)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == SMALL, timeout=2_000)

    view = open_cotejo(qtbot, window)
    assert work_view(qtbot, window) is view
    assert view.header.clave.text() == acta.clave
    assert_fits(window, view, SMALL)
    campos = acta.layout.campos
    different = [campos[2], campos[4]]

    # Down to the third field, Space; two fields further, Space. (The wedge detector
    # hands a printable key, Space too, over a few milliseconds late.)
    QTest.keyClick(focused(), Qt.Key.Key_Down)
    QTest.keyClick(focused(), Qt.Key.Key_Down)
    QTest.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.table.marked() == different[:1], timeout=2_000)
    QTest.keyClick(focused(), Qt.Key.Key_Down)
    QTest.keyClick(focused(), Qt.Key.Key_Down)
    QTest.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.table.marked() == different, timeout=2_000)
    # Space again takes a mark back, Space once more puts it back.
    QTest.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.table.marked() == different[:1], timeout=2_000)
    QTest.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.table.marked() == different, timeout=2_000)
    assert "<b>2 campos con diferencia</b>" in view.summary.text()
    assert view.save.text() == "Enviar diferencia (Ctrl+Enter)"
    assert_fits(window, view, SMALL)

    # Without a reason it is not sent, and the keyboard goes to the reason.
    QTest.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert view.header.clave.text() == acta.clave
    assert "motivo de la diferencia" in view.feedback.text()
    assert focused() in (view.motivo, view.motivo.lineEdit())
    QTest.keyClick(focused(), Qt.Key.Key_Down)  # the first usual reason
    assert view.motivo.currentText() == "El acta en papel dice otra cantidad"
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    assert view.presenter.current is None
    qtbot.waitUntil(lambda: "diferencia enviada (2 campos)" in view.notice.detail.text())

    wait_estado(qtbot, central, acta.clave, "digitalizada")
    [(campos_db, motivo, operator, cotejo)] = query(
        central.node.dsn, "SELECT correccion_campos, correccion_motivo, "
        "correccion_operator, cotejo_record FROM acta_states WHERE clave_acta = %s",
        acta.clave)
    assert campos_db == different
    assert motivo == "El acta en papel dice otra cantidad"
    assert operator == workers[VERA] and cotejo is None
    # The published data stays published meanwhile.
    assert query(central.node.dsn, "SELECT validada_valores FROM acta_states WHERE "
                 "clave_acta = %s", acta.clave) == [(truth(acta),)]
    log_out(qtbot, window)
