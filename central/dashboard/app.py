"""Start the dashboard: the Qt application, the writer for actions, the window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from central.controlroom.actions import Coordinator
from central.controlroom.actions import CorteConfig
from central.controlroom.overview import Settings
from central.dashboard import theme
from central.dashboard.controller import DashboardController
from central.dashboard.window import DashboardWindow
from qtkit.qt_es import install_qt_spanish


def coordinator_for(actions_dsn: str | None, data_dir: Path | None) -> Coordinator | None:
    """The writer for actions, if the central's connection was given."""
    if not actions_dsn:
        return None
    from central.config import DataDir
    from central.config import load_identity
    from central.db import make_engine

    corte = None
    if data_dir is not None:
        directory = DataDir(data_dir)
        identity = load_identity(directory)
        corte = CorteConfig(identity.key, directory.root / "publicacion", directory.blobs)
    return Coordinator(make_engine(actions_dsn, pool_size=1), corte)


def open_dashboard(dsn: str, settings: Settings, actions_dsn: str | None,
                   data_dir: Path | None) -> DashboardWindow:
    """The application, the writer for actions and the window, shown and started (what
    ``prep dashboard`` runs before its event loop; tests drive it from here)."""
    coordinator = coordinator_for(actions_dsn, data_dir)
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


def run_app(dsn: str, settings: Settings, actions_dsn: str | None,
            data_dir: Path | None) -> int:
    """Show the dashboard until it is closed; the exit status."""
    window = open_dashboard(dsn, settings, actions_dsn, data_dir)
    try:
        return QApplication.exec()
    finally:
        close_dashboard(window)
