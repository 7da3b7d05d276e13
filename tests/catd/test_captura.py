"""The captura screen over a real station enrolled with a real central: an empty queue
is explained; a capturista types an acta with keys alone (digits, I, S, Enter) and the
next acta is on screen, image included, the moment the first is saved; the captures
reach the central; two capturistas' captures, made at two stations, validate the acta
(the station of the first is not given the second); an unreadable image goes back to
digitalización; logging out gives the held actas back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from catd.captura.presenter import CapturaPresenter
from catd.captura.presenter import Notice
from catd.captura.view import CapturaView
from catd.captura.view import WorkView
from catd.captura.widgets import ValueEdit
from catd.imageview import decode_image
from catd.taskman import TaskManager
from catd.window import MainWindow
from prep.catalog import Acta
from prep.records import Kind
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from prep.station.accounts import Operator
from prep.station.station import Station
from prep.values import parse_valor
from tests.catd.conftest import CATD
from tests.catd.conftest import Central
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import wait_idle
from tests.central.station import query
from tests.harness.proxy import FaultProxy
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import image_body
from tests.harness.work import site_account
from tests.harness.work import truth

V = TypeVar("V", bound=WorkView)

CECILIA = "Cecilia Captura"
DIEGO = "Diego Captura"
VERA = "Vera Verifica"
SYNC_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def workers(central: Central) -> dict[str, str]:
    """Two capturistas and a verificador of CATD 07 (name → operator id), created before
    any station of the module enrolls, so the stations' bundles carry them."""
    names = (CECILIA, DIEGO, VERA)
    ids = add_operators(central.node, [(CECILIA, "capturista", "07"),
                                       (DIEGO, "capturista", "07"),
                                       (VERA, "verificador", "07")])
    return dict(zip(names, ids, strict=True))


@pytest.fixture
def station(workers: dict[str, str], enrolled: Station) -> Station:
    """The CATD 07 station, enrolled after the module's operators exist."""
    return enrolled


# helpers (also used by test_verificacion) ---------------------------------------------

def acta_image(acta: Acta, valores: Mapping[str, int | str]) -> bytes:
    """A scanned JPEG of ``acta`` with ``valores`` written on it (small: 100 dpi)."""
    written = {c: parse_valor(v) if isinstance(v, str) else v for c, v in valores.items()}
    return render_acta_image(acta, written, ActaImageOptions(
        dpi=100, seed=zlib.crc32(acta.clave.encode())))


def scan_elsewhere(central: Central, catd: int, acopiador: str, digitalizador: str,
                   actas: Sequence[Acta]) -> None:
    """Another station of CATD ``catd`` records the acopio (by ``acopiador``) and a
    scanned image (by ``digitalizador``) of each acta."""
    async def run() -> None:
        async with WorkStation.enroll(central.node, catd) as scanner:
            specs: list[tuple[Kind, str, Mapping[str, object]]] = []
            for acta in actas:
                data = acta_image(acta, truth(acta))
                await scanner.put_blob(data)
                body = {**image_body(acta.clave, data), "media_type": "image/jpeg"}
                specs += [(Kind.ACOPIO, acopiador, {"clave_acta": acta.clave}),
                          (Kind.IMAGEN, digitalizador, body)]
            await scanner.send(specs)
    asyncio.run(run())


def digitize(central: Central, actas: Sequence[Acta]) -> None:
    """Another station of CATD 07 records the acopio and a scanned image of each acta
    (by its acopiador and digitalizador: the central takes records only from them)."""
    scan_elsewhere(central, CATD, site_account(central.node, "acopiador", f"{CATD:02d}"),
                   site_account(central.node, "digitalizador", f"{CATD:02d}"), actas)


def fresh_actas(central: Central, n: int) -> list[Acta]:
    """``n`` actas of CATD 07 nobody has reported yet."""
    waiting = {row[0] for row in query(central.node.dsn, "SELECT clave_acta FROM acta_states "
                                       "WHERE estado = 'esperada'")}
    actas = sorted((a for a in central.actas_here() if a.clave in waiting),
                   key=lambda a: a.clave)[:n]
    assert len(actas) == n
    return actas


def estado(central: Central, clave: str) -> str:
    return str(query(central.node.dsn, "SELECT estado FROM acta_states WHERE clave_acta = %s",
                     clave)[0][0])


def wait_estado(qtbot: QtBot, central: Central, clave: str, expected: str) -> None:
    """Until the station's sync agent delivered and the central reached ``expected``."""
    qtbot.waitUntil(lambda: estado(central, clave) == expected, timeout=SYNC_TIMEOUT_MS)


def captures(central: Central, clave: str) -> list[tuple[str, dict[str, object]]]:
    """(operator, valores) of the acta's captures at the central, in order."""
    return [(str(op), dict(v)) for op, v in query(
        central.node.dsn, "SELECT operator, valores FROM acta_captures WHERE clave_acta = %s "
        "ORDER BY position", clave)]


def work_view(qtbot: QtBot, window: MainWindow) -> WorkView:
    """The logged-in operator's work screen once an acta and its image are on it."""
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, WorkView)
    qtbot.waitUntil(lambda: view.shown is not None and view.image.has_image, timeout=20_000)
    wait_idle(qtbot, window.context.tasks)  # the next actas' images decoded too
    return view


def type_values(view: WorkView, valores: Mapping[str, int | str],
                campos: Sequence[str]) -> None:
    """Type ``valores`` field after field, as the operator does: the focus must already
    be on each field in turn; numbers end with Enter, I and S move on by themselves."""
    for campo in campos:
        edit = focused()
        assert isinstance(edit, ValueEdit) and edit.campo == campo
        valor = valores[campo]
        if valor == "Ilegible":
            QTest.keyClicks(edit, "i")
        elif valor == "Sin dato":
            QTest.keyClicks(edit, "S")
        else:
            QTest.keyClicks(edit, str(valor))
            QTest.keyClick(edit, Qt.Key.Key_Return)


def acta_of(central: Central, view: WorkView) -> Acta:
    assert view.shown is not None
    acta = central.catalog.acta(view.shown.item.clave_acta)
    assert acta is not None
    return acta


def work_screen(qtbot: QtBot, window: MainWindow, operator: str, kind: type[V]) -> V:
    """Log ``operator`` in; the work screen shown, of ``kind``, once it reached the
    central and settled."""
    log_in(qtbot, window, operator)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, kind)
    qtbot.waitUntil(lambda: view.presenter.online is True)
    wait_idle(qtbot, window.context.tasks)
    return view


def log_out(qtbot: QtBot, window: MainWindow) -> None:
    QTest.keyClick(focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    wait_idle(qtbot, window.context.tasks)


# tests --------------------------------------------------------------------------------

def test_with_nothing_to_capture_the_screen_says_what_to_do(
        station: Station, window: MainWindow, qtbot: QtBot) -> None:
    view = work_screen(qtbot, window, CECILIA, CapturaView)
    assert view.pages.currentWidget() is view.notice
    assert view.notice.title.text() == "No hay actas por capturar en este momento"
    assert "F5" in view.notice.text.text() and "coordinador" in view.notice.text.text()
    assert window.workspace.title.text().endswith("Captura")


def test_a_capture_typed_with_keys_alone_reaches_the_central_and_the_next_acta_is_at_hand(
        station: Station, window: MainWindow, central: Central, workers: dict[str, str],
        qtbot: QtBot) -> None:
    first, second = fresh_actas(central, 2)
    digitize(central, [first, second])
    log_in(qtbot, window, CECILIA)
    view = work_view(qtbot, window)
    assert isinstance(view, CapturaView)
    assert acta_of(central, view) == first
    assert view.header.clave.text() == first.clave
    assert view.header.slot.text() == "Captura 1"
    assert "Distrito 07 · Sección" in view.header.where.text().replace("\xa0", " ")
    # The image on screen is the scanned file, decoded as it is.
    shown = view.shown
    assert shown is not None
    original = station.blobs.read(shown.item.image_sha256)
    assert hashlib.sha256(original).hexdigest() == shown.item.image_sha256
    decoded = decode_image(original)
    assert decoded is not None
    assert (decoded.width(), decoded.height()) == view.image.image_size()

    # Blind: nothing typed by anyone is on the form.
    assert all(edit.text() == "" for edit in view.form.edits)
    valores: dict[str, int | str] = dict(truth(first))
    votos = [c for c in first.layout.campos if c in first.eleccion.campos_voto_set]
    valores[votos[0]] = "Ilegible"
    valores[votos[1]] = "Sin dato"
    type_values(view, valores, first.layout.campos[:-1])
    assert "Suma de votos" in view.sum_line.text()
    type_values(view, valores, first.layout.campos[-1:])  # Enter on the last: saved

    # The next acta is on screen at once, its image with it (decoded ahead of time).
    assert view.header.clave.text() == second.clave
    assert view.image.has_image
    assert all(edit.text() == "" for edit in view.form.edits)
    assert isinstance(focused(), ValueEdit) and focused() is view.form.edits[0]

    type_values(view, truth(second), second.layout.campos)
    wait_estado(qtbot, central, first.clave, "captura_1")
    wait_estado(qtbot, central, second.clave, "captura_1")
    cecilia = workers[CECILIA]
    assert captures(central, first.clave) == [(cecilia, valores)]
    assert captures(central, second.clave) == [(cecilia, truth(second))]
    qtbot.waitUntil(lambda: "guardada" in view.feedback.text())
    log_out(qtbot, window)

    # A second capture made elsewhere with the same values validates both actas,
    # Ilegible and Sin dato included.
    async def second_captures() -> None:
        async with WorkStation.enroll(central.node, CATD) as other:
            for lease in await other.next(workers[DIEGO], prefetch=2):
                acta = central.catalog.acta(lease["clave_acta"])
                assert acta is not None
                await other.capture(workers[DIEGO], lease,
                                    valores if acta == first else truth(acta))
    asyncio.run(second_captures())
    assert estado(central, first.clave) == estado(central, second.clave) == "validada"
    [(published,)] = query(central.node.dsn, "SELECT validada_valores FROM acta_states "
                           "WHERE clave_acta = %s", first.clave)
    assert published[votos[0]] == "Ilegible" and published[votos[1]] == "Sin dato"


def test_two_capturistas_captures_validate_the_acta(
        station: Station, window: MainWindow, central: Central, workers: dict[str, str],
        another_window: Callable[[], MainWindow], qtbot: QtBot) -> None:
    [acta] = fresh_actas(central, 1)
    digitize(central, [acta])
    # Cecilia captures it at this station.
    capture_on_screen(qtbot, window, CECILIA, acta, slot=1)
    wait_estado(qtbot, central, acta.clave, "captura_1")
    log_out(qtbot, window)

    # Diego at the same station is not given it: one station (one key) never makes both
    # captures of an acta. His screen says there is nothing to capture.
    view = work_screen(qtbot, window, DIEGO, CapturaView)
    assert view.pages.currentWidget() is view.notice
    assert view.notice.title.text() == "No hay actas por capturar en este momento"
    assert query(central.node.dsn, "SELECT count(*) FROM leases WHERE clave_acta = %s "
                 "AND operator = %s", acta.clave, workers[DIEGO]) == [(0,)]
    log_out(qtbot, window)

    # At another station of the CATD he gets it, and his capture validates the acta.
    other = another_window()
    capture_on_screen(qtbot, other, DIEGO, acta, slot=2)
    wait_estado(qtbot, central, acta.clave, "validada")
    log_out(qtbot, other)
    stations = [window.context.station.store.require_identity().station_id,
                other.context.station.store.require_identity().station_id]
    assert [(op, st) for op, st in query(
        central.node.dsn, "SELECT operator, station FROM acta_captures WHERE clave_acta = %s "
        "ORDER BY position", acta.clave)] == list(zip(
            (workers[CECILIA], workers[DIEGO]), stations, strict=True))
    [(fuente, valores)] = query(central.node.dsn, "SELECT validada_fuente, validada_valores "
                                "FROM acta_states WHERE clave_acta = %s", acta.clave)
    assert fuente == "captura" and valores == truth(acta)


def capture_on_screen(qtbot: QtBot, window: MainWindow, name: str, acta: Acta,
                      slot: int) -> None:
    """``name`` logs in at ``window``, finds ``acta`` on the captura screen as capture
    ``slot``, blind, types it by keys and saves it with Ctrl+Enter from the last field."""
    log_in(qtbot, window, name)
    view = work_view(qtbot, window)
    assert isinstance(view, CapturaView)
    assert view.shown is not None and view.shown.item.clave_acta == acta.clave
    assert view.header.slot.text() == f"Captura {slot}"
    assert all(edit.text() == "" for edit in view.form.edits)  # blind
    type_values(view, truth(acta), acta.layout.campos[:-1])
    # Ctrl+Enter saves from any field.
    QTest.keyClicks(focused(), str(truth(acta)[acta.layout.campos[-1]]))
    QTest.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert view.presenter.current is None  # nothing else to do: the notice shows


def test_an_incomplete_form_is_not_saved_and_says_what_is_missing(
        station: Station, window: MainWindow, central: Central, qtbot: QtBot) -> None:
    [acta] = fresh_actas(central, 1)
    digitize(central, [acta])
    log_in(qtbot, window, CECILIA)
    view = work_view(qtbot, window)
    assert isinstance(view, CapturaView)
    type_values(view, truth(acta), acta.layout.campos[:3])
    QTest.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert view.header.clave.text() == acta.clave  # still here
    assert view.feedback.text().startswith("Falta capturar: Votos sacados de la urna")
    edit = focused()
    assert isinstance(edit, ValueEdit) and edit.campo == acta.layout.campos[3]
    # A fifth digit and letters other than I and S are not taken.
    QTest.keyClicks(edit, "12345x")
    assert edit.text() == "1234"
    QTest.keyClick(edit, Qt.Key.Key_Return)
    type_values(view, truth(acta), acta.layout.campos[4:])
    wait_estado(qtbot, central, acta.clave, "captura_1")
    [(_, valores)] = captures(central, acta.clave)
    assert valores == {**truth(acta), acta.layout.campos[3]: 1234}
    log_out(qtbot, window)


def test_an_unreadable_image_goes_back_to_digitalizacion_and_logout_gives_work_back(
        station: Station, window: MainWindow, central: Central, workers: dict[str, str],
        qtbot: QtBot) -> None:
    bad, other = fresh_actas(central, 2)
    digitize(central, [bad, other])
    log_in(qtbot, window, CECILIA)  # Diego has the last test's acta waiting
    view = work_view(qtbot, window)
    assert view.header.clave.text() == bad.clave
    QTest.keyClick(focused(), Qt.Key.Key_F2)
    assert view.ilegible.isVisible()
    QTest.keyClick(focused(), Qt.Key.Key_Down)  # the second usual reason
    assert view.ilegible.motivo.currentText() == "Imagen incompleta o cortada"
    QTest.keyClick(focused(), Qt.Key.Key_Return)
    assert not view.ilegible.isVisible()
    assert view.header.clave.text() == other.clave  # the next one, at once
    wait_estado(qtbot, central, bad.clave, "redigitalizacion")
    records = [json.loads(c) for _, _, c in station.store.records()]
    [ilegible] = [r for r in records if r["kind"] == Kind.ILEGIBLE.value]
    assert ilegible["body"]["motivo"] == "Imagen incompleta o cortada"

    log_out(qtbot, window)
    cecilia = workers[CECILIA]
    qtbot.waitUntil(lambda: query(central.node.dsn, "SELECT status FROM leases WHERE "
                                  "operator = %s AND clave_acta = %s", cecilia, other.clave)
                    == [("returned",)], timeout=SYNC_TIMEOUT_MS)


def test_offline_the_presenter_keeps_the_work_it_holds_and_explains_an_empty_queue(
        central: Central, workers: dict[str, str], tmp_path: Path, qtbot: QtBot,
        qapp: QApplication) -> None:
    """The presenter alone (no widgets), behind a link the test cuts."""
    [acta] = fresh_actas(central, 1)
    digitize(central, [acta])
    operator = Operator(workers[DIEGO], DIEGO, "capturista", "07")
    with FaultProxy("127.0.0.1", central.node.port) as link, \
            Station.open(tmp_path / "st") as station:
        station_id = station.enroll(link.url_for(central.node.url),
                                    central.node.enroll_code(catd=CATD),
                                    central.node.cert_sha256).station_id
        tasks = TaskManager()
        presenter = CapturaPresenter(station, operator, tasks)
        shown: list[object] = []
        queue: list[str] = []
        presenter.shown_did_change.connect(shown.append)
        presenter.queue_did_change.connect(lambda tone, text, rows: queue.append(text))
        presenter.start()
        qtbot.waitUntil(lambda: presenter.current is not None and tasks.pending == 0)
        held = len(presenter.ahead())  # this acta and one left waiting by a test above
        assert acta.clave in {item.clave_acta for item in presenter.ahead()}

        link.cut()
        presenter.refill()
        qtbot.waitUntil(lambda: presenter.online is False and tasks.pending == 0)
        assert presenter.current is not None  # the acta held stays on screen
        actas = "1 acta descargada." if held == 1 else f"{held} actas descargadas."
        assert f"siga trabajando: tiene {actas}" in queue[-1]

        # Set aside one by one, nothing is left: the screen says what to do.
        while presenter.current is not None:
            presenter.skip_unavailable()
        notice = shown[-1]
        assert isinstance(notice, Notice)
        assert notice.title == "Sin conexión con el nodo central"
        assert "cable de red" in notice.message and "solas" in notice.message

        link.restore()
        presenter.stop()  # logout: the lease goes back to the central (hers again later)
        qtbot.waitUntil(lambda: tasks.pending == 0)
        tasks.shutdown()
    assert query(central.node.dsn, "SELECT DISTINCT status FROM leases WHERE operator = %s "
                 "AND station = %s", operator.id, station_id) == [("returned",)]
