"""The drill's machine-speed calibration (``simulacro.calibracion``)."""

from __future__ import annotations

import pytest

from simulacro.calibracion import interpreter_round
from simulacro.calibracion import python_loop_ms

pytestmark = pytest.mark.rapido


def test_the_loop_does_the_same_work_every_round() -> None:
    assert interpreter_round(5_000) == interpreter_round(5_000) == sum(range(5_000))


def test_the_figure_is_the_spread_of_the_rounds_in_milliseconds() -> None:
    figure = python_loop_ms(rounds=3)
    assert set(figure) == {"min", "median", "max"}
    assert 0 < figure["min"] <= figure["median"] <= figure["max"] < 10_000


def test_no_rounds_is_refused() -> None:
    with pytest.raises(ValueError):
        python_loop_ms(rounds=0)
