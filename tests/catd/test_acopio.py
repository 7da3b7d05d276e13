"""The acopio screen over a real station enrolled with a real central: scans at reader
speed are recorded wherever the focus is, a person's typing is not a scan, duplicates
warn, unknown codes are explained and can be registered fuera de catálogo, sin acta
with its cause, and a printer failure is shown without losing or blocking acopio."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.acopio.presenter import Tone
from catd.acopio.view import AcopioView
from catd.window import MainWindow
from prep.qr import label_payload
from prep.records import Kind
from prep.station.printing import FakePrinter
from prep.station.station import Station
from tests.catd.conftest import ACOPIADOR
from tests.catd.conftest import PERSON_GAP_MS
from tests.catd.conftest import Central
from tests.catd.conftest import FakeClock
from tests.catd.conftest import log_in
from tests.catd.conftest import scan
from tests.catd.conftest import type_as
from tests.catd.conftest import wait_idle


@pytest.fixture
def acopio(enrolled: Station, window: MainWindow, qtbot: QtBot) -> Iterator[AcopioView]:
    """Ana Acopio logged in: the acopio screen, catalog loaded."""
    log_in(qtbot, window, ACOPIADOR)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, AcopioView)
    qtbot.waitUntil(lambda: view.presenter.ready)
    assert view.panel.headline.text() == "Listo para recibir actas"
    yield view


def _records(station: Station) -> list[dict[str, object]]:
    """The acopio and sin acta records stored (the sync agent adds heartbeats)."""
    records = [json.loads(canonical) for _, _, canonical in station.store.records()]
    return [r for r in records if r["kind"] in (Kind.ACOPIO.value, Kind.SIN_ACTA.value)]


def _tally(view: AcopioView, eleccion_row: int) -> list[str]:
    table = view.counters.table
    items = [table.item(eleccion_row, c) for c in range(table.columnCount())]
    return [item.text() if item is not None else "" for item in items]


def test_a_scan_is_recorded_and_shown_big_wherever_the_focus_is(
        acopio: AcopioView, enrolled: Station, central: Central, clock: FakeClock,
        printer: FakePrinter, qtbot: QtBot) -> None:
    first, second = central.actas_here()[:2]
    acopio.sin_acta.submit.setFocus()  # the focus is on a button, not on the entry
    scan(clock, label_payload(first))  # our own label QR: PREP1|<clave>
    wait_idle(qtbot, acopio.presenter.tasks)

    assert enrolled.store.kinds_for(first.clave) == ["acopio"]
    panel = acopio.panel
    assert panel.property("tone") == "ok"
    assert panel.headline.text().startswith("Acopiada a las ")
    assert panel.eleccion.text() == "Jefatura de Gobierno"
    assert panel.distrito.value.text() == "07"
    assert panel.seccion.value.text() == f"{first.casilla.seccion:04d}"
    assert panel.clave.text() == first.clave
    assert [t.clave_acta for t in printer.printed] == [first.clave]
    assert printer.printed[0].operator == ACOPIADOR

    # The pipe form a simulacro QR carries, as a Spanish-layout OS mangles its separators.
    c = second.casilla
    pipe = (f"09Ç{c.distrito_id:02d}Ç{second.eleccion.tipo_acta}Ç{c.seccion:04d}Ç"
            f"{c.id_casilla:02d}Ç{c.tipo}Ç{c.ext_contigua:02d}Ç{second.eleccion.codigo}")
    acopio.entry.setFocus()
    scan(clock, pipe)
    wait_idle(qtbot, acopio.presenter.tasks)
    assert enrolled.store.kinds_for(second.clave) == ["acopio"]
    assert acopio.entry.text() == ""  # the scan was not typed into the field
    assert acopio.counters.shift.text() == "2"
    esperadas = sum(1 for a in central.actas_here() if a.eleccion.codigo == "01")
    assert _tally(acopio, 0) == ["Jefatura de Gobierno", str(esperadas), "2", "0",
                                 str(esperadas - 2)]


def test_a_person_typing_is_not_a_scan(acopio: AcopioView, enrolled: Station,
                                        central: Central, clock: FakeClock,
                                        qtbot: QtBot) -> None:
    acta = central.actas_here()[0]
    acopio.sin_acta.clave.setFocus()
    type_as(clock, acta.clave, PERSON_GAP_MS, suffix=None)
    qtbot.waitUntil(lambda: acopio.sin_acta.clave.text() == acta.clave)
    assert enrolled.store.kinds_for(acta.clave) == []

    # Typed in the manual entry and confirmed with Enter, it is an acopio (typed, not read).
    acopio.entry.setFocus()
    type_as(clock, acta.clave, PERSON_GAP_MS)
    wait_idle(qtbot, acopio.presenter.tasks)
    assert enrolled.store.kinds_for(acta.clave) == ["acopio"]
    assert acopio.panel.clave.text() == acta.clave


def test_a_second_acopio_warns_and_records_nothing(acopio: AcopioView, enrolled: Station,
                                                   central: Central, clock: FakeClock,
                                                   qtbot: QtBot) -> None:
    acta = central.actas_here()[3]
    scan(clock, acta.clave)
    wait_idle(qtbot, acopio.presenter.tasks)
    recorded = acopio.panel.headline.text()
    scan(clock, acta.clave)
    wait_idle(qtbot, acopio.presenter.tasks)

    assert enrolled.store.kinds_for(acta.clave) == ["acopio"]
    assert acopio.panel.property("tone") == Tone.WARN.value
    assert acopio.panel.headline.text() == "Acta ya recibida"
    hora = recorded.removeprefix("Acopiada a las ")
    assert f"ya se registró en acopio a las {hora}" in acopio.panel.message.text()
    assert acopio.panel.clave.text() == acta.clave


def test_unknown_codes_are_explained_and_can_be_registered_fuera_de_catalogo(
        acopio: AcopioView, enrolled: Station, central: Central, clock: FakeClock,
        qtbot: QtBot) -> None:
    scan(clock, "hola mundo!!")
    assert acopio.panel.headline.text() == "Código ilegible"
    assert "no es un QR de acta ni una CLAVE_ACTA" in acopio.panel.message.text()
    assert not acopio.panel.fuera.isVisible()  # a misread is no acta (issue 38)

    scan(clock, "150123B010001")  # entidad 15
    assert acopio.panel.headline.text() == "El acta es de otra entidad"
    assert "entidad 15, no de 09" in acopio.panel.message.text()

    unknown = "099998B010002"
    scan(clock, unknown)
    assert acopio.panel.property("tone") == Tone.ERROR.value
    assert acopio.panel.headline.text() == "El acta no está en el catálogo"
    assert "regístrela como fuera de catálogo" in acopio.panel.message.text()
    assert acopio.panel.fuera.isVisible()
    assert acopio.panel.fuera_eleccion.currentText() == "Diputaciones Locales MR"
    QTest.keyClick(acopio, Qt.Key.Key_F8)
    wait_idle(qtbot, acopio.presenter.tasks)

    fuera = [r["body"] for r in _records(enrolled)]
    assert fuera == [{"codigo_leido": unknown, "eleccion": "02", "fuera_de_catalogo": True}]
    assert acopio.panel.headline.text() == "Registrada fuera de catálogo"
    assert acopio.counters.fuera.text() == "Fuera de catálogo registradas: 1"

    scan(clock, unknown)  # the same paper again
    acopio.panel.fuera_button.click()
    wait_idle(qtbot, acopio.presenter.tasks)
    assert acopio.panel.headline.text() == "Ya registrada fuera de catálogo"
    assert len(_records(enrolled)) == 1


def test_an_acta_of_another_distrito_is_set_aside(acopio: AcopioView, enrolled: Station,
                                                 central: Central, clock: FakeClock) -> None:
    other = central.acta_elsewhere()
    scan(clock, other.clave)
    assert acopio.panel.headline.text() == "El acta es de otro distrito"
    assert enrolled.store.kinds_for(other.clave) == []


def test_sin_acta_is_registered_with_its_cause(acopio: AcopioView, enrolled: Station,
                                              central: Central, clock: FakeClock,
                                              qtbot: QtBot) -> None:
    acta = central.actas_here()[4]
    QTest.keyClick(acopio, Qt.Key.Key_F6)
    assert acopio.sin_acta.clave.hasFocus()
    type_as(clock, "0000", PERSON_GAP_MS, suffix=None)
    qtbot.waitUntil(lambda: acopio.sin_acta.clave.text() == "0000")
    acopio.sin_acta.submit.click()
    assert "no es un QR de acta ni una CLAVE_ACTA" in acopio.sin_acta.message.text()

    acopio.sin_acta.clave.clear()
    # A paquete without its sobre: this acta only (a casilla-wide cause registers
    # every acta of the casilla: test_acopio_casilla.py).
    acopio.sin_acta.causa.setCurrentIndex(acopio.sin_acta.causa.findText(
        "Paquete entregado sin sobre"))
    type_as(clock, acta.clave, PERSON_GAP_MS)  # a person types it and presses Enter
    wait_idle(qtbot, acopio.presenter.tasks)

    [record] = _records(enrolled)
    assert record["body"] == {"clave_acta": acta.clave, "causa": "paquete_sin_sobre"}
    assert acopio.sin_acta.message.text().startswith("Sin acta registrada: Paquete "
                                                     "entregado sin sobre")
    assert acopio.sin_acta.clave.text() == ""
    scan(clock, acta.clave)  # the acta turns up after all: not silently "received"
    assert acopio.panel.headline.text() == "Registrada como sin acta"
    assert "(paquete entregado sin sobre)" in acopio.panel.message.text()
    assert "su acopio NO está registrado" in acopio.panel.message.text()
    assert acopio.panel.corregir.isVisible()  # F7 corrects it: test_acopio_teclado.py
    assert enrolled.store.kinds_for(acta.clave) == ["sin_acta"]


def test_a_printer_failure_is_shown_and_never_blocks_acopio(
        acopio: AcopioView, enrolled: Station, central: Central, clock: FakeClock,
        printer: FakePrinter, qtbot: QtBot) -> None:
    first, second = central.actas_here()[5:7]
    printer.fail_with = "La impresora no tiene papel: cargue un rollo nuevo."
    scan(clock, first.clave)
    wait_idle(qtbot, acopio.presenter.tasks)
    assert enrolled.store.kinds_for(first.clave) == ["acopio"]
    note = acopio.printer_note.text()
    assert note.startswith(f"No se imprimió la etiqueta de {first.clave}: La impresora no "
                           "tiene papel")
    assert "El acopio SÍ quedó registrado" in note
    assert acopio.reprint.isVisible()

    scan(clock, second.clave)  # the next acta goes on while the printer is out
    wait_idle(qtbot, acopio.presenter.tasks)
    assert enrolled.store.kinds_for(second.clave) == ["acopio"]
    assert acopio.panel.clave.text() == second.clave

    printer.fail_with = None
    QTest.keyClick(acopio, Qt.Key.Key_F9)
    wait_idle(qtbot, acopio.presenter.tasks)
    assert [t.clave_acta for t in printer.printed] == [second.clave]
    assert acopio.printer_note.text() == f"Etiqueta de {second.clave} impresa."
    assert not acopio.reprint.isVisible()
