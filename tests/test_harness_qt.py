"""Qt runs offscreen under pytest-qt, renders real widgets, and fails on Qt warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

REPO_ROOT = Path(__file__).resolve().parents[1]


class EchoForm(QWidget):
    """A line edit and a button that copies its text into a label."""

    def __init__(self) -> None:
        super().__init__()
        self.entry = QLineEdit()
        self.button = QPushButton("Mostrar")
        self.shown = QLabel()
        layout = QVBoxLayout(self)
        for widget in (self.entry, self.button, self.shown):
            layout.addWidget(widget)
        self.button.clicked.connect(lambda: self.shown.setText(self.entry.text()))


def test_typing_and_clicking_shows_the_text(qtbot: QtBot, tmp_path: Path) -> None:
    form = EchoForm()
    qtbot.addWidget(form)
    form.resize(320, 140)
    form.show()
    qtbot.waitExposed(form)

    qtbot.keyClicks(form.entry, "Casilla 0123 B")  # type: ignore[no-untyped-call]
    qtbot.mouseClick(form.button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    assert form.shown.text() == "Casilla 0123 B"

    png = tmp_path / "form.png"
    assert form.grab().save(str(png), "PNG")
    assert png.stat().st_size > 0
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (form.width(), form.height()) == (320, 140)


def test_unexpected_qt_warning_fails_the_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    pytester.makepyfile(
        """
        from PySide6.QtCore import qWarning

        def test_warns(qtbot):
            qWarning("unexpected warning from a widget")

        def test_quiet(qtbot):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "tests.conftest", "-o", "qt_api=pyside6")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*unexpected warning from a widget*"])
