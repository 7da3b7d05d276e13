"""The CCV workstation: the CATD program on a CCV station shows captura (of any CATD's
actas) and the PREP Casilla panel, never acopio; the panel's numbers are the central's;
an acta that came as a casilla photo is captured at the CCV by keys alone."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.casilla.view import IntakePanel
from catd.window import MainWindow
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import blank_page
from prep.sintetico.acta_image import render_acta_image
from prep.station.station import Station
from tests.catd.conftest import Central
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import wait_idle
from tests.catd.test_captura import captures
from tests.catd.test_captura import type_values
from tests.catd.test_captura import wait_estado
from tests.catd.test_captura import work_view
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.work import add_operators
from tests.harness.work import truth

CAPTURISTA_CCV = "Ceci CCV"


def _import(central: Central, directory: Path) -> dict[str, object]:
    done = central_cli(central.node, "import-casilla", str(directory))
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_ccv_captures_a_casilla_photo_and_shows_the_intake(
        qtbot: QtBot, central: Central, station: Station, window: MainWindow,
        tmp_path: Path) -> None:
    [ceci] = add_operators(central.node, [(CAPTURISTA_CCV, "capturista", "CCV")])
    waiting = {r[0] for r in query(central.node.dsn, "SELECT clave_acta FROM acta_states "
                                   "WHERE estado = 'esperada'")}
    # An acta of another CATD (the CCV draws work from every CATD).
    acta = next(a for a in central.catalog.iter_actas()
                if a.clave in waiting and a.casilla.distrito_id != 7)
    inbox = tmp_path / "casilla"
    inbox.mkdir()
    (inbox / "foto.jpg").write_bytes(render_acta_image(acta, truth(acta),
                                                       ActaImageOptions(photo=True)))
    (inbox / "blanca.png").write_bytes(blank_page(ActaImageOptions(image_format="PNG")))
    assert _import(central, inbox)["aceptadas"] == 1

    station.enroll(central.node.url, central.node.enroll_code(None, "ccv"),
                   central.node.cert_sha256)
    window.start()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
    assert window.windowTitle() == "PREP · CCV"
    log_in(qtbot, window, CAPTURISTA_CCV)
    tabs = window.workspace.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Captura", "PREP Casilla"]

    view = work_view(qtbot, window)
    assert view.shown is not None and view.shown.item.clave_acta == acta.clave
    campos = list(view.shown.item.campos)
    type_values(view, truth(acta), campos)
    wait_idle(qtbot, window.context.tasks)
    wait_estado(qtbot, central, acta.clave, "captura_1")
    assert captures(central, acta.clave) == [(ceci, truth(acta))]

    tabs.setCurrentIndex(1)
    panel = tabs.currentWidget()
    assert isinstance(panel, IntakePanel)
    qtbot.waitUntil(lambda: panel.figures["recibidas"].value.text() == "2", timeout=20_000)
    assert {k: f.value.text() for k, f in panel.figures.items()} == {
        "recibidas": "2", "aceptadas": "1", "total_rechazadas": "1", "en_captura": "1",
        "validadas": "0", "redigitalizacion": "0"}
    assert [(panel.table.item(r, 0).text(), panel.table.item(r, 1).text())
            for r in range(panel.table.rowCount())] == [("Imagen en blanco", "1")]
    assert panel.state.text().startswith("Actualizado a las ")

    # Live: a new photo imported is on the panel within its refresh.
    other = next(a for a in central.catalog.iter_actas()
                 if a.clave in waiting and a.clave != acta.clave)
    (inbox / "otra.jpg").write_bytes(render_acta_image(other, truth(other),
                                                       ActaImageOptions(photo=True)))
    assert _import(central, inbox)["aceptadas"] == 1
    qtbot.waitUntil(lambda: panel.figures["aceptadas"].value.text() == "2", timeout=20_000)
    QTest.keyClick(focused(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.login)
