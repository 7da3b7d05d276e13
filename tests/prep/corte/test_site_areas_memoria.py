"""What a running central's site keeps between cortes (prep.corte.site_areas): a sum of
areas taken from the previous corte's and adjusted by the parts that changed is the sum
made from scratch; and the bloques of secciones are made once per catalog."""

from __future__ import annotations

import random
from dataclasses import astuple
from dataclasses import replace

import pytest

from prep.catalog import generate_catalog
from prep.corte.site_areas import Area
from prep.corte.site_areas import Memoria
from prep.corte.site_areas import ajustar
from prep.corte.site_areas import combine
from prep.corte.site_areas import sumar
from prep.corte.site_datos import bloques

pytestmark = pytest.mark.rapido

SIZE = 6


def _area(rng: random.Random, esperadas: int, campos: frozenset[int]) -> Area:
    capturadas = rng.randint(0, esperadas)
    contabilizadas = rng.randint(0, capturadas)
    return Area([rng.randint(0, 500) for _ in range(SIZE)], set(campos), {rng.choice((1, 2))},
                esperadas, capturadas, contabilizadas, rng.randint(0, capturadas),
                rng.randint(0, 9000), rng.randint(0, 3000), rng.randint(0, 3000))


def _igual(a: Area, b: Area) -> bool:
    return astuple(a) == astuple(b)


def test_a_sum_adjusted_by_its_changed_parts_is_the_sum_made_again() -> None:
    rng = random.Random(7)
    campos = frozenset({0, 1, 3})
    partes = [_area(rng, rng.randint(1, 4), campos) for _ in range(12)]
    # Each part keeps its actas (esperadas and sets) and changes its counts.
    ahora = list(partes)
    for i in (2, 9):
        nueva = _area(rng, partes[i].esperadas, campos)
        nueva.contiendas = set(partes[i].contiendas)
        ahora[i] = nueva
    hecha = combine(partes, SIZE)
    antes = astuple(hecha)
    suma = ajustar(partes, hecha, ahora)
    assert suma is not None and suma is not hecha
    assert _igual(suma, combine(ahora, SIZE))
    assert astuple(hecha) == antes  # the previous corte's sum is left as it was
    # Nothing changed: the very same sum; too many changes, or parts of other actas:
    # made again by the caller.
    assert ajustar(partes, hecha, list(partes)) is hecha
    assert ajustar(partes, hecha, [_area(rng, p.esperadas, campos) for p in partes]) is None
    otra = list(partes)
    otra[0] = replace(_area(rng, partes[0].esperadas + 1, campos), contiendas=set(
        partes[0].contiendas))
    assert ajustar(partes, hecha, otra) is None
    assert ajustar(partes, hecha, partes[:-1]) is None


def test_sumar_keeps_each_sum_for_the_next_corte() -> None:
    rng = random.Random(8)
    campos = frozenset({0, 2})
    memoria = Memoria()
    partes = [_area(rng, 2, campos) for _ in range(8)]
    primera = sumar((0, 5), partes, SIZE, memoria)
    assert _igual(primera, combine(partes, SIZE))
    assert sumar((0, 5), list(partes), SIZE, memoria) is primera
    cambiada = _area(rng, 2, campos)
    cambiada.contiendas = set(partes[4].contiendas)
    ahora = [*partes[:4], cambiada, *partes[5:]]
    segunda = sumar((0, 5), ahora, SIZE, memoria)
    assert segunda is not primera and _igual(segunda, combine(ahora, SIZE))
    assert memoria.sumas[(0, 5)] == (tuple(ahora), segunda)
    copia = memoria.copia()
    assert copia.sumas == memoria.sumas and copia.sumas is not memoria.sumas


def test_bloques_are_made_once_per_catalog() -> None:
    uno, otro = generate_catalog(3, 0.05), generate_catalog(4, 0.05)
    primeros = bloques(uno, 12)
    assert bloques(uno, 12) is primeros  # the same catalog: made once
    assert bloques(uno, 5) != primeros  # another size of bloque
    assert bloques(otro, 12) == bloques(replace(otro), 12)  # another catalog object
    assert bloques(uno, 12) == primeros
