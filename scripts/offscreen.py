"""The set-up the ``scripts/render_*.py`` share: this repository first on ``sys.path``,
Qt on its offscreen platform, one application with the workstation's look, waiting
for a screen to get ready, and writing its grab.

Import it before anything from PySide6 or the suite (importing it does the first two).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402

from catd.theme import apply_theme  # noqa: E402


def application() -> QApplication:
    """The application, with the workstation's font and style sheet."""
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    apply_theme(app)
    return app


def spin(app: QApplication, until: Callable[[], bool], timeout: float = 60.0) -> None:
    """Process events until ``until()`` holds (``TimeoutError`` after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not get ready")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)


def save_grab(widget: QWidget, path: Path) -> Path:
    """Write ``widget`` as it looks to ``path`` (PNG) and say where."""
    if not widget.grab().save(str(path), "PNG"):
        raise RuntimeError(f"could not write {path}")
    print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return path
