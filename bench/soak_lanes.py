"""The soak's faults on concurrent lanes (``bench/soak.py --carriles``): one lane per
station for the kinds that hit one station, one lane for ``central_kill`` and one for
``postgres_kill``. A lane does one fault at a time (inject, hold, lift), so the faults of
one station never step on each other, while every station, ``serve`` and the postmaster
are hit at once: a postmaster killed while ``serve`` is down, a station killed while
its link is slow on the next one, and so on.

A station lane picks, each time, the kind with the fewest faults so far (counting those
in progress on other lanes; ties at random), so the kinds keep level. With a target
(``--faltas-por-tipo``) a kind that reached it is not injected again and the run ends
when every kind has; ``--minutes`` bounds it either way.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import TextIO

if TYPE_CHECKING:
    from bench.soak import Soak

STATION_KINDS = ("station_kill", "link_cut", "reset_mid_upload", "slow_link", "disk_full",
                 "clock_jump")
#: between two faults of a station lane (seconds): the station works a little
GAP_SECONDS = (0.3, 1.5)
#: between two faults of the central lanes: each already waited for records to reach
#: the database again (``Soak.records_flow``)
CENTRAL_GAP_SECONDS = (0.1, 0.5)
PROGRESS_SECONDS = 60.0


class Lanes:
    """Run the soak's faults on lanes until ``minutes`` pass or every kind reached
    ``per_kind``; a progress line to ``progress`` every minute."""

    def __init__(self, soak: Soak, minutes: float, per_kind: int | None,
                 progress: TextIO = sys.stderr) -> None:
        self.soak = soak
        self.minutes = minutes
        self.per_kind = per_kind
        self.progress = progress
        self.stopping = threading.Event()
        self.in_flight: Counter[str] = Counter()
        self.errors: list[str] = []
        self.started = 0.0
        self.seconds = 0.0

    def run(self) -> None:
        self.started = time.monotonic()
        deadline = self.started + self.minutes * 60
        lanes: list[tuple[str, Callable[[], None]]] = [
            (f"estacion-{i + 1}", lambda i=i: self.station_lane(i))  # type: ignore[misc]
            for i in range(len(self.soak.stations))]
        lanes += [("central", lambda: self.central_lane("central_kill")),
                  ("postgres", lambda: self.central_lane("postgres_kill"))]
        threads = [threading.Thread(target=self.guard, args=(name, body), name=name,
                                    daemon=True) for name, body in lanes]
        for thread in threads:
            thread.start()
        next_report = self.started + PROGRESS_SECONDS
        while not self.stopping.is_set():
            now = time.monotonic()
            if now >= deadline or self.reached():
                break
            if now >= next_report:
                self.report()
                next_report += PROGRESS_SECONDS
            self.stopping.wait(min(1.0, max(0.0, deadline - now)))
        self.stopping.set()
        for thread in threads:  # each lifts the fault it holds, then returns
            thread.join()
        self.seconds = time.monotonic() - self.started
        self.report()

    def guard(self, name: str, body: Callable[[], None]) -> None:
        """A lane that fails stops the run; the failure is in the result."""
        try:
            body()
        except Exception as exc:  # reported in the result, never swallowed
            self.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:2000])
            self.stopping.set()

    def reached(self) -> bool:
        faults = self.soak.faults
        return self.per_kind is not None and all(faults[k] >= self.per_kind
                                                 for k in self.soak.kinds)

    def wanted(self, kind: str) -> bool:
        return (kind in self.soak.kinds and
                (self.per_kind is None
                 or self.soak.faults[kind] + self.in_flight[kind] < self.per_kind))

    def inject(self, kind: str, i: int, rng: random.Random) -> None:
        self.soak.count(self.in_flight, kind)
        try:
            self.soak.fault(kind, i, rng)
        finally:
            self.soak.count(self.in_flight, kind, -1)

    def station_lane(self, i: int) -> None:
        rng = random.Random(f"prep-soak:{self.soak.args.semilla}:estacion:{i}")
        station = self.soak.stations[i]
        while not self.stopping.is_set():
            self.soak.keep_station_alive(station)
            with self.soak.counting:
                kinds = [k for k in STATION_KINDS if self.wanted(k)]
                kind = min(kinds, key=lambda k: (self.soak.faults[k] + self.in_flight[k],
                                                 rng.random()), default=None)
                if kind is not None:
                    self.in_flight[kind] += 1
            if kind is None:
                self.stopping.wait(1.0)
                continue
            try:
                self.soak.fault(kind, i, rng)
            finally:
                self.soak.count(self.in_flight, kind, -1)
            self.stopping.wait(rng.uniform(*GAP_SECONDS))

    def central_lane(self, kind: str) -> None:
        rng = random.Random(f"prep-soak:{self.soak.args.semilla}:{kind}")
        while not self.stopping.is_set():
            if kind == "central_kill":  # the one lane that stops serve on purpose
                self.soak.keep_central_alive()
            if self.wanted(kind):
                self.inject(kind, 0, rng)
                self.stopping.wait(rng.uniform(*CENTRAL_GAP_SECONDS))
            else:
                self.stopping.wait(1.0)

    def report(self) -> None:
        minutes = (time.monotonic() - self.started) / 60
        with self.soak.counting:
            faults = dict(sorted(self.soak.faults.items()))
            notes = {k: v for k, v in sorted(self.soak.notes.items())
                     if k in ("serve_died", "station_died", "serve_restarts_after_postgres",
                              "no_records_after_serve_restart")}
        total = sum(faults.values())
        rate = total / minutes if minutes > 0 else 0.0
        kinds = ", ".join(f"{k} {n}" for k, n in faults.items())
        extra = f"; {notes}" if notes else ""
        errors = f"; lane errors: {len(self.errors)}" if self.errors else ""
        print(f"soak {minutes:.1f} min: {total} faults ({rate:.0f}/min): {kinds}{extra}"
              f"{errors}", file=self.progress, flush=True)
