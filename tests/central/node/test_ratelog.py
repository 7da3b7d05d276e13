"""One log line per condition and minute (central.node.ratelog): what keeps a flood from
turning into 112 MB of identical tracebacks."""

from __future__ import annotations

import asyncio
import logging

import pytest

from central.node.ratelog import Throttle
from central.node.ratelog import ThrottleFilter
from central.node.ratelog import loop_exception_handler

pytestmark = pytest.mark.rapido


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_condition_is_logged_once_per_interval_with_the_count_it_left_out() -> None:
    clock = Clock()
    throttle = Throttle(60, clock)
    assert throttle.due("emfile") == 0
    assert [throttle.due("emfile") for _ in range(999)] == [None] * 999
    assert throttle.due("otra") == 0  # another condition has its own line
    clock.now = 61
    assert throttle.due("emfile") == 999


def test_errors_with_tracebacks_are_throttled_warnings_pass(
        caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("central.test_ratelog")
    clock = Clock()
    shared = ThrottleFilter(throttle=Throttle(60, clock))
    logger.addFilter(shared)
    try:
        with caplog.at_level(logging.INFO, logger.name):
            for _ in range(1000):
                try:
                    raise OSError(24, "Too many open files")
                except OSError:
                    logger.exception("%s: error interno", "POST /v1/batches")
                logger.warning("rechazado %s", "lote")
            clock.now = 61
            try:
                raise OSError(24, "Too many open files")
            except OSError:
                logger.exception("%s: error interno", "POST /v1/batches")
    finally:
        logger.removeFilter(shared)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "y 999 más en los últimos 60 s" in errors[1].getMessage()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1000


def test_the_event_loop_reports_each_kind_of_problem_once(
        caplog: pytest.LogCaptureFixture) -> None:
    handle = loop_exception_handler(Throttle(60, Clock()))
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.ERROR, "central.server"):
            for _ in range(500):
                handle(loop, {"message": "socket.accept() out of system resource",
                              "exception": OSError(24, "Too many open files")})
    finally:
        loop.close()
    [line] = caplog.records
    assert "out of system resource: OSError" in line.getMessage()
    assert line.exc_info is None
