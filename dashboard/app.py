"""Start the dashboard: the Qt application, the writer for actions, the window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from central.controlroom.actions import Coordinator
from central.controlroom.overview import Settings
from dashboard import theme
from dashboard.controller import DashboardController
from dashboard.window import DashboardWindow
from qtkit.qt_es import install_qt_spanish


def coordinator_for(actions_dsn: str | None) -> Coordinator | None:
    """The writer for actions, if a ``prep_coordinador`` login was given (checked at the
    first login, on the actions worker: :func:`central.controlroom.login.check_actions_login`).
    It holds no key: cortes are made by the central's service."""
    if not actions_dsn:
        return None
    from central.db import make_engine

    return Coordinator(make_engine(actions_dsn, pool_size=1), dsn=actions_dsn)


def open_dashboard(dsn: str, settings: Settings, actions_dsn: str | None
                   ) -> DashboardWindow:
    """The application, the writer for actions and the window, shown and started (what
    ``prep dashboard`` runs before its event loop; tests drive it from here)."""
    coordinator = coordinator_for(actions_dsn)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("PREP Tablero")
    theme.apply(app)
    install_qt_spanish(app)  # Qt's own buttons and menus in Spanish
    controller = DashboardController(dsn, settings, coordinator)
    window = DashboardWindow(controller)
    window.show()
    window.start()
    return window


def close_dashboard(window: DashboardWindow) -> None:
    """Stop the window's workers and close the writer's connections."""
    controller = window.controller
    controller.close()
    if controller.coordinator is not None:
        controller.coordinator.engine.dispose()


def run_app(dsn: str, settings: Settings, actions_dsn: str | None) -> int:
    """Show the dashboard until it is closed; the exit status."""
    window = open_dashboard(dsn, settings, actions_dsn)
    try:
        return QApplication.exec()
    finally:
        close_dashboard(window)
