"""The collector around a process's cortes (central.publication.corte.Recolector): what a
corte keeps is frozen at its end, and a cycle frozen while alive is still collected
within the period, not kept for the whole night."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from central.publication.corte import Recolector


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
