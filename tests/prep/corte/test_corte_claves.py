"""prep.corte.salud_catd.Claves: AVANCE_CATD's sets of actas (with an image, with a
capture), kept as the few catalog actas outside them when they hold most, behave as the
frozensets of their keys, also as a running central changes them corte after corte."""

from __future__ import annotations

import random
from collections.abc import Set as AbstractSet

import pytest

from prep.corte.salud_catd import Claves

pytestmark = pytest.mark.rapido


def _igual(a: AbstractSet[str], b: AbstractSet[str]) -> bool:
    return a == b and b == a and len(a) == len(b)


def test_a_set_of_claves_is_its_frozenset_in_either_form() -> None:
    universo = {f"A{n:04d}": None for n in range(1000)}  # the catalog's actas
    azar = random.Random(29)
    for cuantas in (0, 10, 499, 501, 990, 1000):
        dentro = set(azar.sample(sorted(universo), cuantas))
        for esperado in (frozenset(dentro), frozenset(dentro | {"FUERA1"})):
            claves = Claves(esperado, universo)
            assert _igual(claves, esperado)
            assert set(claves) == esperado and "A9999" not in claves
            assert all(c in claves for c in esperado)
            assert sum(c in claves for c in universo) == len(esperado & universo.keys())
            # Kept as the few outside only when it holds most of the catalog.
            assert (claves._dentro is None) == (2 * len(esperado) > len(universo))
            # A corte's changes: some in, some out, one outside the catalog either way.
            cambios = {c: azar.random() < 0.5 for c in azar.sample(sorted(universo), 50)}
            cambios.update({"FUERA1": False, "FUERA2": True})
            nueva = claves.cambiada(cambios)
            assert _igual(nueva, (esperado - cambios.keys())
                          | {c for c, d in cambios.items() if d})
            assert _igual(claves, esperado)  # the previous one is unchanged
    assert _igual(Claves(["X", "Y"]), {"X", "Y"}) and _igual(Claves([]), frozenset())
