"""The collector around a process's cortes (central.node.tuning.Recolector): what a
corte keeps is frozen at its end, and a cycle frozen while alive is still collected
within the period, not kept for the whole night."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.node.tuning import Recolector

pytestmark = pytest.mark.rapido


class _Nodo:
    yo: object


@pytest.fixture
def recolector() -> Iterator[Recolector]:
    enabled = gc.isenabled()
    try:
        yield Recolector()
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _corte(r: Recolector) -> None:
    r.antes()
    gc.disable()  # as make_corte, while it makes the corte
    r.despues()


def test_a_cycle_frozen_by_a_corte_is_collected_within_the_period(
        recolector: Recolector) -> None:
    vivo = _Nodo()
    vivo.yo = vivo  # a cycle alive during a corte (a request in flight)
    muerto = weakref.ref(vivo)
    _corte(recolector)
    assert gc.isenabled() and gc.get_freeze_count() > 0
    del vivo  # garbage now, but frozen: the cortes' collections do not walk it
    for _ in range(recolector.cada - 2):
        _corte(recolector)
        assert muerto() is not None
    _corte(recolector)  # the period's corte collects the frozen objects too
    assert muerto() is None


def test_garbage_made_between_cortes_is_collected_before_the_next(
        recolector: Recolector) -> None:
    _corte(recolector)
    entre = _Nodo()
    entre.yo = entre  # made after the corte, by another part of the process
    muerto = weakref.ref(entre)
    del entre
    gc.disable()  # no automatic pass may take it first
    recolector.antes()
    assert muerto() is None


def _rss_mb() -> float:
    for linea in Path("/proc/self/status").read_text().splitlines():
        if linea.startswith("VmRSS:"):
            return int(linea.split()[1]) / 1024
    raise AssertionError("sin VmRSS")


def test_what_a_corte_freed_goes_back_to_the_system(recolector: Recolector) -> None:
    # A corte's transient rows and texts: hundreds of thousands of blocks from the C
    # allocator, freed at its end between the ones it keeps (the memo), so glibc cannot
    # give them back by itself.
    gc.disable()
    hechos = [bytes(1500) for _ in range(150_000)]  # ~230 MB, each past pymalloc
    guardados = hechos[::50]  # what the memo keeps, spread over the whole heap
    del hechos
    antes = _rss_mb()
    recolector.despues()
    assert _rss_mb() < antes - 150  # most of the freed 225 MB is the system's again
    assert len(guardados) == 3_000
