"""At 1024×768 the dashboard's long texts are read whole, not cut with «…» (issue 35):
the Cabecera of every CATD in Resumen (CDMX's «La Magdalena Contreras», «Gustavo A.
Madero»…), the Detalle and the Estado (with the coordinator's note) of every anomaly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QStyleOptionViewItem
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from central.controlroom.overview import PHASES
from central.controlroom.overview import Counts
from central.controlroom.overview import Overview
from dashboard.window import DashboardWindow
from tests.dashboard.conftest import Scenario
from tests.dashboard.keys import coordinator_window
from tests.harness.qt_layout import settle

#: CDMX's cabeceras as the catalog names them (upper case; the page shows them titled).
CABECERAS = ("LA MAGDALENA CONTRERAS", "CUAJIMALPA DE MORELOS", "GUSTAVO A. MADERO",
             "VENUSTIANO CARRANZA", "AZCAPOTZALCO", "MIGUEL HIDALGO")
NOTE = ("Se llamó al responsable del CATD: el reloj del equipo se corrigió a mano y se "
        "revisaron los lotes siguientes, que llegaron completos")


@pytest.fixture
def small_window(qtbot: QtBot, scenario: Scenario, themed: None) -> Iterator[DashboardWindow]:
    with coordinator_window(qtbot, scenario) as win:
        win.resize(1024, 768)
        qtbot.waitUntil(lambda: (win.width(), win.height()) == (1024, 768))
        yield win


def _night(ov: Overview) -> Overview:
    """The same central at CDMX scale: long cabeceras, four-digit counts, anomalies with
    long details, acknowledged ones with a long note."""
    distritos = {d: CABECERAS[i % len(CABECERAS)] for i, d in enumerate(sorted(ov.distritos))}
    grown = {key: Counts(*(c.get(p) * 97 + (1000 if p == "esperadas" else 0)
                           for p in PHASES)) for key, c in ov.progress.items()}
    assert ov.anomalies, "the scenario has anomalies"
    first = ov.anomalies[0]
    long_detail = {"clave_acta": "090123B010002", "operator": "op-27-capturista-12",
                   "record": "3f2a9c1e" * 8, "first": "9b1c77aa" * 8, "kind": "captura",
                   "estado": "captura_2", "received_at": first.at.isoformat()}
    anomalies = [replace(first, id=10_000 + i, detail=long_detail,
                         at=first.at - timedelta(minutes=i)) for i in range(6)]
    anomalies += [replace(first, id=20_000 + i, detail=long_detail, acknowledged=True,
                          ack_by="coordinador:op-central-olga-rivas", ack_at=first.at,
                          ack_note=NOTE) for i in range(3)]
    return replace(ov, distritos=distritos, progress=grown,
                   anomalies=(*anomalies, *ov.anomalies))


def _show_night(win: DashboardWindow, page: int) -> None:
    """Page ``page`` of the window, showing the night at CDMX scale (:func:`_night`)."""
    ov = win.controller.overview
    assert ov is not None
    win.controller.overview = _night(ov)
    win.controller.overview_did_load.emit()
    win.show_page(page)


def _cut_cells(view: QTableView, columns: range | list[int]) -> list[tuple[int, int, str]]:
    """Cells of ``columns`` whose text needs more room than the cell has (Qt then cuts
    it with «…»): the delegate's size for the text wrapped to the column's width, against
    the cell as painted (less the grid line Qt draws inside it)."""
    cut = []
    model = view.model()
    delegate = view.itemDelegate()
    grid = 1 if view.showGrid() else 0
    for row in range(model.rowCount()):
        for column in columns:
            index = model.index(row, column, QModelIndex())
            option = QStyleOptionViewItem()
            view.initViewItemOption(option)
            width, height = view.columnWidth(column) - grid, view.rowHeight(row) - grid
            option.rect.setSize(QSize(width, height))
            if view.wordWrap():
                option.features |= QStyleOptionViewItem.ViewItemFeature.WrapText
            needed = delegate.sizeHint(option, index)
            if needed.width() > width or needed.height() > height:
                cut.append((row, column, str(index.data())))
    return cut


def _save(win: DashboardWindow, name: str) -> None:
    """With PREP_SCREENS set, the page as the coordinator sees it (to look at)."""
    where = os.environ.get("PREP_SCREENS")
    if where:
        win.grab().save(str(Path(where) / name))


def test_cabeceras_are_whole_at_1024(qtbot: QtBot, small_window: DashboardWindow) -> None:
    win = small_window
    _show_night(win, 0)
    settle(win)
    view = win.resumen.table.view
    assert view.horizontalScrollBar().maximum() == 0
    names = [str(view.model().index(r, 1).data()) for r in range(view.model().rowCount())]
    assert "La Magdalena Contreras" in names and "Gustavo A. Madero" in names
    _save(win, "dashboard_resumen_1024.png")
    assert _cut_cells(view, range(view.model().columnCount())) == []


def test_anomaly_details_and_notes_are_whole_at_1024(
        qtbot: QtBot, small_window: DashboardWindow) -> None:
    win = small_window
    _show_night(win, 3)
    view = win.anomalias.table.view
    for pending_only in (True, False):
        win.anomalias.only_pending.setChecked(pending_only)
        settle(win)
        assert view.horizontalScrollBar().maximum() == 0, pending_only
        _save(win, f"dashboard_anomalias_1024_{pending_only}.png")
        assert _cut_cells(view, range(view.model().columnCount())) == [], pending_only
    # The coordinator's note, whole, under the detail; «Estado» says only «Atendida».
    shown = [(str(view.model().index(r, 4).data()), str(view.model().index(r, 5).data()))
             for r in range(view.model().rowCount())]
    assert sum(detail.endswith(f"\nNota al atenderla: {NOTE}") and estado == "Atendida"
               for detail, estado in shown) == 3
