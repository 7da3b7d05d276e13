"""The acopio screen records how each paquete came and which document arrived, and a
casilla not installed or a paquete not delivered for every acta of the casilla at once
(issue 28), all by keys, over a real station synced to a real central."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.acopio.view import AcopioView
from catd.window import MainWindow
from prep.catalog import Acta
from prep.catalog import Casilla
from prep.paquete import traslado_de_casilla
from prep.station.station import Station
from tests.catd.conftest import ACOPIADOR
from tests.catd.conftest import PERSON_GAP_MS
from tests.catd.conftest import Central
from tests.catd.conftest import FakeClock
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import scan
from tests.catd.conftest import type_as
from tests.catd.conftest import wait_idle
from tests.catd.test_captura import SYNC_TIMEOUT_MS
from tests.central.station import query
from tests.harness.central import running_central
from tests.harness.work import add_operators
from tests.harness.work import load_catalog


@pytest.fixture(scope="module")
def central(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    """This module's own central, with a dozen casillas at CATD 07."""
    with running_central(tmp_path_factory.mktemp("acopio-paquete"), pg_dsn) as node:
        catalog = load_catalog(node, scale=0.02)
        add_operators(node, [(ACOPIADOR, "acopiador", "07")])
        yield Central(node, catalog)


_taken: set[str] = set()


def casillas(central: Central, n: int, traslado: str | None = None) -> list[Casilla]:
    """``n`` casillas of CATD 07 with an acta of every election, untouched by earlier
    tests of this module (``traslado``: with that catalog default)."""
    found: list[Casilla] = []
    for casilla in central.catalog.casillas_ordenadas:
        if len(found) == n:
            break
        if casilla.distrito_id != 7 or casilla.clave in _taken or \
                len(actas_de(central, casilla)) != len(central.catalog.elecciones):
            continue
        if traslado is None or casilla.traslado == traslado:
            found.append(casilla)
            _taken.add(casilla.clave)
    assert len(found) == n, "the module's catalog ran out of casillas at CATD 07"
    return found


def actas_de(central: Central, casilla: Casilla) -> list[Acta]:
    actas = (central.catalog.acta(casilla.clave + e.codigo) for e in central.catalog.elecciones)
    return [a for a in actas if a is not None]


def open_acopio(qtbot: QtBot, window: MainWindow) -> AcopioView:
    window.resize(1024, 768)
    log_in(qtbot, window, ACOPIADOR)
    view = window.workspace.tabs.currentWidget()
    assert isinstance(view, AcopioView)
    qtbot.waitUntil(lambda: view.presenter.ready)
    return view


def press(clock: FakeClock, key: Qt.Key) -> None:
    clock.advance(PERSON_GAP_MS)
    QTest.keyClick(focused(), key)


def sin_acta_by_keys(clock: FakeClock, view: AcopioView, clave: str, key: Qt.Key,
                     causa: str) -> None:
    """F6, ``clave`` typed, Tab to the cause, ``key`` to choose ``causa`` (checked on the
    screen), Shift+Tab back to the clave, Enter."""
    press(clock, Qt.Key.Key_F6)
    type_as(clock, clave, PERSON_GAP_MS, suffix=None)
    press(clock, Qt.Key.Key_Tab)
    press(clock, key)
    assert view.sin_acta.causa.currentText() == causa
    press(clock, Qt.Key.Key_Backtab)
    press(clock, Qt.Key.Key_Return)


def bodies(station: Station, kind: str) -> list[dict[str, object]]:
    rows = [json.loads(canonical) for _, _, canonical in station.store.records()]
    return [r["body"] for r in rows if r["kind"] == kind]


def central_state(central: Central, clave: str) -> tuple[str, str | None, str | None]:
    [row] = query(central.node.dsn, "SELECT estado, acopio_traslado, acopio_tipo_documento "
                  "FROM acta_states WHERE clave_acta = %s", clave)
    return row[0], row[1], row[2]


def test_f3_and_f4_choose_the_paquete_s_traslado_and_the_document(
        enrolled: Station, window: MainWindow, central: Central, clock: FakeClock,
        qtbot: QtBot) -> None:
    view = open_acopio(qtbot, window)
    [x] = casillas(central, 1, traslado="E")  # delivered directly, says the catalog
    [y] = casillas(central, 1)
    x1, x2, _ = actas_de(central, x)
    y1 = actas_de(central, y)[0]
    assert view.traslado.text() == "Traslado (F3): del catálogo"
    assert view.documento.text() == "Documento (F4): Acta PREP"

    # F3 goes through the mechanisms: Entrega directa, CRyT fijo, CRyT itinerante, DAT.
    for _ in range(4):
        press(clock, Qt.Key.Key_F3)
    assert view.traslado.text() == "Traslado (F3): DAT"
    assert view.traslado.toolTip() == ("Para las actas de la siguiente casilla que lea; "
                                       "otra casilla vuelve al del catálogo.")
    assert view.traslado.property("tone") == "warn"
    press(clock, Qt.Key.Key_F4)
    assert view.documento.text() == "Documento (F4): otra copia"
    assert view.documento.property("tone") == "warn"

    scan(clock, x1.clave)
    wait_idle(qtbot, view.presenter.tasks)
    assert view.panel.headline.text().startswith("Acopiada a las ")
    assert view.panel.message.text().endswith(
        f"Traslado: DAT (elegido con F3; sigue para las actas de la casilla {x.clave}) · "
        "Documento: Otra copia del acta de escrutinio y cómputo")
    assert view.traslado.text() == "Traslado (F3): DAT"
    assert view.traslado.toolTip() == (f"Para las actas de la casilla {x.clave}; otra "
                                       "casilla vuelve al del catálogo.")
    assert view.documento.text() == "Documento (F4): Acta PREP"  # one acta only
    assert view.documento.property("tone") == ""

    scan(clock, x2.clave)  # the same paquete: still DAT, now the Acta PREP
    wait_idle(qtbot, view.presenter.tasks)
    scan(clock, y1.clave)  # another casilla: the catalog's again
    wait_idle(qtbot, view.presenter.tasks)
    default = traslado_de_casilla(y)
    assert default is not None
    assert view.panel.message.text().endswith(
        f"Traslado: {default.etiqueta} (del catálogo) · Documento: Acta PREP")
    assert view.traslado.text() == "Traslado (F3): del catálogo"
    assert view.traslado.property("tone") == ""

    assert bodies(enrolled, "acopio") == [
        {"clave_acta": x1.clave, "traslado": "dat", "tipo_documento": "copia_aec"},
        {"clave_acta": x2.clave, "traslado": "dat", "tipo_documento": "acta_prep"},
        {"clave_acta": y1.clave, "traslado": default.value, "tipo_documento": "acta_prep"}]

    # The central keeps what each acopio said of its paquete.
    qtbot.waitUntil(lambda: central_state(central, y1.clave)[0] == "acopiada",
                    timeout=SYNC_TIMEOUT_MS)
    assert central_state(central, x1.clave) == ("acopiada", "dat", "copia_aec")
    assert central_state(central, x2.clave) == ("acopiada", "dat", "acta_prep")
    assert central_state(central, y1.clave) == ("acopiada", default.value, "acta_prep")


def test_a_casilla_no_instalada_registers_every_acta_of_the_casilla_at_once(
        enrolled: Station, window: MainWindow, central: Central, clock: FakeClock,
        qtbot: QtBot) -> None:
    view = open_acopio(qtbot, window)
    z, w = casillas(central, 2)
    acopiada, *sin = actas_de(central, z)
    scan(clock, acopiada.clave)  # one acta of z was received: it must stay so
    wait_idle(qtbot, view.presenter.tasks)

    # F6, the CLAVE_CASILLA, Tab to the cause, ↓ to «Casilla no instalada», back, Enter.
    sin_acta_by_keys(clock, view, z.clave, Qt.Key.Key_Down, "Casilla no instalada")
    wait_idle(qtbot, view.presenter.tasks)

    assert bodies(enrolled, "sin_acta") == [
        {"clave_acta": a.clave, "causa": "casilla_no_instalada"} for a in sin]
    assert enrolled.store.kinds_for(acopiada.clave) == ["acopio"]  # not overwritten
    assert view.sin_acta.message.text() == (
        f"Sin acta registrada: Casilla no instalada, casilla {z.clave}, 2 actas; 1 ya "
        "estaba registrada: vea el panel.")
    message = view.panel.message.text()
    assert message.startswith(f"Casilla no instalada, casilla {z.clave}: Diputaciones "
                              "Locales MR, Alcaldías (registros ")
    assert "Ya estaban registradas y no se cambiaron: Jefatura de Gobierno: acopio a las " \
        in message
    assert view.panel.headline.text().startswith("Sin acta · ")
    assert view.panel.property("tone") == "warn"
    assert view.panel.eleccion.text() == "Todas las actas de la casilla"
    assert view.panel.clave.text() == z.clave
    table = view.counters.table
    assert [table.item(r, 3).text() for r in range(table.rowCount())] == ["0", "1", "1"]
    assert view.counters.shift.text() == "3"

    # The same again: nothing more is registered, and the screen says why.
    press(clock, Qt.Key.Key_F6)
    type_as(clock, z.clave, PERSON_GAP_MS)
    wait_idle(qtbot, view.presenter.tasks)
    assert view.sin_acta.message.text() == (
        f"No se registró nada: la casilla {z.clave} ya estaba registrada (vea el panel).")
    assert view.panel.headline.text() == "Casilla ya registrada"
    assert view.panel.message.text().startswith(
        f"No se registró nada: todas las actas de la casilla {z.clave} ya estaban "
        "registradas (Jefatura de Gobierno: acopio a las ")
    assert len(bodies(enrolled, "sin_acta")) == 2

    # A paquete not delivered, named by the CLAVE_ACTA of any of its actas: all three.
    sin_acta_by_keys(clock, view, actas_de(central, w)[1].clave, Qt.Key.Key_Home,
                     "Paquete no entregado")
    wait_idle(qtbot, view.presenter.tasks)
    assert bodies(enrolled, "sin_acta")[2:] == [
        {"clave_acta": a.clave, "causa": "paquete_no_entregado"} for a in actas_de(central, w)]
    seqs = [r["seq"] for r in map(json.loads, (c for _, _, c in enrolled.store.records()))
            if r["kind"] == "sin_acta"][2:]
    assert view.sin_acta.message.text() == (
        f"Sin acta registrada: Paquete no entregado, casilla {w.clave}, 3 actas.")
    assert view.panel.message.text() == (
        f"Paquete no entregado, casilla {w.clave}: Jefatura de Gobierno, Diputaciones "
        f"Locales MR, Alcaldías (registros {seqs[0]}, {seqs[1]} y {seqs[2]}).")
    assert view.panel.property("tone") == "ok"

    # The central takes every acta of both casillas as sin acta, the acopiada as it was.
    last = actas_de(central, w)[-1].clave
    qtbot.waitUntil(lambda: central_state(central, last)[0] == "sin_acta",
                    timeout=SYNC_TIMEOUT_MS)
    assert central_state(central, acopiada.clave)[0] == "acopiada"
    assert {central_state(central, a.clave)[0] for a in [*sin, *actas_de(central, w)]} == {
        "sin_acta"}


def test_a_casilla_of_another_distrito_is_not_registered(
        enrolled: Station, window: MainWindow, central: Central, clock: FakeClock,
        qtbot: QtBot) -> None:
    view = open_acopio(qtbot, window)
    other = next(c for c in central.catalog.casillas if c.distrito_id != 7)
    sin_acta_by_keys(clock, view, other.clave, Qt.Key.Key_Down, "Casilla no instalada")
    wait_idle(qtbot, view.presenter.tasks)
    assert view.sin_acta.message.text() == (
        f"La casilla {other.clave} pertenece al distrito {other.distrito_id:02d}, no al de "
        "este CATD: no se registró. Avise al coordinador.")
    assert bodies(enrolled, "sin_acta") == []
