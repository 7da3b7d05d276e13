"""The drill's drain: after the night, until the stations are idle and a corte shows
every acta final and every acta published wrong on purpose corrected. No fixed deadline
(a full-scale drill drains for many minutes): it gives up when nothing at all moves for
:data:`DRAIN_STALL` reference seconds and the longest corte so far, at this machine's
pace (:mod:`simulacro.espera`). That is an espera agotada, not a wrong result: the
verdict then finds in the último corte whatever is really missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prep.catalog import Catalog
from prep.rules import RuleSet
from prep.sintetico.plan import Plan
from simulacro.espera import MARGEN
from simulacro.espera import ritmo
from simulacro.estaciones import Estaciones
from simulacro.noche import Cortes
from simulacro.veredicto import VERDAD
from simulacro.veredicto import ErradaRows
from simulacro.veredicto import ExpectedRows
from simulacro.veredicto import check_corte

DRAIN_STALL = 75.0  # reference seconds without any progress before the drain gives up
#: Station counters that move while nothing gets done (idle operators asking for work).
IDLE_COUNTS = ("pedidos_",)
DRAIN_CORTE_EVERY = 8.0  # wall seconds between cortes while waiting for the last actas


def drain(*, plan: Plan, catalog: Catalog, rules: RuleSet, estaciones: Estaciones,
          cortes: Cortes, phones_busy: Callable[[], bool], expected: ExpectedRows,
          erradas: ErradaRows, say: Callable[[str], None],
          line: Callable[[], str]) -> list[str]:
    """Wait for the drain (see the module docstring); its espera agotada, if it stalled."""
    say("Fin de la noche: esperando que se vacíen las estaciones y se valide todo")
    moved, last_progress = None, time.monotonic()
    next_line = time.monotonic() + 5.0
    last_corte = 0.0
    publicadas = 0  # actas final in the last corte made here

    def stall() -> float:
        longest = max((float(h.get("segundos", 0.0)) for h in cortes.hechos), default=0.0)
        return ritmo().limite(DRAIN_STALL + longest)

    while time.monotonic() < last_progress + stall():
        estaciones.check()
        if time.monotonic() >= next_line:
            say(line())
            next_line = time.monotonic() + 5.0
        states = estaciones.states()
        progress = _progress(states, publicadas)
        if progress != moved:
            moved, last_progress = progress, time.monotonic()
        idle = all(s.get("llegadas_pendientes", 1) == 0 and s.get("escaneos_pendientes", 1)
                   == 0 and s.get("backlog_records", 1) == 0 for s in states.values())
        idle = idle and not phones_busy()
        if idle and len(states) == len(estaciones.processes) and \
                time.monotonic() >= last_corte + DRAIN_CORTE_EVERY:
            last_corte = time.monotonic()
            cortes.wait()
            hecho = cortes.now()
            say(line())
            verdict = check_corte(catalog, plan.sim, Path(hecho["directorio"]), rules,
                                  final=True, verify=False, expected=expected,
                                  erradas=erradas)
            corregidas = sum(1 for e in verdict.erradas.values() if e == VERDAD)
            if verdict.publicadas == catalog.total_actas and corregidas == len(erradas):
                return []
            publicadas = verdict.publicadas + corregidas  # a correction is progress too
        time.sleep(1.0)
    return [f"espera agotada: cada acta validada y cada corrección publicada; nada avanzó "
            f"en {stall():.0f} s ({MARGEN:g} × ({DRAIN_STALL:.0f} s + el corte más largo) × "
            f"ritmo {ritmo().factor():.1f})"]


def _progress(states: dict[str, dict[str, Any]], publicadas: int) -> object:
    """What changes while the drain gets anywhere: the stations' counters and
    backlogs, and how many actas the last corte had final. Not the number of cortes:
    the drain makes one every few seconds, so an acta stuck for good would never
    count as a stall and the drill would wait forever; nor the asks for work, which idle
    capturistas go on making."""
    return (publicadas, sorted((name, sorted((k, v) for k, v in state.get("counts", {}).items()
                                             if not k.startswith(IDLE_COUNTS)),
                                 state.get("backlog_records"), state.get("escaneos_pendientes"))
                                for name, state in states.items()))
