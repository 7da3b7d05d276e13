"""The acopio screen by keys alone, at 1366×768 and 1024×768, over a real station and a
real central: Space and Enter press its buttons while scans are still told from typing
(issue 35), codes read while the catalog loads are registered once it is ready, a sin
acta registered by mistake is corrected with F7 (and the central takes the acta as
acopiada without an anomaly), and a misread is never offered nor stored as an acta
fuera de catálogo (issue 38)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.acopio.view import AcopioView
from catd.window import MainWindow
from prep.catalog import Acta
from prep.paquete import traslado_de_casilla
from prep.qr import is_acta_code
from prep.station.errors import StationInputError
from prep.station.printing import FakePrinter
from prep.station.station import Station
from tests.catd.conftest import ACOPIADOR
from tests.catd.conftest import CAPTURISTA
from tests.catd.conftest import COORDINADORA
from tests.catd.conftest import PASSWORD
from tests.catd.conftest import PERSON_GAP_MS
from tests.catd.conftest import Central
from tests.catd.conftest import FakeClock
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import scan
from tests.catd.conftest import type_as
from tests.catd.conftest import wait_idle
from tests.catd.test_captura import SYNC_TIMEOUT_MS
from tests.catd.test_captura import estado
from tests.central.station import query
from tests.harness.central import running_central
from tests.harness.work import add_operators
from tests.harness.work import load_catalog

SIZES = [(1366, 768), (1024, 768)]


@pytest.fixture(scope="module")
def central(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    """This module's own central, with enough actas at CATD 07 for every test at both
    sizes to use actas nobody else touched."""
    with running_central(tmp_path_factory.mktemp("acopio-teclado"), pg_dsn) as node:
        catalog = load_catalog(node, scale=0.02)
        add_operators(node, [(ACOPIADOR, "acopiador", "07"), (CAPTURISTA, "capturista", "07"),
                             (COORDINADORA, "coordinador", "07")])
        yield Central(node, catalog)


@pytest.fixture(params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return tuple(request.param)  # type: ignore[return-value]


_taken: set[str] = set()


def fresh(central: Central, n: int = 1) -> list[Acta]:
    """``n`` actas of CATD 07, of casillas no earlier test of this module touched (a sin
    acta for a casilla-wide cause registers every acta of the casilla)."""
    actas: list[Acta] = []
    for acta in central.actas_here():
        if len(actas) < n and acta.casilla.clave not in _taken:
            actas.append(acta)
            _taken.add(acta.casilla.clave)
    assert len(actas) == n, "the module's catalog ran out of casillas at CATD 07"
    return actas


def open_acopio(qtbot: QtBot, window: MainWindow, size: tuple[int, int]) -> AcopioView:
    window.resize(*size)
    log_in(qtbot, window, ACOPIADOR)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, AcopioView)
    qtbot.waitUntil(lambda: view.presenter.ready)
    assert (window.width(), window.height()) == size
    return view


def press(clock: FakeClock, key: Qt.Key) -> None:
    """One key into whatever has the focus, at a person's pace."""
    clock.advance(PERSON_GAP_MS)
    QTest.keyClick(focused(), key)


def records(station: Station) -> list[dict[str, object]]:
    """Acopio and sin acta records stored (not heartbeats)."""
    rows = [json.loads(canonical) for _, _, canonical in station.store.records()]
    return [r for r in rows if r["kind"] in ("acopio", "sin_acta")]


def test_space_and_enter_press_the_buttons_and_scans_are_still_scans(
        size: tuple[int, int], enrolled: Station, window: MainWindow, central: Central,
        clock: FakeClock, qtbot: QtBot) -> None:
    view = open_acopio(qtbot, window, size)
    sin_acta, typed, scanned = fresh(central, 3)

    # Sin acta: F6, the clave typed, Tab Tab to «Registrar sin acta», Space.
    press(clock, Qt.Key.Key_F6)
    type_as(clock, sin_acta.clave, PERSON_GAP_MS, suffix=None)
    press(clock, Qt.Key.Key_Tab)
    assert focused() is view.sin_acta.causa
    press(clock, Qt.Key.Key_Tab)
    assert focused() is view.sin_acta.submit
    press(clock, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: enrolled.store.kinds_for(sin_acta.clave) == ["sin_acta"])
    wait_idle(qtbot, view.presenter.tasks)
    assert view.sin_acta.message.text().startswith("Sin acta registrada: Paquete no "
                                                   "entregado")

    # A scan while the focus is on that button: recorded, the button not pressed.
    scan(clock, scanned.clave)
    wait_idle(qtbot, view.presenter.tasks)
    assert enrolled.store.kinds_for(scanned.clave) == ["acopio"]
    assert focused() is view.sin_acta.submit
    assert view.sin_acta.message.text().startswith("Sin acta registrada")  # not re-pressed

    # Acopio typed: F2, the clave, Tab to «Registrar acopio», Enter.
    press(clock, Qt.Key.Key_F2)
    type_as(clock, typed.clave, PERSON_GAP_MS, suffix=None)
    press(clock, Qt.Key.Key_Tab)
    assert focused() is view.submit
    press(clock, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: enrolled.store.kinds_for(typed.clave) == ["acopio"])
    wait_idle(qtbot, view.presenter.tasks)
    assert view.panel.headline.text().startswith("Acopiada a las ")

    # Fuera de catálogo: a well-formed code not in the catalog, then its button by Space.
    unknown = "099998B010001" if size[0] == 1366 else "099997B010001"
    assert central.catalog.acta(unknown) is None
    scan(clock, unknown)
    assert view.panel.fuera.isVisible()
    press(clock, Qt.Key.Key_F2)
    for _ in range(3):  # «Registrar acopio», the elección, «Registrar fuera de catálogo»
        press(clock, Qt.Key.Key_Tab)
    assert focused() is view.panel.fuera_button
    press(clock, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.panel.headline.text() == "Registrada fuera de catálogo")
    fuera = [r["body"] for r in records(enrolled)
             if isinstance(r["body"], dict) and r["body"].get("fuera_de_catalogo")]
    assert fuera == [{"codigo_leido": unknown, "eleccion": "01", "fuera_de_catalogo": True}]


def test_a_scan_while_the_catalog_loads_is_registered_when_it_is_ready(
        size: tuple[int, int], enrolled: Station, window: MainWindow, central: Central,
        clock: FakeClock, printer: FakePrinter, qtbot: QtBot) -> None:
    """Issue 35: a scan in the first second after login was refused («vuelva a
    escanear») and then the panel said «Listo para recibir actas»."""
    first, second = fresh(central, 2)
    window.resize(*size)
    gate = threading.Event()  # a slow disk: the catalog load waits behind it
    try:
        window.activateWindow()
        window.login.user.setFocus()
        qtbot.waitUntil(lambda: focused() is window.login.user)
        type_as(clock, ACOPIADOR, PERSON_GAP_MS)
        type_as(clock, PASSWORD, PERSON_GAP_MS)
        window.context.tasks.run("db", lambda: gate.wait(30))
        qtbot.waitUntil(lambda: window.pages.currentWidget() is window.workspace,
                        timeout=20_000)
        view = window.workspace.tabs.currentWidget()
        assert isinstance(view, AcopioView) and not view.presenter.ready

        scan(clock, first.clave)
        assert view.panel.headline.text() == "Cargando el catálogo…"
        assert view.panel.message.text().startswith("Se leyó 1 acta: se registrará en "
                                                    "cuanto el catálogo esté listo")
        scan(clock, f"PREP1|{second.clave}")
        assert view.panel.message.text().startswith("Se leyeron 2 actas")
    finally:
        gate.set()
    wait_idle(qtbot, window.context.tasks)
    assert enrolled.store.kinds_for(first.clave) == ["acopio"]
    assert enrolled.store.kinds_for(second.clave) == ["acopio"]
    assert view.panel.headline.text().startswith("Acopiada a las ")
    assert view.panel.clave.text() == second.clave
    assert view.counters.shift.text() == "2"
    assert [t.clave_acta for t in printer.printed] == [first.clave, second.clave]


def test_a_sin_acta_registered_by_mistake_is_corrected_with_f7(
        size: tuple[int, int], enrolled: Station, window: MainWindow, central: Central,
        clock: FakeClock, printer: FakePrinter, qtbot: QtBot) -> None:
    """Issue 35: scanning an acta registered sin acta said «Acta ya recibida» (it was
    not received) and offered no way to correct it."""
    view = open_acopio(qtbot, window, size)
    [acta] = fresh(central)
    row = next(i for i, e in enumerate(central.catalog.elecciones)
               if e.codigo == acta.eleccion.codigo)
    press(clock, Qt.Key.Key_F6)
    type_as(clock, acta.clave, PERSON_GAP_MS, suffix=None)
    press(clock, Qt.Key.Key_Tab)
    press(clock, Qt.Key.Key_End)  # «Paquete entregado sin sobre»: this acta only
    assert view.sin_acta.causa.currentText() == "Paquete entregado sin sobre"
    press(clock, Qt.Key.Key_Backtab)
    press(clock, Qt.Key.Key_Return)  # Enter in the CLAVE field registers it
    qtbot.waitUntil(lambda: enrolled.store.kinds_for(acta.clave) == ["sin_acta"])
    wait_idle(qtbot, view.presenter.tasks)
    sin_acta_id = records(enrolled)[-1]["id"]
    assert view.counters.table.item(row, 3).text() == "1"
    assert view.counters.shift.text() == "1"  # and in Spanish, singular
    assert view.counters.shift_detail.text().startswith("acta registrada por usted\n")

    scan(clock, acta.clave)  # the acta was in the package after all
    assert view.panel.headline.text() == "Registrada como sin acta"
    message = view.panel.message.text()
    assert "(paquete entregado sin sobre)" in message
    assert "su acopio NO está registrado" in message
    assert "presione F7" in message and view.panel.corregir.isVisible()
    assert enrolled.store.kinds_for(acta.clave) == ["sin_acta"]

    press(clock, Qt.Key.Key_F7)
    wait_idle(qtbot, view.presenter.tasks)
    assert enrolled.store.kinds_for(acta.clave) == ["sin_acta", "acopio"]
    correction = records(enrolled)[-1]
    assert correction["replaces"] == sin_acta_id
    default = traslado_de_casilla(acta.casilla)  # the catalog's, nothing chosen with F3
    assert correction["body"] == {"clave_acta": acta.clave, "tipo_documento": "acta_prep",
                                  **({"traslado": default.value} if default else {})}
    assert view.panel.headline.text().startswith("Acopiada a las ")
    assert view.panel.message.text().startswith("Se corrigió el sin acta")
    assert not view.panel.corregir.isVisible()
    assert [t.clave_acta for t in printer.printed] == [acta.clave]
    assert view.counters.table.item(row, 3).text() == "0"  # no longer counted sin acta
    assert view.counters.shift_detail.text().startswith("actas registradas por usted\n")

    press(clock, Qt.Key.Key_F7)  # nothing more to correct
    scan(clock, acta.clave)
    wait_idle(qtbot, view.presenter.tasks)
    assert view.panel.headline.text() == "Acta ya recibida"
    assert enrolled.store.kinds_for(acta.clave) == ["sin_acta", "acopio"]
    with pytest.raises(StationInputError, match="no está registrada como sin acta"):
        enrolled.acopio_tras_sin_acta(acta.clave, view.presenter.operator.id,
                                      str(sin_acta_id))

    # The central takes the acta as acopiada: the sin acta corrected, no anomaly.
    qtbot.waitUntil(lambda: estado(central, acta.clave) == "acopiada",
                    timeout=SYNC_TIMEOUT_MS)
    anomalies = query(central.node.dsn, "SELECT type FROM anomalies WHERE detail::text "
                      "LIKE %s", f"%{sin_acta_id}%")
    assert anomalies == []


@pytest.mark.parametrize("misread", ["XK93&&zz!!", "hola mundo!!", "Q9#a"])
def test_a_misread_is_never_registered_fuera_de_catalogo(
        misread: str, enrolled: Station, window: MainWindow, clock: FakeClock,
        qtbot: QtBot) -> None:
    """Issue 38: «Código ilegible» offered «Registrar fuera de catálogo (F8)» and F8
    stored the misread as an acta."""
    view = open_acopio(qtbot, window, (1024, 768))
    scan(clock, misread)  # a short one is typed into the entry with its Enter
    wait_idle(qtbot, view.presenter.tasks)
    assert view.panel.headline.text() == "Código ilegible"
    assert "Vuelva a escanear el QR o escriba la clave impresa" in view.panel.message.text()
    assert not view.panel.fuera.isVisible()
    press(clock, Qt.Key.Key_F8)
    wait_idle(qtbot, view.presenter.tasks)
    assert records(enrolled) == []
    assert view.counters.fuera.text() == "Fuera de catálogo registradas: 0"


def test_the_station_refuses_a_fuera_de_catalogo_that_is_no_acta_code(
        enrolled: Station, central: Central) -> None:
    """The rule lives below the screen: ``prep.qr.is_acta_code`` at the station."""
    ana = enrolled.login(ACOPIADOR, PASSWORD).id
    for misread in ("XK93&&zz!!", "hola mundo!!", "Q9#a", ""):
        assert not is_acta_code(misread)
        with pytest.raises(StationInputError, match="no es un QR de acta ni una CLAVE_ACTA"):
            enrolled.acopio_fuera_de_catalogo(misread, "", ana)
    in_catalog = central.actas_here()[-1]
    with pytest.raises(StationInputError, match="está en el catálogo"):
        enrolled.acopio_fuera_de_catalogo(in_catalog.clave, "01", ana)
    assert records(enrolled) == []
    unknown = "099999B010001"
    assert central.catalog.acta(unknown) is None
    assert is_acta_code(unknown) and is_acta_code("09|007|1|9999|01|B|00|01")
    recorded = enrolled.acopio_fuera_de_catalogo(unknown, "01", ana)
    assert recorded.body == {"codigo_leido": unknown, "eleccion": "01",
                             "fuera_de_catalogo": True}
