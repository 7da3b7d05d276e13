"""How long the drill waits for an event, and what it says when the event does not come
(issue 64).

A drill on a shared or slow machine must come out slower, never REPROBADO for a right
PREP. So no wait of the drill is a fixed number of seconds: each is bounded by the work it
waits for (a difusor's last poll and the files of the corte it still has to fetch, the
cortes the central made so far, the stations still running) as measured on this machine,
times :data:`MARGEN`, times how much slower than the reference machine this one runs right
now (:class:`Ritmo`, from the drill's own calibration loop, :mod:`.calibracion`).

A wait that runs out raises :class:`EsperaAgotada`: which event did not come and how long
the drill waited for it. The verdict lists those apart from wrong results (``esperas
agotadas`` in ``simulacro.json``): a drill with only esperas agotadas is INCONCLUSO, not
REPROBADO. A wrong result seen while waiting (a difusor that polled after a rollback was
served and did not refuse it) is a failure at once, whatever the machine's speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from simulacro.calibracion import interpreter_round

#: Wall milliseconds of one :func:`~simulacro.calibracion.interpreter_round` on the
#: reference machine (the fast two-core VM of the thirty-fifth session: 20.8–23.7 ms).
REFERENCIA_MS = 22.0
#: A wait allows this many times the work it waits for, as measured on this machine
#: (and then more if the machine has slowed down since): generous, because a wait that runs
#: out costs a whole drill, and a real fault is caught by what it does, not by the clock.
MARGEN = 4.0
#: No wait is bounded by less than this (work measured as nothing: a first poll).
PISO_S = 30.0
#: The factor never goes past this: a machine 25 times slower than the reference is not
#: running the drill, it is stuck, and the wait should say so in finite time.
FACTOR_MAXIMO = 25.0
_MEDIR_CADA_S = 5.0  # a fresh measurement at most this often (one costs 3 rounds)


class EsperaAgotada(RuntimeError):
    """An event the drill waited for did not come within its bound."""

    def __init__(self, evento: str, segundos: float, base: str = "") -> None:
        self.evento = evento
        self.segundos = segundos
        self.base = base
        super().__init__(f"espera agotada: {evento}; se esperó {segundos:.0f} s"
                         + (f" ({base})" if base else ""))


class Ritmo:
    """How much slower than the reference machine this one runs now: the larger of the
    calibration taken when the drill started (CPU time: a slow processor) and a fresh
    wall-time measurement of the same loop (a processor shared with other work)."""

    def __init__(self) -> None:
        self.inicio_ms: float | None = None
        self._lock = threading.Lock()
        self._medido = 0.0
        self._ultimo = 1.0

    def calibrar(self, inicio_ms: float) -> None:
        """The drill's calibration before it started anything (median CPU ms)."""
        self.inicio_ms = inicio_ms

    def factor(self) -> float:
        """≥ 1: seconds here per second on the reference machine (at most
        :data:`FACTOR_MAXIMO`)."""
        with self._lock:
            if time.monotonic() - self._medido >= _MEDIR_CADA_S:
                runs = []
                for _ in range(3):
                    start = time.perf_counter()
                    interpreter_round()
                    runs.append((time.perf_counter() - start) * 1000)
                ahora = sorted(runs)[1]
                inicio = self.inicio_ms or 0.0
                self._ultimo = min(FACTOR_MAXIMO,
                                   max(1.0, ahora / REFERENCIA_MS, inicio / REFERENCIA_MS))
                self._medido = time.monotonic()
            return self._ultimo

    def limite(self, trabajo_s: float, piso_s: float | None = None) -> float:
        """Seconds to allow for ``trabajo_s`` of work as last measured on this machine
        (never less than ``piso_s``, by default :data:`PISO_S`)."""
        return MARGEN * max(PISO_S if piso_s is None else piso_s, trabajo_s) * self.factor()


_RITMO = Ritmo()


def ritmo() -> Ritmo:
    """This process's :class:`Ritmo` (the drill calibrates it as it starts)."""
    return _RITMO


def esperar(llego: Callable[[], bool], evento: str, trabajo_s: Callable[[], float] | float,
            *, base: str = "", detener: threading.Event | None = None,
            revisar: Callable[[], None] | None = None, cada: float = 0.25,
            piso_s: float | None = None) -> float:
    """Poll ``llego`` until it is true; the seconds waited.

    The bound is :meth:`Ritmo.limite` of ``trabajo_s`` (a callable is asked again each
    round: the outstanding work may grow, a new corte to fetch). ``revisar`` runs each
    round and raises whatever wrong result it finds (a process gone, a refusal that did
    not come on a poll that had to make it). :class:`EsperaAgotada` names ``evento``
    (what did not happen) and the seconds waited; ``base`` says what the bound was made
    from. A set ``detener`` ends the wait the same way (the drill is stopping)."""
    started = time.monotonic()
    while True:
        if llego():
            return time.monotonic() - started
        if revisar is not None:
            revisar()
        trabajo = max(PISO_S if piso_s is None else piso_s,
                      trabajo_s() if callable(trabajo_s) else trabajo_s)
        limite = ritmo().limite(trabajo, piso_s)
        waited = time.monotonic() - started
        if waited > limite or (detener is not None and detener.is_set()):
            detalle = f"límite {limite:.0f} s: {MARGEN:g} × {trabajo:.0f} s de trabajo" \
                      f" × ritmo {ritmo().factor():.1f}" + (f"; {base}" if base else "")
            raise EsperaAgotada(evento, waited, detalle)
        if detener is not None:
            detener.wait(cada)
        else:
            time.sleep(cada)
