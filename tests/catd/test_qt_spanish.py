"""Qt's own texts in the workstations (CATD and CCV) are Spanish, as in the dashboard:
standard buttons, a field's context menu, the folder chooser (issue 35: the failure box
said «OK», a field's menu «Undo», «Copy», «Paste»)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtCore import QTranslator
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QFileDialog
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QMessageBox
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from catd.app import prepare_application
from catd.window import MainWindow
from qtkit.qt_es import TRANSLATOR_NAME
from qtkit.qt_es import install_qt_spanish


def _remove_spanish(app: QApplication) -> bool:
    """Take out the translator another test's program left in the shared application."""
    translator = app.findChild(QTranslator, TRANSLATOR_NAME)
    if translator is None:
        return False
    app.removeTranslator(translator)
    translator.setParent(None)
    translator.deleteLater()
    return True


@pytest.fixture(params=["PREP CATD", "PREP CCV"])
def workstation_app(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    """The application set up as ``catd``/``ccv`` set it up, starting from plain Qt."""
    had = _remove_spanish(qapp)
    name = qapp.applicationName()
    box = QMessageBox()
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    assert [b.text() for b in box.buttons()] == ["OK"]  # plain Qt speaks English
    prepare_application(request.param)
    yield request.param
    qapp.setApplicationName(name)
    if not had:
        _remove_spanish(qapp)
    else:
        install_qt_spanish(qapp)


def test_standard_buttons_and_a_fields_menu_are_spanish(workstation_app: str,
                                                        qtbot: QtBot) -> None:
    box = QMessageBox()
    box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
    assert [b.text() for b in box.buttons()] == ["Aceptar", "Cancelar"]
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
    assert sorted(b.text() for b in buttons.buttons()) == ["Aceptar", "Cancelar"]
    field = QLineEdit()
    qtbot.addWidget(field)
    menu = [a.text().split("\t")[0] for a in field.createStandardContextMenu().actions()]
    assert [t for t in menu if t] == ["&Deshacer", "&Rehacer", "Cor&tar", "&Copiar",
                                      "&Pegar", "Borrar", "Seleccionar todo"]
    # The folder chooser of digitalización (Qt's own dialog on Linux).
    chooser = QFileDialog()
    chooser.setOption(QFileDialog.Option.DontUseNativeDialog)
    chooser.setFileMode(QFileDialog.FileMode.Directory)
    assert "Cancelar" in [b.text() for b in chooser.findChildren(QPushButton)]
    chooser.deleteLater()


def test_the_workstations_failure_box_says_aceptar(workstation_app: str,
                                                   window: MainWindow, qtbot: QtBot) -> None:
    """The real window's box for a task that failed (QMessageBox.warning, whose only
    button Qt names)."""
    seen: list[list[str]] = []

    def read_and_close() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append([b.text() for b in box.buttons()])
        box.done(0)

    QTimer.singleShot(50, read_and_close)
    window.context.tasks.task_did_fail.emit("No se pudo leer el almacén de la estación.")
    assert seen == [["Aceptar"]]
