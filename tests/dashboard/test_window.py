"""The dashboard window over the running central: what the coordinator sees equals the
database, follows it live (NOTIFY), and acknowledging an anomaly is an audited write."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from central.db import make_engine
from central.db import upgrade
from dashboard.controller import DashboardController
from dashboard.window import DashboardWindow
from prep.records import Kind
from tests.dashboard.conftest import Scenario
from tests.dashboard.conftest import actas_of
from tests.dashboard.keys import WAIT_MS
from tests.dashboard.keys import coordinator_window
from tests.dashboard.keys import reader_window
from tests.harness.work import site_account


@pytest.fixture
def window(qtbot: QtBot, scenario: Scenario) -> Iterator[DashboardWindow]:
    with coordinator_window(qtbot, scenario) as win:
        yield win


def _settle(qtbot: QtBot, win: DashboardWindow) -> None:
    qtbot.waitUntil(lambda: not win.controller.busy and not win.controller.pending_actions,
                    timeout=WAIT_MS)


def test_the_numbers_on_screen_are_the_database_counts(scenario: Scenario,
                                                       window: DashboardWindow) -> None:
    table = window.resumen.table
    for distrito in (1, 2, 5):
        sitio = f"{distrito:02d}"
        esperadas, validadas, digitalizadas = scenario.sql(
            "SELECT count(*), count(*) FILTER (WHERE estado = 'validada'), "
            "count(*) FILTER (WHERE estado IN ('digitalizada', 'captura_1', 'captura_2', "
            "'verificacion', 'validada')) FROM acta_states WHERE distrito = %s",
            distrito)[0]
        assert table.cell(sitio, 0) == sitio
        assert table.cell(sitio, 2) == f"{esperadas:,}"
        assert table.cell(sitio, 4).startswith(f"{digitalizadas:,} (")
        assert table.cell(sitio, 6).startswith(f"{validadas:,} (")
    total = scenario.scalar("SELECT count(*) FROM acta_states WHERE en_catalogo")
    assert window.resumen.cards["esperadas"].value.text() == f"{total:,}"
    validadas = scenario.scalar("SELECT count(*) FROM acta_states WHERE estado = 'validada'")
    assert window.resumen.cards["validadas"].value.text() == f"{validadas:,}"
    assert window.resumen.table.model.rowCount() == 33 + 1  # the CATD and the CCV
    # Every station enrolled (the intake's too), and the 31 CATD with none (marked).
    assert window.estaciones.table.model.rowCount() == len(scenario.stations) + 31
    assert window.estaciones.table.cell(scenario.catd1.id, 3) == "En línea"
    manifest = scenario.scalar("SELECT manifiesto_sha256 FROM cortes ORDER BY id LIMIT 1")
    assert any(r.cells[7].text == manifest for r in window.cortes.table.model.rows)


def test_choosing_an_eleccion_shows_its_counts(scenario: Scenario,
                                              window: DashboardWindow) -> None:
    combo = window.resumen.eleccion
    combo.setCurrentIndex(combo.findData("02"))
    esperadas = scenario.scalar("SELECT count(*) FROM acta_states WHERE distrito = 1 "
                                "AND eleccion = '02'")
    assert window.resumen.table.cell("01", 2) == f"{esperadas:,}"


def test_a_batch_ingested_updates_the_view(qtbot: QtBot, scenario: Scenario,
                                           window: DashboardWindow) -> None:
    esperadas = [a for a in actas_of(scenario.catalog, 2)
                 if scenario.scalar("SELECT estado FROM acta_states WHERE clave_acta = %s",
                                    a.clave) == "esperada"]
    refreshes = window.controller.refreshes
    acopiador02 = site_account(scenario.node, "acopiador", "02")

    async def send() -> None:
        async with scenario.catd2:
            await scenario.catd2.send([(Kind.ACOPIO, acopiador02,
                                        {"clave_acta": a.clave}) for a in esperadas[:2]])
    asyncio.run(send())

    acopiadas = scenario.scalar("SELECT count(*) FROM acta_states WHERE distrito = 2 "
                                "AND (acopio_record IS NOT NULL OR sin_acta_record IS NOT "
                                "NULL)")
    qtbot.waitUntil(lambda: window.resumen.table.cell("02", 3).startswith(f"{acopiadas:,} ("),
                    timeout=WAIT_MS)
    assert window.controller.refreshes > refreshes


def test_an_update_notifies_and_a_burst_is_one_refresh_not_many(
        qtbot: QtBot, scenario: Scenario, window: DashboardWindow) -> None:
    station = scenario.catd2.id
    refreshes = window.controller.refreshes
    with psycopg.connect(scenario.node.dsn, autocommit=True) as conn:
        for i in range(20):  # twenty transactions, twenty notifications
            conn.execute("UPDATE station_health SET version = %s WHERE station = %s",
                         (f"0.9.{i}", station))
    qtbot.waitUntil(lambda: window.estaciones.table.cell(station, 7) == "0.9.19",
                    timeout=WAIT_MS)
    _settle(qtbot, window)
    assert window.controller.refreshes - refreshes < 20


def test_an_anomaly_is_acknowledged_with_a_note(qtbot: QtBot, scenario: Scenario,
                                                window: DashboardWindow) -> None:
    view = window.anomalias
    window.tabs.setCurrentWidget(view)
    [anomaly] = scenario.sql("SELECT id FROM anomalies WHERE type = 'acopio_duplicado' "
                             "AND NOT acknowledged")
    assert view.table.select_key(anomaly[0])
    assert not view.ack_button.isEnabled()  # a note is required
    qtbot.keyClicks(view.note, "Paquete revisado: misma acta")  # QTest types ASCII only
    assert view.ack_button.isEnabled()
    qtbot.keyClick(view.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    qtbot.waitUntil(lambda: scenario.scalar("SELECT acknowledged FROM anomalies WHERE "
                                            "id = %s", anomaly[0]) is True, timeout=WAIT_MS)
    actor, detail = scenario.sql("SELECT actor, detail FROM audit_log WHERE event = "
                                 "'anomaly_acknowledged' ORDER BY id DESC LIMIT 1")[0]
    assert actor == scenario.coordinador
    assert detail == {"id": anomaly[0], "type": "acopio_duplicado",
                      "station": scenario.catd1.id,
                      "nota": "Paquete revisado: misma acta"}
    _settle(qtbot, window)
    view.only_pending.setChecked(False)
    row = next(r for r in view.table.model.rows if r.key == anomaly[0])
    assert row.cells[5].text == "Atendida"
    assert row.cells[4].text.endswith("\nNota al atenderla: Paquete revisado: misma acta")


def test_coordinator_actions_are_audited(qtbot: QtBot, scenario: Scenario,
                                         window: DashboardWindow) -> None:
    done: list[str] = []
    window.controller.action_did_finish.connect(done.append)
    window.controller.act(lambda c: c.enrollment_code(7, "catd", 2))
    window.controller.act(lambda c: c.operator("Elsa Núñez", "verificador", "07",
                                                "contraseña-larga-2").id)
    window.controller.act(lambda c: c.corte())
    qtbot.waitUntil(lambda: len(done) == 3, timeout=WAIT_MS)
    events = [e for (e,) in scenario.sql(
        "SELECT event FROM audit_log WHERE actor = %s", scenario.coordinador)]
    assert {"enrollment_code_created", "operator_created", "corte_published"} <= set(events)
    qtbot.waitUntil(lambda: window.cortes.table.model.rowCount() == scenario.scalar(
        "SELECT count(*) FROM cortes"), timeout=WAIT_MS)


def test_a_refused_action_says_why(qtbot: QtBot, window: DashboardWindow) -> None:
    with qtbot.waitSignal(window.controller.action_did_fail, timeout=WAIT_MS) as failed:
        window.controller.act(lambda c: c.ack(999_999, "nota"))
    assert failed.args == ["La anomalía 999999 no existe."]


def test_an_unreachable_database_is_an_error_state(qtbot: QtBot, pg_dsn: str) -> None:
    from psycopg.conninfo import make_conninfo

    controller = DashboardController(make_conninfo(pg_dsn, dbname="no_existe_tablero"))
    win = DashboardWindow(controller)
    qtbot.addWidget(win)
    win.show()
    controller.start()
    try:
        qtbot.waitUntil(lambda: controller.state == "error", timeout=WAIT_MS)
        assert "No se pudo leer la base de datos" in win.banner_text.text()
        assert win.stack.currentWidget() is win.loading
        # Issue 33: libpq's English («database … does not exist») stays in the log.
        assert "la base de datos «no_existe_tablero» no existe" in win.loading.text()
        assert "does not exist" not in win.banner_text.text() + win.loading.text()
        assert not win.anomalias.ack_button.isEnabled()
    finally:
        controller.close()


def test_an_empty_central_shows_what_to_do(qtbot: QtBot, pg_database: str) -> None:
    engine = make_engine(pg_database, pool_size=1)
    upgrade(engine)
    engine.dispose()
    with reader_window(qtbot, pg_database) as win:
        table = win.resumen.table
        assert table.currentWidget() is table.empty
        assert "catalog load" in table.empty.text()
        assert win.anomalias.table.empty.text() == "Sin anomalías registradas."
        assert win.cortes.table.currentWidget() is win.cortes.table.empty
        assert win.ritmo.stack.currentWidget() is win.ritmo.empty
        assert "Solo lectura" in win.acting.text()
