"""The dashboard over a read replica (docs/dashboard.md: ``--dsn`` «puede ser una
réplica»). PostgreSQL refuses LISTEN on a hot standby («cannot execute LISTEN during
recovery»): the dashboard said «Sin avisos en vivo» and never refreshed by itself
(issue 35). It now asks every few seconds there, and listens again once the standby is
promoted."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session

from central.audit.anomalies import add_anomaly
from central.db import make_engine
from central.db.migrate import upgrade
from dashboard.controller import DashboardController
from dashboard.window import DashboardWindow
from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.standby import Replicated
from tests.harness.standby import primary_with_standby

POLL = 0.5
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    """A primary with the central's schema and a standby streaming it."""
    with primary_with_standby() as servers:
        with psycopg.connect(servers.primary, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier("central")))
        primary = make_conninfo(servers.primary, dbname="central")
        engine = make_engine(primary, pool_size=1)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        standby = make_conninfo(servers.standby, dbname="central")
        esperar(lambda: _has_schema(standby), holgado(60),
                "el esquema no llegó a la réplica")
        yield Replicated(primary, standby, servers.standby_data)


def _has_schema(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT count(*) FROM anomalies")
    except psycopg.Error:
        return False
    return True


def _raise_anomaly(dsn: str, station: str) -> None:
    engine = make_engine(dsn, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            add_anomaly(session, "clock_skew", None, {"estacion": station,
                                                      "skew_seconds": 180})
    finally:
        engine.dispose()


def _anomalies(controller: DashboardController) -> int:
    ov = controller.overview
    return 0 if ov is None else sum(n for _p, n in ov.anomaly_types.values())


def test_on_a_standby_it_polls_and_after_promotion_it_listens(
        qtbot: QtBot, qapp: QApplication, replicated: Replicated) -> None:
    controller = DashboardController(replicated.standby, min_interval=0.1,
                                     poll_seconds=POLL)
    window = DashboardWindow(controller)
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        qtbot.waitUntil(lambda: controller.overview is not None and controller.polling,
                        timeout=WAIT_MS)
        assert controller.state == "en_vivo", controller.message
        assert window.live.text().startswith(f"● En vivo (réplica: cada {POLL:g} s)")
        assert window.banner.isHidden()  # no «Sin avisos en vivo» warning

        # A change written on the primary reaches the screen without F5.
        before = _anomalies(controller)
        _raise_anomaly(replicated.primary, "catd-07-replica")
        qtbot.waitUntil(lambda: _anomalies(controller) == before + 1, timeout=WAIT_MS)
        assert controller.state == "en_vivo"

        # Failover: the standby becomes the primary; the dashboard listens again.
        replicated.promote()
        qtbot.waitUntil(lambda: not controller.polling and controller.state == "en_vivo",
                        timeout=WAIT_MS)
        assert window.live.text().startswith("● En vivo · ")
        refreshes = controller.refreshes
        _raise_anomaly(replicated.standby, "catd-08-promovida")  # NOTIFY, not a poll
        qtbot.waitUntil(lambda: _anomalies(controller) == before + 2, timeout=WAIT_MS)
        assert controller.refreshes == refreshes + 1
    finally:
        controller.close()
