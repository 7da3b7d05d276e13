"""The verificación screen over real stations and a real central: two capturistas, at
two workstations, disagree on the screen, a third capture disagrees again, and the
verificador, at a workstation that made none of the captures (the one that made the
first is not given the acta), sees the image beside the three captures with the
differing field highlighted, decides it with the keyboard, gives a reason, and the acta
is validated by the verification."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.captura.widgets import ValueEdit
from catd.verificacion.view import VerificacionView
from catd.window import MainWindow
from prep.station.station import Station
from tests.catd.conftest import CATD
from tests.catd.conftest import Central
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import wait_idle
from tests.catd.test_captura import CECILIA
from tests.catd.test_captura import DIEGO
from tests.catd.test_captura import VERA
from tests.catd.test_captura import digitize
from tests.catd.test_captura import estado
from tests.catd.test_captura import fresh_actas
from tests.catd.test_captura import log_out
from tests.catd.test_captura import station
from tests.catd.test_captura import type_values
from tests.catd.test_captura import wait_estado
from tests.catd.test_captura import work_screen
from tests.catd.test_captura import work_view
from tests.catd.test_captura import workers
from tests.central.station import query
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import truth

__all__ = ["station", "workers"]  # the fixtures, shared with the captura tests


def test_with_nothing_to_verify_the_screen_says_so(
        station: Station, window: MainWindow, qtbot: QtBot) -> None:
    view = work_screen(qtbot, window, VERA, VerificacionView)
    assert view.notice.title.text() == "No hay actas por verificar en este momento"
    assert window.workspace.title.text().endswith("Verificación")


def test_a_disagreement_is_decided_on_the_verification_screen_and_validates_the_acta(
        station: Station, window: MainWindow, central: Central, workers: dict[str, str],
        another_window: Callable[[], MainWindow], qtbot: QtBot) -> None:
    [acta] = fresh_actas(central, 1)
    digitize(central, [acta])
    right = truth(acta)
    votos = [c for c in acta.layout.campos if c in acta.eleccion.campos_voto_set]
    campo = votos[2]
    # Two capturistas, at this workstation and at another one of the CATD, the second
    # one slipping on one field.
    for win, name, valores, after in (
            (window, CECILIA, right, "captura_1"),
            (another_window(), DIEGO, {**right, campo: int(right[campo]) + 1}, "captura_2")):
        log_in(qtbot, win, name)
        view = work_view(qtbot, win)
        assert view.shown is not None and view.shown.item.clave_acta == acta.clave
        type_values(view, valores, acta.layout.campos)
        wait_estado(qtbot, central, acta.clave, after)
        log_out(qtbot, win)

    # A third capture, elsewhere, disagrees with both.
    [tercera] = add_operators(central.node, [("Tere Tercera", "capturista", "07")])

    async def third() -> None:
        async with WorkStation.enroll(central.node, CATD) as other:
            [lease] = await other.next(tercera)
            assert lease["clave_acta"] == acta.clave and lease["slot"] == 3
            await other.capture(tercera, lease, {**right, campo: int(right[campo]) + 2})
    asyncio.run(third())
    assert estado(central, acta.clave) == "verificacion"

    # The workstation that made the first capture is not given its verification.
    log_in(qtbot, window, VERA)
    empty = window.workspace.tabs.currentWidget()
    assert isinstance(empty, VerificacionView)
    qtbot.waitUntil(lambda: empty.presenter.online is True)
    wait_idle(qtbot, window.context.tasks)
    assert empty.presenter.current is None
    assert empty.notice.title.text() == "No hay actas por verificar en este momento"
    assert query(central.node.dsn, "SELECT count(*) FROM leases WHERE clave_acta = %s "
                 "AND operator = %s", acta.clave, workers[VERA]) == [(0,)]
    log_out(qtbot, window)

    # At a workstation that made none of the captures, Vera gets it.
    verifier = another_window()
    log_in(qtbot, verifier, VERA)
    view = work_view(qtbot, verifier)
    assert isinstance(view, VerificacionView)
    assert view.header.clave.text() == acta.clave
    assert view.header.slot.text() == "Verificación"
    assert acta.clave in view.pending.text()
    rows = {row.spec.campo: row for row in view.table.rows}
    assert [c for c, row in rows.items() if row.difiere] == [campo]
    assert rows[campo].capturas == (str(right[campo]), str(int(right[campo]) + 1),
                                    str(int(right[campo]) + 2))
    decisions = {edit.campo: edit.text() for edit in view.table.edits}
    # Where the captures agree the decision is filled in; the disputed field is empty
    # and has the focus.
    assert decisions == {c: "" if c == campo else str(v) for c, v in right.items()}
    edit = focused()
    assert isinstance(edit, ValueEdit) and edit.campo == campo
    assert "<b>1 campo con diferencia</b> (resaltado, vacío)" in view.summary.text()
    assert f"Los {len(right) - 1} campos en que las capturas coinciden" in view.summary.text()
    assert "· 1 campo con diferencia" in view.pending.text()
    assert "(s)" not in view.summary.text() + view.pending.text()

    # Saving without a reason is refused with what to do.
    QTest.keyClicks(edit, "9")
    QTest.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "motivo" in view.feedback.text()
    assert view.header.clave.text() == acta.clave

    # Alt+1: the first capture's value (what the image says), then the reason.
    edit.setFocus()
    QTest.keyClick(edit, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert edit.text() == str(right[campo])
    assert focused() in (view.motivo, view.motivo.lineEdit())
    QTest.keyClick(focused(), Qt.Key.Key_Down)
    assert view.motivo.currentText() == "Valores leídos en la imagen del acta"
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    assert view.presenter.current is None  # nothing else to verify

    wait_estado(qtbot, central, acta.clave, "validada")
    [(fuente, valores, operator)] = query(
        central.node.dsn, "SELECT s.validada_fuente, s.validada_valores, c.operator FROM "
        "acta_states s JOIN acta_captures c ON c.record_id = s.validada_record "
        "WHERE s.clave_acta = %s", acta.clave)
    assert (fuente, valores, operator) == ("verificacion", right, workers[VERA])
    [(verified_at,)] = query(central.node.dsn, "SELECT station FROM records WHERE kind = "
                             "'verificacion' AND body->>'clave_acta' = %s", acta.clave)
    assert verified_at == verifier.context.station.store.require_identity().station_id
    # The decision is a record, with its reason.
    assert query(central.node.dsn, "SELECT body->>'motivo' FROM records WHERE kind = "
                 "'verificacion'") == [("Valores leídos en la imagen del acta",)]
    log_out(qtbot, verifier)
