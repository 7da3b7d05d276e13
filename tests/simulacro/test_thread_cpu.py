"""The drill's account of where a station's CPU goes (``cpu_hilos_s``)."""

from __future__ import annotations

import threading
import time

import pytest

from simulacro.proceso import thread_cpu

pytestmark = pytest.mark.rapido


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_live_and_ended_workers_are_counted_under_their_worker_name() -> None:
    known: dict[threading.Thread, float] = {}
    release = threading.Event()

    def acopiador() -> None:  # returns before the report, like the drill's acopiador
        _burn(0.2)
        known[threading.current_thread()] = time.thread_time()

    burnt = threading.Semaphore(0)

    def capturista() -> None:  # still alive at the report
        _burn(0.2)
        burnt.release()
        release.wait(10)

    first = threading.Thread(target=acopiador, name="acopio")
    first.start()
    first.join()
    workers = [threading.Thread(target=capturista, name=f"captura-{i}") for i in range(2)]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert burnt.acquire(timeout=10)
    try:
        cpu = thread_cpu({"captura": 5.0, "digitalizacion": 1.5}, known)
    finally:
        release.set()
        for worker in workers:
            worker.join()
    # The capturistas stopped (like the hot folder before the last report): what they
    # had used stays under their name.
    after = thread_cpu({"captura": 5.0, "digitalizacion": 1.5}, known)
    assert after["captura"] >= cpu["captura"] >= 5.0 + 2 * 0.15
    assert cpu["acopio"] >= 0.15
    # Two live capturistas (read from /proc, in clock ticks) plus an earlier life's 5 s.
    assert cpu["captura"] >= 5.0 + 2 * 0.15
    assert cpu["digitalizacion"] == 1.5  # only in the earlier life
    assert "captura-0" not in cpu and "otros" in cpu
    # Nothing counted twice: this life's part adds up to the process's own CPU.
    this_life = sum(cpu.values()) - 5.0 - 1.5
    assert abs(this_life - time.process_time()) < 0.1
