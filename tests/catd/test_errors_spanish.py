"""Issue 33: every error an operator or technician sees is Spanish and says what to do;
the exception's own text and traceback go to the log, not the screen."""

from __future__ import annotations

import logging

import pytest
from pytestqt.qtbot import QtBot

from catd.app import startup_error
from catd.taskman import TaskManager
from catd.taskman import describe_error
from prep.station.errors import StationStorageError


def _fails() -> None:
    raise KeyError("lease_id")  # a defect: its text means nothing to an operator


def test_an_unexpected_error_shows_spanish_and_logs_the_detail(
        qtbot: QtBot, caplog: pytest.LogCaptureFixture) -> None:
    """It showed «Error inesperado (KeyError: 'lease_id')»."""
    tasks = TaskManager()
    try:
        with qtbot.waitSignal(tasks.task_did_fail, timeout=10_000) as failed:
            tasks.run("db", _fails)
    finally:
        tasks.shutdown()

    shown = failed.args[0]
    assert shown.startswith("Ocurrió un error inesperado en la estación. Lo ya registrado "
                            "está a salvo. Vuelva a intentarlo; si se repite, avise a soporte")
    assert "KeyError" not in shown and "lease_id" not in shown
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is KeyError]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR  # with its traceback


def test_a_station_error_is_shown_as_it_is() -> None:
    error = StationStorageError("El disco de la estación está lleno: libere espacio.")
    assert describe_error(error) == "El disco de la estación está lleno: libere espacio."


def test_a_data_folder_that_cannot_be_used_says_what_to_check(
        caplog: pytest.LogCaptureFixture) -> None:
    """It showed «No se puede iniciar la estación: [Errno 13] Permission denied: '…'»."""
    error = PermissionError(13, "Permission denied", "/srv/prep/estacion")

    shown = startup_error(error)

    assert shown == ("No se puede iniciar la estación: su carpeta de datos o la impresora "
                     "no se pueden usar (/srv/prep/estacion: este usuario no tiene "
                     "permiso). Revise la ruta, el espacio en disco y los permisos, y "
                     "vuelva a intentarlo.")
    assert any(r.exc_info and r.exc_info[1] is error for r in caplog.records)
