"""The refresh rule: a burst of notifications is one refresh now and at most one more
after the interval, and a change that arrives during a refresh is never lost."""

from __future__ import annotations

import pytest

from central.controlroom.gate import RefreshGate


def test_a_burst_is_one_refresh_now_and_one_after_the_interval() -> None:
    gate = RefreshGate(min_interval=1.0)
    assert gate.request(10.0) == 0.0  # the first change: refresh at once
    gate.start(10.0)
    for t in (10.1, 10.2, 10.3):  # more changes while it runs: no new refresh yet
        assert gate.request(t) is None
    assert gate.finish(10.4) == pytest.approx(0.6)  # one more, a second after the first started
    gate.start(11.0)
    assert gate.finish(11.2) is None  # nothing new: no more refreshes


def test_requests_while_one_is_scheduled_are_covered_by_it() -> None:
    gate = RefreshGate(min_interval=1.0)
    gate.request(0.0)
    gate.start(0.0)
    assert gate.finish(0.1) is None
    assert gate.request(0.2) == pytest.approx(0.8)
    assert gate.request(0.5) is None
    gate.start(1.0)
    assert gate.finish(1.1) is None


def test_a_quiet_dashboard_refreshes_at_once() -> None:
    gate = RefreshGate(min_interval=1.0)
    gate.request(0.0)
    gate.start(0.0)
    gate.finish(0.2)
    assert gate.request(30.0) == 0.0
