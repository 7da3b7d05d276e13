"""What the pages say: every expected site in station health, anomalies in words,
Spanish plurals, and everything readable at 1024×768."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from central.controlroom.overview import PHASES
from central.controlroom.overview import Counts
from central.controlroom.overview import OperatorErrors
from central.controlroom.overview import Overview
from central.controlroom.overview import Settings
from central.controlroom.overview import read_overview
from dashboard import theme
from dashboard.tables import Table
from dashboard.views import AnomaliasView
from dashboard.views import CapturistasView
from dashboard.views import CortesView
from dashboard.views import EstacionesView
from dashboard.window import PAGES
from dashboard.window import DashboardWindow
from tests.dashboard.conftest import Scenario
from tests.dashboard.keys import coordinator_window
from tests.harness.qt_layout import settle


@pytest.fixture
def overview(scenario: Scenario) -> Overview:
    with psycopg.connect(scenario.reader_dsn) as conn:
        return read_overview(conn)


def test_station_health_lists_every_expected_site(qtbot: QtBot, scenario: Scenario,
                                                  overview: Overview) -> None:
    view = EstacionesView()
    qtbot.addWidget(view)
    view.show_overview(overview)
    table = view.table
    shown = {row.cells[1].text for row in table.model.rows}
    assert shown == {f"CATD {d:02d}" for d in range(1, 34)} | {"CCV"}
    for d in range(3, 34):  # no station was ever enrolled there
        assert table.cell(f"sitio:{d:02d}", 3) == "Sin equipo"
        assert table.cell(f"sitio:{d:02d}", 4) == "nunca"
    assert table.cell(scenario.ccv.id, 3) == "Nunca conectado"  # enrolled, never seen
    assert table.cell(scenario.catd1.id, 3) == "En línea"
    assert "31 de 34 sitios sin equipo dado de alta" in view.summary.text()


def test_anomaly_details_are_words_not_json(qtbot: QtBot, scenario: Scenario,
                                            overview: Overview) -> None:
    view = AnomaliasView()
    qtbot.addWidget(view)
    view.only_pending.setChecked(False)
    view.show_overview(overview)
    [(anomaly, clave)] = scenario.sql("SELECT id, detail->>'clave_acta' FROM anomalies "
                                      "WHERE type = 'acopio_duplicado'")
    detail = view.table.cell(anomaly, 4)
    assert detail.startswith(f"Acta {clave} · operador {scenario.acopiador} · ")
    assert "registro " in detail and "primer registro " in detail
    assert not any(c in detail for c in "{}\"")
    row = next(r for r in view.table.model.rows if r.key == anomaly)
    assert "Datos técnicos" in (row.cells[4].tip or "")  # the JSON, for the technician
    assert view.table.cell(anomaly, 1) == "Acopio duplicado"


def test_counts_read_as_spanish(qtbot: QtBot, overview: Overview) -> None:
    cortes = CortesView()
    anomalias = AnomaliasView()
    estaciones = EstacionesView()
    for view in (cortes, anomalias, estaciones):
        qtbot.addWidget(view)
    one = replace(overview, cortes=overview.cortes[:1], anomaly_types={"clock_skew": (1, 1)},
                  stations=overview.stations[:1])
    cortes.show_overview(one)
    anomalias.show_overview(one)
    estaciones.show_overview(one)
    assert cortes.summary.text().startswith("1 corte. ")
    assert anomalias.summary.text().startswith("1 pendiente de 1 — ")
    assert " de 1 equipo en línea" in estaciones.summary.text()
    assert theme.plural(2, "corte") == "2 cortes"
    assert theme.plural(1_234, "acta") == "1,234 actas"


def _rate_colours(view: CapturistasView) -> dict[str, str | None]:
    """The colour each capturista's «% error» is painted in (None: the table's own)."""
    model = view.table.model
    colours = {}
    for n, row in enumerate(model.rows):
        brush = model.data(model.index(n, 5), Qt.ItemDataRole.ForegroundRole)
        colours[row.key] = brush.name() if brush is not None else None
    return colours


def test_discrepancy_colours_follow_the_settings(qtbot: QtBot, overview: Overview) -> None:
    """4 % is nothing by default and amber from 3 %; 7 % amber by default and red from 6 %."""
    capturistas = (OperatorErrors("op-a", "Ana", "01", 100, 4),
                   OperatorErrors("op-b", "Beto", "01", 100, 7),
                   OperatorErrors("op-c", "Ceci", "02", 100, 12))
    view = CapturistasView()
    qtbot.addWidget(view)
    view.show_overview(replace(overview, capturistas=capturistas))
    amber, red = theme.strong("warn").name(), theme.strong("error").name()
    assert _rate_colours(view) == {"op-a": None, "op-b": amber, "op-c": red}
    stricter = Settings(discrepancias_aviso_pct=3.0, discrepancias_alerta_pct=6.0)
    view.show_overview(replace(overview, capturistas=capturistas, settings=stricter))
    assert _rate_colours(view) == {"op-a": amber, "op-b": red, "op-c": red}
    with pytest.raises(ValueError, match="discrepancias"):
        Settings(discrepancias_aviso_pct=20.0, discrepancias_alerta_pct=10.0)


def test_a_station_backlog_is_amber_past_the_setting(qtbot: QtBot, scenario: Scenario,
                                                     overview: Overview) -> None:
    stations = tuple(replace(s, backlog=150) if s.station == scenario.catd1.id else s
                     for s in overview.stations)
    view = EstacionesView()
    qtbot.addWidget(view)
    model = view.table.model

    def backlog_colour() -> str | None:
        n = next(n for n, row in enumerate(model.rows) if row.key == scenario.catd1.id)
        brush = model.data(model.index(n, 5), Qt.ItemDataRole.ForegroundRole)
        return brush.name() if brush is not None else None

    view.show_overview(replace(overview, stations=stations))
    assert view.table.cell(scenario.catd1.id, 5) == "150"
    assert backlog_colour() == theme.strong("warn").name()  # past the default 100
    view.show_overview(replace(overview, stations=stations,
                               settings=Settings(pendientes_alerta=200)))
    assert backlog_colour() is None


@pytest.fixture
def small_screen_window(qtbot: QtBot, scenario: Scenario,
                        themed: None) -> Iterator[DashboardWindow]:
    with coordinator_window(qtbot, scenario) as win:
        yield win


def _wide(ov: Overview) -> Overview:
    """The same night at CDMX scale: four-digit counts in every cell."""
    grown = {key: Counts(*(c.get(p) * 97 + (1000 if p == "esperadas" else 0)
                           for p in PHASES)) for key, c in ov.progress.items()}
    return replace(ov, progress=grown)


def test_everything_fits_1024_by_768(qtbot: QtBot,
                                     small_screen_window: DashboardWindow) -> None:
    win = small_screen_window
    win.resize(1024, 768)
    assert win.minimumSizeHint().width() <= 1024 and win.minimumSizeHint().height() <= 768
    ov = win.controller.overview
    assert ov is not None
    win.controller.overview = _wide(ov)
    win.controller.overview_did_load.emit()
    qtbot.waitUntil(lambda: win.size().width() == 1024 and win.size().height() == 768)
    for i, title in enumerate(PAGES):
        win.show_page(i)
        settle(win)
        for table in win.tabs.currentWidget().findChildren(Table):
            if table.currentWidget() is not table.view:
                continue
            bar = table.view.horizontalScrollBar()
            assert bar.maximum() == 0, f"{title}: columnas fuera de la pantalla"
            header = table.view.horizontalHeader()
            for col in range(header.count()):
                if header.sectionResizeMode(col).name == "Stretch":
                    continue
                needed = header.sectionSizeFromContents(col).width()
                assert header.sectionSize(col) >= needed, (title, col)
    # The status bar: what is live, when, and who acts, none of it cut.
    for label in (win.live, win.acting):
        assert label.width() >= label.sizeHint().width(), label.text()
    assert win.acting.text() == "Sesión: Olga Rivas"
