"""The control room sees at a glance that its central is a drill's: SIMULACRO in the
window's title and in the status line; a real central's dashboard never says it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session

from central.db import make_engine
from central.db import upgrade
from central.db.simulacro import set_simulacro
from dashboard.window import DashboardWindow
from tests.dashboard.keys import reader_window


@contextmanager
def _window(qtbot: QtBot, dsn: str, simulacro: bool) -> Iterator[DashboardWindow]:
    engine = make_engine(dsn, pool_size=1)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        set_simulacro(session, simulacro)
    engine.dispose()
    with reader_window(qtbot, dsn) as win:  # only prep_lectura, as in the control room
        yield win


def test_a_drill_central_says_simulacro(qtbot: QtBot, pg_database: str) -> None:
    with _window(qtbot, pg_database, simulacro=True) as win:
        assert win.windowTitle() == "SIMULACRO · PREP · Tablero de la sala de control"
        assert win.live.text().startswith("SIMULACRO (sus cortes lo dicen) · ")


def test_a_real_central_does_not(qtbot: QtBot, pg_database: str) -> None:
    with _window(qtbot, pg_database, simulacro=False) as win:
        assert win.windowTitle() == "PREP · Tablero de la sala de control"
        assert "SIMULACRO" not in win.live.text()
