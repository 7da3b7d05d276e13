"""Asks the central for the PREP Casilla intake counts (``GET /v1/ccv/intake``) every
few seconds on the network lane, never on the GUI thread, while the screen is shown."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject
from PySide6.QtCore import Signal

from catd.taskman import TaskManager
from catd.taskman import describe_error
from prep.station.ccv import IntakeCounts
from prep.station.ccv import fetch_intake
from prep.station.station import Station
from qtkit.polling import PollingPresenter

log = logging.getLogger("catd.casilla")

REFRESH_MS = 5000


class IntakePresenter(PollingPresenter):
    """Asks the central for the intake counts while the panel is on screen."""

    counts_did_arrive = Signal(object)  # IntakeCounts
    refresh_did_fail = Signal(str)

    def __init__(self, station: Station, tasks: TaskManager,
                 parent: QObject | None = None) -> None:
        super().__init__(REFRESH_MS, parent)
        self.station = station
        self.tasks = tasks

    def ask(self) -> None:
        station = self.station
        self.tasks.run("net", lambda: fetch_intake(station), self.answered, self.failed)

    def did_get(self, result: object) -> None:
        assert isinstance(result, IntakeCounts)
        self.counts_did_arrive.emit(result)

    def did_fail(self, error: BaseException) -> None:
        log.info("intake counts unavailable: %s", error)
        self.refresh_did_fail.emit(describe_error(error))
