"""Captura and verificación driven by keys alone across elections whose forms differ
(CATD 26: Jefatura 22 fields, Diputaciones 14, Alcaldías 18), at 1366×768 and 1024×768,
over a real central: whatever key saved the acta (Ctrl+Enter, Enter or Tab on the last
field, F2 «imagen ilegible», F5 from the empty queue) the keyboard focus is on the new
form's first field and the next digits land there; every column of the form fits the
window without sideways scrolling; the last save of the queue says it was saved;
Ctrl+Q with typed values asks first and stays by default."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from catd.captura.view import CapturaView
from catd.captura.view import WorkView
from catd.verificacion.view import VerificacionView
from catd.window import MainWindow
from prep.catalog import Acta
from prep.station.station import Station
from tests.catd.conftest import Central
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import wait_idle
from tests.catd.test_captura import estado
from tests.catd.test_captura import log_out
from tests.catd.test_captura import wait_estado
from tests.catd.work_forms import ALCALDIAS
from tests.catd.work_forms import CATD_FORMS
from tests.catd.work_forms import DIPUTACIONES
from tests.catd.work_forms import JEFATURA
from tests.catd.work_forms import SCALE
from tests.catd.work_forms import SEED
from tests.catd.work_forms import SITIO
from tests.catd.work_forms import SIZES
from tests.catd.work_forms import assert_fits
from tests.catd.work_forms import assert_focus_on
from tests.catd.work_forms import digitize_here
from tests.catd.work_forms import disputed
from tests.catd.work_forms import fresh_in_order
from tests.catd.work_forms import to_verificacion
from tests.central.station import query
from tests.harness.central import running_central
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import truth

CAPTURISTA = "Camila Formas"
VERIFICADOR = "Víctor Formas"
COORDINADOR = "Coral Formas"
OTROS = ("Otto Uno", "Otto Dos", "Otto Tres")


@pytest.fixture(scope="module")
def central(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    """This module's own central: a catalog where CATD 26's three forms differ."""
    with running_central(tmp_path_factory.mktemp("forms-central"), pg_dsn) as node:
        catalog = load_catalog(node, scale=SCALE, seed=SEED)
        yield Central(node, catalog)


@pytest.fixture(scope="module")
def people(central: Central) -> dict[str, str]:
    names = (CAPTURISTA, VERIFICADOR, COORDINADOR, *OTROS)
    roles = ("capturista", "verificador", "coordinador", "capturista", "capturista",
             "capturista")
    ids = add_operators(central.node, [(n, r, SITIO) for n, r in zip(names, roles,
                                                                      strict=True)])
    return dict(zip(names, ids, strict=True))


@pytest.fixture
def station(tmp_path_factory: pytest.TempPathFactory, central: Central,
            people: dict[str, str]) -> Iterator[Station]:
    """A CATD 26 station, enrolled after the module's operators exist."""
    with Station.open(tmp_path_factory.mktemp("forms") / "station") as opened:
        opened.enroll(central.node.url, central.node.enroll_code(catd=CATD_FORMS),
                      central.node.cert_sha256)
        yield opened


def at_size(qtbot: QtBot, window: MainWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=2_000)


def next_acta(qtbot: QtBot, view: WorkView, acta: Acta) -> None:
    """Until ``acta`` is on screen (with its image: the form is laid out by then)."""
    qtbot.waitUntil(lambda: view.shown is not None
                    and view.shown.item.clave_acta == acta.clave, timeout=20_000)
    qtbot.waitUntil(lambda: view.image.has_image, timeout=20_000)


def fill(view: CapturaView, acta: Acta, campos: Sequence[str],
         key: Qt.Key = Qt.Key.Key_Return) -> None:
    """Type the true values of ``campos`` in turn, each ended with ``key``; the focus
    must already be on each field."""
    valores = truth(acta)
    for campo in campos:
        edit = assert_focus_on(view, campo)
        QTest.keyClicks(edit, str(valores[campo]))
        QTest.keyClick(edit, key)


def ctrl_enter() -> None:
    QTest.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def ctrl_enter_from_the_last_field(view: CapturaView, acta: Acta) -> None:
    """Type the true values of ``acta``'s fields, the last one not ended, and save with
    Ctrl+Enter from there."""
    fill(view, acta, acta.layout.campos[:-1])
    QTest.keyClicks(focused(), str(truth(acta)[acta.layout.campos[-1]]))
    ctrl_enter()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_captura_keeps_the_keyboard_on_the_form_whatever_key_saved_and_fits(
        size: tuple[int, int], station: Station, window: MainWindow, central: Central,
        people: dict[str, str], qtbot: QtBot) -> None:
    order = (JEFATURA, DIPUTACIONES, ALCALDIAS, JEFATURA, DIPUTACIONES, ALCALDIAS)
    actas = fresh_in_order(central, [*order, JEFATURA])
    queue, later = actas[:-1], actas[-1]
    assert [len(a.layout.campos) for a in queue[:3]] == [22, 14, 18]  # three forms
    digitize_here(central, people[COORDINADOR], queue)
    at_size(qtbot, window, size)
    log_in(qtbot, window, CAPTURISTA)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, CapturaView)

    def shows(acta: Acta) -> None:
        if view.shown is not None and view.shown.item.clave_acta == acta.clave:
            assert_focus_on(view, acta.layout.campos[0])  # at once, and after:
        next_acta(qtbot, view, acta)
        assert [e.campo for e in view.form.edits] == list(acta.layout.campos)
        assert_focus_on(view, acta.layout.campos[0])
        assert_fits(window, view, size)

    first, second, third, fourth, fifth, last = queue
    shows(first)
    # Ctrl+Enter from the last field.
    ctrl_enter_from_the_last_field(view, first)
    shows(second)
    # Enter on the last field.
    fill(view, second, second.layout.campos)
    shows(third)
    # Tab after every field, the last one included.
    fill(view, third, third.layout.campos, Qt.Key.Key_Tab)
    shows(fourth)
    # F2, the first usual reason, Enter.
    QTest.keyClicks(focused(), "7")
    QTest.keyClick(focused(), Qt.Key.Key_F2)
    assert view.ilegible.isVisible()
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    shows(fifth)
    ctrl_enter_from_the_last_field(view, fifth)
    shows(last)
    fill(view, last, last.layout.campos)

    # The last save of the queue says so, on the page that replaces the form.
    qtbot.waitUntil(lambda: view.pages.currentWidget() is view.notice)
    qtbot.waitUntil(lambda: f"Acta {last.clave} guardada" in view.notice.detail.text())
    assert view.notice.detail.isVisible()

    # F5 from the empty queue brings a new acta with its own form.
    digitize_here(central, people[COORDINADOR], [later])
    QTest.keyClick(focused(), Qt.Key.Key_F5)
    shows(later)
    qtbot.waitUntil(lambda: "1 acta por capturar, lista." in view.queue_line.text())
    ctrl_enter_from_the_last_field(view, later)  # the shortcuts still work after every rebuild
    qtbot.waitUntil(lambda: f"Acta {later.clave} guardada" in view.notice.detail.text())

    for acta in (first, second, third, fifth, last, later):
        wait_estado(qtbot, central, acta.clave, "captura_1")
    wait_estado(qtbot, central, fourth.clave, "redigitalizacion")
    log_out(qtbot, window)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_verificacion_keeps_the_keyboard_on_the_dispute_whatever_key_saved_and_fits(
        size: tuple[int, int], station: Station, window: MainWindow, central: Central,
        people: dict[str, str], qtbot: QtBot) -> None:
    others = [people[n] for n in OTROS]
    actas = fresh_in_order(central, (JEFATURA, DIPUTACIONES, ALCALDIAS, JEFATURA,
                                     DIPUTACIONES))
    queue, later = actas[:-1], actas[-1]
    to_verificacion(central, people[COORDINADOR], others, queue)
    at_size(qtbot, window, size)
    log_in(qtbot, window, VERIFICADOR)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, VerificacionView)

    def shows(acta: Acta) -> None:
        if view.shown is not None and view.shown.item.clave_acta == acta.clave:
            assert_focus_on(view, disputed(acta))  # at once, and after:
        next_acta(qtbot, view, acta)
        assert [e.campo for e in view.table.edits] == list(acta.layout.campos)
        assert_focus_on(view, disputed(acta))
        assert_fits(window, view, size)
        # The three captures and the decision, side by side.
        heads = [w.text() for w in view.table.heads]
        assert heads == ["CAMPO", "CAPTURA 1", "CAPTURA 2", "CAPTURA 3", "DECISIÓN"]

    def decide(acta: Acta) -> None:
        edit = assert_focus_on(view, disputed(acta))
        QTest.keyClicks(edit, str(truth(acta)[disputed(acta)]))
        QTest.keyClick(edit, Qt.Key.Key_Return)  # to the reason
        QTest.keyClick(focused(), Qt.Key.Key_Down)
        assert view.motivo.currentText() == "Valores leídos en la imagen del acta"

    first, second, third, fourth = queue
    shows(first)
    decide(first)
    # Ctrl+Q with a decision typed asks first; Esc stays, all kept.
    QTest.keyClick(focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert "2 campos escritos" in dialog(qtbot).text()  # the decision and the reason
    QTest.keyClick(focused(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    assert view.motivo.currentText() == "Valores leídos en la imagen del acta"
    ctrl_enter()
    shows(second)
    # Alt+1 takes the first capture's value and goes on to the reason; Enter saves.
    QTest.keyClick(focused(), Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    QTest.keyClick(focused(), Qt.Key.Key_Down)
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    shows(third)
    QTest.keyClick(focused(), Qt.Key.Key_F2)
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    shows(fourth)
    decide(fourth)
    ctrl_enter()
    qtbot.waitUntil(lambda: view.pages.currentWidget() is view.notice)
    qtbot.waitUntil(lambda: f"Acta {fourth.clave} guardada" in view.notice.detail.text())

    to_verificacion(central, people[COORDINADOR], others, [later])
    QTest.keyClick(focused(), Qt.Key.Key_F5)
    shows(later)
    decide(later)
    ctrl_enter()
    qtbot.waitUntil(lambda: f"Acta {later.clave} guardada" in view.notice.detail.text())

    for acta in (first, second, fourth, later):
        wait_estado(qtbot, central, acta.clave, "validada")
    wait_estado(qtbot, central, third.clave, "redigitalizacion")
    log_out(qtbot, window)


def dialog(qtbot: QtBot) -> QMessageBox:
    """The question on screen, with the keyboard on it."""
    box = QApplication.activeModalWidget()
    assert isinstance(box, QMessageBox), f"no question on screen ({box!r})"
    qtbot.waitUntil(lambda: QApplication.activeWindow() is box)
    assert box.isAncestorOf(focused())
    return box


def test_ctrl_q_with_typed_values_asks_first_and_stays_by_default(
        station: Station, window: MainWindow, central: Central, people: dict[str, str],
        qtbot: QtBot) -> None:
    [acta] = fresh_in_order(central, (ALCALDIAS,))
    digitize_here(central, people[COORDINADOR], [acta])
    log_in(qtbot, window, CAPTURISTA)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, CapturaView)
    next_acta(qtbot, view, acta)
    campos = acta.layout.campos
    fill(view, acta, campos[:3])
    typed: Mapping[str, str] = {e.campo: e.text() for e in view.form.edits}

    for key in (Qt.Key.Key_Escape, Qt.Key.Key_Return):  # Esc and the default: stay
        QTest.keyClick(focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        box = dialog(qtbot)
        assert box.windowTitle() == "¿Cerrar la sesión?"
        assert acta.clave in box.text() and "3 campos escritos" in box.text()
        assert {b.text() for b in box.buttons()} == {"Seguir en el acta",
                                                     "Cerrar sesión sin guardar"}
        assert focused().text() == "Seguir en el acta"  # type: ignore[attr-defined]
        QTest.keyClick(focused(), key)
        qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None
                        and QApplication.activeWindow() is window)
        assert window.pages.currentWidget() is window.workspace
        assert {e.campo: e.text() for e in view.form.edits} == typed
        assert_focus_on(view, campos[3])  # back where the capturista was

    # Tab to «Cerrar sesión sin guardar», Enter: out, the acta goes back to the central.
    QTest.keyClick(focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    box = dialog(qtbot)
    QTest.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused().text() == "Cerrar sesión sin guardar"  # type: ignore[attr-defined]
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    wait_idle(qtbot, window.context.tasks)
    assert estado(central, acta.clave) == "digitalizada"  # nothing of it was recorded
    qtbot.waitUntil(lambda: query(central.node.dsn, "SELECT status FROM leases WHERE "
                                  "operator = %s AND clave_acta = %s", people[CAPTURISTA],
                                  acta.clave) == [("returned",)], timeout=30_000)

    # Nothing typed: Ctrl+Q logs out at once, no question.
    log_in(qtbot, window, CAPTURISTA)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, CapturaView)
    qtbot.waitUntil(lambda: view.presenter.online is not None)
    QTest.keyClick(focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.activeModalWidget() is None
    assert window.pages.currentWidget() is window.login
