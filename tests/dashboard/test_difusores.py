"""The «Difusores» page (issue 30): each difusor given alta, the corte it reports it
serves, and how far behind the central's latest corte that is, as the coordinator reads
it; a difusor that never registered says so."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import psycopg
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from central.controlroom.overview import read_overview
from central.db import make_engine
from central.node.config import DataDir
from central.node.config import load_identity
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.stations.difusores import alta
from dashboard.difusores import DifusoresView
from dashboard.tables import KEY_ROLE
from dashboard.window import PAGES
from difusor import registro
from prep.corte.package import MANIFEST
from tests.dashboard.conftest import Scenario
from tests.dashboard.keys import close_window
from tests.dashboard.keys import open_window


def test_the_page_shows_each_difusor_its_corte_and_its_lag(qtbot: QtBot, scenario: Scenario,
                                                           tmp_path: Path) -> None:
    node = scenario.node
    engine = make_engine(node.dsn, pool_size=1)
    try:
        uni = alta(engine, "Universidad Nacional de Prueba", "https://prep.unp.mx/",
                   actor="pruebas")
        diario = alta(engine, "El Diario de la Tarde", "https://prep.diariotarde.mx/",
                      actor="pruebas")
        datos = tmp_path / "difusor"
        inscrito = registro.registrar(datos, node.url, uni.codigo, node.cert_sha256)
        ultimo = str(scenario.scalar("SELECT directorio FROM cortes ORDER BY id DESC LIMIT 1"))
        # The tests' own cortes, or one the dashboard asked serve for (in serve's).
        servido = next(d / ultimo for d in (scenario.publicacion,
                                            Path(node.data_dir) / "publicacion")
                       if (d / ultimo).is_dir())
        manifiesto = hashlib.sha256((servido / MANIFEST).read_bytes()).hexdigest()
        registro.reportar(datos, inscrito, servido.name, manifiesto, None)
        data_dir = DataDir(node.data_dir)
        make_corte(engine, load_identity(data_dir).key,
                   CorteSettings(scenario.publicacion, data_dir.blobs), motivo=A_PEDIDO,
                   actor="pruebas")
    finally:
        engine.dispose()
    with psycopg.connect(scenario.reader_dsn) as conn:  # the dashboard's read-only login
        overview = read_overview(conn)

    view = DifusoresView()
    qtbot.addWidget(view)
    view.show_overview(overview)
    table = view.table
    assert table.cell(uni.id, 0) == "Universidad Nacional de Prueba"
    assert table.cell(uni.id, 1) == "https://prep.unp.mx/"
    assert table.cell(uni.id, 2) == servido.name
    assert table.cell(uni.id, 3).endswith("min · 1 corte")  # one corte published since
    assert table.cell(uni.id, 4) != "nunca"
    assert table.cell(uni.id, 5) == "Atrasado"
    assert table.cell(diario.id, 2) == "—"
    assert table.cell(diario.id, 5) == "Sin registrar"
    assert "0 de 1 difusor registrado sirven el último corte" in view.summary.text()

    win = open_window(qtbot, scenario)
    try:
        win.show_page(PAGES.index("Difusores"))
        qtbot.waitUntil(lambda: win.difusores.table.model.rowCount() >= 2)
        assert win.difusores.table.cell(uni.id, 5) == "Atrasado"
        if where := os.environ.get("PREP_SCREENS"):
            win.grab().save(str(Path(where) / "dashboard_difusores.png"))
    finally:
        close_window(win)


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_column_is_on_screen_with_a_long_name_and_url(
        size: tuple[int, int], qtbot: QtBot, scenario: Scenario, themed: None,
        tmp_path: Path) -> None:
    """Issue 63: with a difusor's realistic name, URL and error, Estado, Último reporte
    and Último error stay on screen at 1024×768 (the manual promises every column): the
    name and URL give way, shortened with «…» and whole on hover, the error wraps."""
    node = scenario.node
    engine = make_engine(node.dsn, pool_size=1)
    try:
        largo = alta(engine, f"Universidad Autónoma Metropolitana, Unidad Iztapalapa "
                     f"({size[0]})", f"https://prep-resultados.izt.uam.mx/elecciones-locales/"
                     f"cdmx-{size[0]}/", actor="pruebas")
        datos = tmp_path / "difusor"
        inscrito = registro.registrar(datos, node.url, largo.codigo, node.cert_sha256)
        registro.reportar(datos, inscrito, None, None, "No se pudo descargar el corte: la "
                          "conexión con el nodo central se cerró antes de terminar; se "
                          "reintentará en 30 segundos.")
    finally:
        engine.dispose()
    win = open_window(qtbot, scenario)
    try:
        win.resize(*size)
        qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
        win.show_page(PAGES.index("Difusores"))
        table = win.difusores.table
        qtbot.waitUntil(lambda: largo.id in {r.key for r in table.model.rows})
        assert table.cell(largo.id, 5) == "Con error"
        view = table.view
        header = view.horizontalHeader()
        viewport = view.viewport()
        assert viewport is not None
        qtbot.waitUntil(lambda: not view.horizontalScrollBar().isVisible()
                        and header.length() <= viewport.width(), timeout=2_000)
        for column in (2, 3, 4, 5):  # corte, atraso, último reporte, estado: whole
            assert header.sectionSize(column) >= view.sizeHintForColumn(column), column
        row = next(r for r in range(table.proxy.rowCount())
                   if table.proxy.index(r, 0).data(KEY_ROLE) == largo.id)
        assert view.rowHeight(row) > view.verticalHeader().defaultSectionSize()  # wrapped
        index = table.proxy.index(row, 0)
        assert index.data(Qt.ItemDataRole.ToolTipRole).startswith("Universidad Autónoma")
    finally:
        close_window(win)
