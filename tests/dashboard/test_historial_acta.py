"""One acta's history with who did each step (issue 29: the public history names no
operator or station; «a coordinator sees them in the dashboard»), by keys alone, through
a login holding only ``prep_lectura``, over a real central: acopio and digitalización,
two captures by two capturistas at two stations, a cotejo that finds a difference, the
correction captured again by two others, and the cortes that published the acta and
its correction."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from central.controlroom.historial_acta import read_historial_acta
from central.db import make_engine
from central.node.config import DataDir
from central.node.config import load_identity
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.ventana import fijar_ventana
from dashboard.window import DashboardWindow
from prep.catalog import Acta
from prep.records import Kind
from tests.dashboard.conftest import reader_login
from tests.dashboard.keys import CTRL
from tests.dashboard.keys import WAIT_MS
from tests.dashboard.keys import focused
from tests.dashboard.keys import press
from tests.dashboard.keys import reader_window
from tests.dashboard.keys import shortcut
from tests.dashboard.keys import type_text
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import image_body
from tests.harness.work import load_catalog
from tests.harness.work import png
from tests.harness.work import truth

#: Where to save the page's picture for docs/dashboard.md (unset: not saved).
SCREENS = os.environ.get("PREP_DASHBOARD_SCREENS")


@dataclass
class Night:
    node: CentralNode
    acta: Acta
    ops: dict[str, str]  # name → account id
    stations: dict[str, str]  # who worked there → station id
    cortes: list[str]
    campo: str


def _corte(node: CentralNode, publicacion: Path) -> str:
    engine = make_engine(node.dsn, pool_size=1)
    try:
        key = load_identity(DataDir(node.data_dir)).key
        hecho = make_corte(engine, key, CorteSettings(publicacion,
                                                      DataDir(node.data_dir).blobs),
                           motivo=A_PEDIDO, actor="pruebas")
    finally:
        engine.dispose()
    return hecho.publicado.path.name


@pytest.fixture(scope="module")
def night(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    base = tmp_path_factory.mktemp("historial")
    with running_central(base, pg_dsn) as node:
        catalog = load_catalog(node, scale=0.02)
        acta = next(a for a in catalog.iter_actas() if a.casilla.distrito_id == 1)
        names = ["Dora Paz", "Elsa Luna", "Ana Robles", "Beto Salas", "Vera Mora",
                 "Carla Ruiz", "Dario Gil"]
        roles = ["acopiador", "digitalizador", "capturista", "capturista", "verificador",
                 "capturista", "capturista"]
        ops = dict(zip(names, add_operators(node, [(n, r, "01") for n, r in
                                                   zip(names, roles, strict=True)]),
                       strict=True))
        campo = acta.layout.campos[4]
        papel = {**truth(acta), campo: truth(acta)[campo] + 7}
        publicacion = base / "publicacion"
        engine = make_engine(node.dsn, pool_size=1)
        try:
            fijar_ventana(engine, datetime.now(UTC) - timedelta(hours=1), 24,
                          actor="pruebas")
        finally:
            engine.dispose()
        desks = {who: WorkStation.enroll(node, 1) for who in
                 ("acopio", "Ana Robles", "Beto Salas", "Vera Mora", "Carla Ruiz",
                  "Dario Gil")}

        async def captured(first: str, second: str, valores: dict[str, int]) -> None:
            for who in (first, second):
                async with desks[who] as s:
                    [lease] = await s.next(ops[who])
                    assert lease["clave_acta"] == acta.clave
                    await s.capture(ops[who], lease, valores)

        async def acopio() -> None:
            async with desks["acopio"] as s:
                data = png(f"CATD:{acta.clave}")
                await s.put_blob(data)
                await s.send([(Kind.ACOPIO, ops["Dora Paz"], {"clave_acta": acta.clave})])
                await s.send([(Kind.IMAGEN, ops["Elsa Luna"],
                               image_body(acta.clave, data))])

        async def cotejo() -> None:
            async with desks["Vera Mora"] as s:
                [lease] = await s.next(ops["Vera Mora"], kind="cotejo")
                await s.send([(Kind.COTEJO, ops["Vera Mora"], {
                    "clave_acta": acta.clave, "coincide": False, "campos": [campo],
                    "motivo": "En el papel el campo dice otra cantidad"})])
                done = await s.lease_action(lease["lease_id"], "release")
                assert done.body["status"] == "completed"

        asyncio.run(acopio())
        asyncio.run(captured("Ana Robles", "Beto Salas", truth(acta)))
        cortes = [_corte(node, publicacion)]
        asyncio.run(cotejo())
        asyncio.run(captured("Carla Ruiz", "Dario Gil", papel))
        cortes.append(_corte(node, publicacion))
        stations = {who: s.id for who, s in desks.items()}
        yield Night(node, acta, ops, stations, cortes, campo)


def _pasos(win: DashboardWindow) -> list[tuple[str, ...]]:
    """The page's rows as shown: event, detail, site, station, operator."""
    return [tuple(c.text for c in row.cells[1:]) for row in win.historial.table.model.rows]


def _look_up(qtbot: QtBot, win: DashboardWindow, typed: str) -> None:
    """Ctrl+H, the key, Intro; waits for the answer."""
    shortcut(qtbot, win, Qt.Key.Key_H, CTRL)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.historial.clave,
                    timeout=WAIT_MS)
    assert focused() is win.historial.clave
    type_text(qtbot, typed)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.historial.busy, timeout=WAIT_MS)


def test_a_coordinator_sees_who_did_each_step(qtbot: QtBot, night: Night,
                                              themed: None) -> None:
    ops, st = night.ops, night.stations
    with reader_window(qtbot, night.node.dsn) as win:
        win.resize(1024, 768)
        _look_up(qtbot, win, night.acta.clave)
        rows = _pasos(win)
        message = win.historial.message.text()
        assert message.startswith(f"Acta {night.acta.clave}: validada; 9 pasos."), message
        first, second = night.cortes
        campos = f"campos señalados: {night.campo}; motivo: En el papel el campo dice " \
                 "otra cantidad"
        assert rows == [
            ("Acopio", "", "CATD 01", st["acopio"], "Dora Paz"),
            ("Digitalización · imagen 1", "CATD · Escáner", "CATD 01", st["acopio"],
             "Elsa Luna"),
            ("Captura · ronda 1, lugar 1", "", "CATD 01", st["Ana Robles"], "Ana Robles"),
            ("Captura · ronda 1, lugar 2", "", "CATD 01", st["Beto Salas"], "Beto Salas"),
            ("Publicada", f"corte {first}", "Nodo central", "", ""),
            ("Cotejo: diferencia · abre la ronda 2", campos, "CATD 01", st["Vera Mora"],
             "Vera Mora"),
            ("Captura · ronda 2, lugar 1", "", "CATD 01", st["Carla Ruiz"], "Carla Ruiz"),
            ("Captura · ronda 2, lugar 2", "", "CATD 01", st["Dario Gil"], "Dario Gil"),
            ("Corrección publicada", f"corte {second}: {campos}", "Nodo central", "", ""),
        ]
        # The account id is one hover away from the name.
        captura = win.historial.table.model.rows[2].cells[5]
        assert captura.tip == ops["Ana Robles"]
        if SCREENS:
            win.historial.table.view.selectRow(5)
            qtbot.wait(100)
            win.grab().save(str(Path(SCREENS) / "dashboard_historial_acta.png"))


def test_steps_are_in_time_order_as_read(night: Night) -> None:
    with reader_login(night.node.dsn) as dsn, psycopg.connect(dsn) as conn:
        historial = read_historial_acta(conn, night.acta.clave)
    assert historial is not None
    times = [p.at for p in historial.pasos]
    assert None not in times and times == sorted(times)  # type: ignore[type-var]


def test_a_malformed_or_unknown_key_says_so(qtbot: QtBot, night: Night) -> None:
    with reader_window(qtbot, night.node.dsn) as win:
        page = win.historial
        _look_up(qtbot, win, night.acta.clave)
        assert page.table.model.rows
        for typed in ("09-01'; DROP TABLE records; --", "12345", "0901230B10001x"):
            _look_up(qtbot, win, typed)
            assert "no es una clave de acta" in page.message.text(), typed
            assert not page.table.model.rows  # no other acta's history stays on screen
            assert focused() is page.clave
        _look_up(qtbot, win, "   ")
        assert page.message.text().startswith("Escriba la clave del acta")
        _look_up(qtbot, win, "999999z999999")  # well formed, lower case: no such acta
        assert page.message.text().startswith(
            "No hay un acta con la clave 999999Z999999"), page.message.text()
        assert not page.table.model.rows
        # Still answering: the same key in lower case, spaces around it.
        _look_up(qtbot, win, f" {night.acta.clave.lower()} ")
        assert len(page.table.model.rows) == 9
        assert win.controller.state != "error"
