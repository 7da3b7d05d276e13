"""«Corte ahora» and acknowledging an anomaly through ``prep dashboard`` itself: the
command line's own entry point (``prep.cli.main``, its event loop, its theme), with the
two logins the manual tells the technician to use: the read-only login that ``prep
central read-only-user`` makes (bounded: read-only transactions, timeouts) for ``--dsn``
and the central's own for ``--acciones-dsn``, plus ``--data-dir``.

Issue 35 saw «Haciendo el corte…» forever this way (6 of 6) and an acknowledgement that
took 11.8 s, though never through a test that built the window itself. This test drives
the real command by keys, from inside its event loop, and times both.
"""

from __future__ import annotations

import secrets
import time
import traceback
from collections.abc import Callable
from collections.abc import Generator
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from central.db.read_only import set_read_only_login
from dashboard.dialogs import LoginDialog
from dashboard.window import DashboardWindow
from prep.cli import main
from tests.dashboard.conftest import COORDINATOR_PASSWORD
from tests.dashboard.conftest import Scenario
from tests.dashboard.keys import ALT
from tests.dashboard.keys import CTRL
from tests.dashboard.keys import SHIFT
from tests.dashboard.keys import visible

SCRIPT_LIMIT_S = 240.0

Step = Generator[Callable[[], bool], None, None]


class KeyScript:
    """Runs ``steps`` inside the program's own event loop: each ``yield`` waits for a
    condition; keys are pressed from a zero-delay timer, so a modal box they open runs
    its own loop while the script keeps going."""

    def __init__(self, steps: Callable[[], Step]) -> None:
        self.steps = steps
        self.error: str | None = None
        self.done = False
        self._gen: Step | None = None
        self._waiting: Callable[[], bool] | None = None
        self._started = time.monotonic()
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.timer.start()

    def _tick(self) -> None:
        if self.done:
            return
        if time.monotonic() - self._started > SCRIPT_LIMIT_S:
            frame = self._gen.gi_frame if self._gen is not None else None
            where = f"línea {frame.f_lineno}" if frame is not None else "al inicio"
            self._fail(f"sin avanzar tras {SCRIPT_LIMIT_S:.0f} s ({where} de la prueba)")
            return
        try:
            if self._gen is None:
                if window() is None:
                    return
                self._gen = self.steps()
            elif self._waiting is not None and not self._waiting():
                return
            self._waiting = next(self._gen)
        except StopIteration:
            self.done = True
            self.timer.stop()
        except Exception:
            self._fail(traceback.format_exc())

    def _fail(self, message: str) -> None:
        self.error = message
        self.done = True
        self.timer.stop()
        win = window()
        if win is not None:
            win.close()


def window() -> DashboardWindow | None:
    return visible(DashboardWindow)


def later(qtbot: QtBot, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier
          .NoModifier, text: str = "") -> None:
    """Type ``text`` and press ``key`` where the focus is, from the event loop."""
    def go() -> None:
        target = QApplication.focusWidget() or QApplication.activeWindow()
        assert target is not None
        if text:
            qtbot.keyClicks(target, text)
        qtbot.keyClick(target, key, modifiers)
    QTimer.singleShot(0, go)


def activate(win: DashboardWindow) -> Step:
    """The main window active again (a closed dialog leaves none active offscreen)."""
    win.activateWindow()
    yield lambda: QApplication.activeWindow() is win and QApplication.focusWidget() is not None


@pytest.fixture
def bounded_reader(scenario: Scenario) -> Iterator[str]:
    """The read-only login made as the manual says (``prep central read-only-user``):
    only prep_lectura, read-only transactions, statement and idle timeouts."""
    name = f"tablero_{secrets.token_hex(4)}"
    login = set_read_only_login(scenario.node.dsn, name)
    yield login.dsn
    with psycopg.connect(scenario.node.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.mark.timeout(300)
def test_corte_and_ack_through_prep_dashboard(qtbot: QtBot, scenario: Scenario,
                                              bounded_reader: str,
                                              restore_theme: None) -> None:
    publicacion = Path(scenario.node.data_dir) / "publicacion"
    before = set(publicacion.iterdir()) if publicacion.exists() else set()
    cortes = scenario.scalar("SELECT count(*) FROM cortes")
    # An anomaly of its own, the newest: first in the queue.
    [(anomaly,)] = scenario.sql(
        "INSERT INTO anomalies (type, station, detail, at) VALUES ('clock_skew', %s, "
        "'{\"skew_seconds\": 42}', greatest(now(), (SELECT max(at) + interval '1 second' "
        "FROM anomalies))) RETURNING id", scenario.catd2.id)

    def steps() -> Step:
        win = window()
        assert win is not None
        c = win.controller
        # The command asks the coordinator to log in as soon as the window opens.
        yield lambda: visible(LoginDialog) is not None and c.overview is not None
        dialog = visible(LoginDialog)
        assert dialog is not None and QApplication.focusWidget() is dialog.user
        later(qtbot, Qt.Key.Key_Tab, text=scenario.coordinador)
        yield lambda: QApplication.focusWidget() is dialog.password
        later(qtbot, Qt.Key.Key_Return, text=COORDINATOR_PASSWORD)
        yield lambda: c.account is not None and not c.busy
        # Ctrl+Shift+C, then «Hacer el corte» (Alt+H: Intro would cancel).
        yield from activate(win)
        later(qtbot, Qt.Key.Key_C, CTRL | SHIFT)
        yield lambda: visible(QMessageBox) is not None
        later(qtbot, Qt.Key.Key_H, ALT)
        yield lambda: win.corte_started is not None
        assert win.acting.text().startswith("Haciendo el corte")
        yield lambda: win.corte_started is None
        assert win.statusBar().currentMessage().startswith("Corte "), \
            win.statusBar().currentMessage()
        # Ctrl+4 chooses the first pending anomaly; its note (Tab), Ctrl+Intro.
        yield from activate(win)
        later(qtbot, Qt.Key.Key_4, CTRL)
        yield lambda: win.tabs.currentWidget() is win.anomalias and not c.busy
        assert QApplication.focusWidget() is win.anomalias.table.view
        yield lambda: win.anomalias.selected() is not None
        assert win.anomalias.selected().id == anomaly  # type: ignore[union-attr]
        later(qtbot, Qt.Key.Key_Tab)
        yield lambda: QApplication.focusWidget() is win.anomalias.note
        later(qtbot, Qt.Key.Key_Return, CTRL, text="Revisado en la sala de control")
        yield lambda: c.pending_actions == 0 and not win.anomalias.note.text()
        yield from activate(win)
        later(qtbot, Qt.Key.Key_Q, CTRL)

    script = KeyScript(steps)
    script.start()
    status = main(["dashboard", "--dsn", bounded_reader, "--acciones-dsn",
                   scenario.actions_dsn])
    assert script.error is None, script.error
    assert script.done and status == 0
    # The corte is published (its directory, its row) while the dashboard was open...
    new = {p.name for p in set(publicacion.iterdir()) - before if p.is_dir()}
    [(directorio, actor)] = scenario.sql(
        "SELECT c.directorio, a.actor FROM cortes AS c JOIN audit_log AS a ON "
        "a.event = 'corte_published' AND a.detail->>'corte' = c.directorio "
        "ORDER BY c.id DESC LIMIT 1")
    assert directorio in new
    assert scenario.scalar("SELECT count(*) FROM cortes") == cortes + 1
    # ...and both actions carry the coordinator's account, not the desktop's user.
    assert actor == scenario.coordinador
    assert scenario.sql("SELECT acknowledged FROM anomalies WHERE id = %s", anomaly) == \
        [(True,)]
    assert scenario.scalar("SELECT actor FROM audit_log WHERE event = "
                           "'anomaly_acknowledged' AND (detail->>'id')::bigint = %s",
                           anomaly) == scenario.coordinador
