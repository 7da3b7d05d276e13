"""How fast this machine runs interpreted code right now, so drills on different days can
be compared (issue 9).

The development VM's two cores are shared with the host's other work: the same full
drill's code took 1,263–1,271 s in one session and 661–693 s in the next, hours apart
(``bench/RESULTS.md``, tenth and eleventh sessions). Wall time alone cannot say
whether a change helped. The drill times a fixed pure-Python loop before it starts
anything and after everything has stopped (:func:`python_loop_ms`) and writes the
figures into ``simulacro.json`` (``tiempo.calibracion``), beside the CPU seconds, so
two runs can be compared per unit of machine speed.
``bench/sibling_load.py`` times the same loop with the other core idle and busy.
"""

from __future__ import annotations

import statistics
import time

#: Iterations of one round of :func:`interpreter_round` (≈21–23 ms on the development VM
#: in the eleventh session, 40–85 ms in earlier ones).
LOOP_ITERATIONS = 300_000


def interpreter_round(iterations: int = LOOP_ITERATIONS) -> int:
    """One round of a fixed dictionary loop (the interpreter's own speed: no I/O, no C
    library doing the work). Returns a checksum so nothing is optimised away."""
    d: dict[int, int] = {}
    for i in range(iterations):
        d[i % 1000] = d.get(i % 1000, 0) + i
    return sum(d.values())


def python_loop_ms(rounds: int = 5) -> dict[str, float]:
    """CPU milliseconds of :func:`interpreter_round`: min, median and max of ``rounds``
    (≈0.1–0.4 s in all)."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    runs = []
    for _ in range(rounds):
        start = time.process_time()
        interpreter_round()
        runs.append((time.process_time() - start) * 1000)
    return {"min": round(min(runs), 3), "median": round(statistics.median(runs), 3),
            "max": round(max(runs), 3)}
