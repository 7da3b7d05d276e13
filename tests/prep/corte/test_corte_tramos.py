"""The tramos of prep.corte.tramos: how a catalog is cut, which tramos a corte takes from
the previous one, and AVANCE_CATD made per tramo (prep.corte.paquete_tramos) across cortes
whose window leaves earlier publications out, the same rows as the plain arithmetic makes
from every acta (prep.corte.salud_catd)."""

from __future__ import annotations

from datetime import datetime
from datetime import time
from datetime import timedelta

import pytest

from prep.catalog import generate_catalog
from prep.corte import paquete_tramos
from prep.corte.historial import Historial
from prep.corte.model import ActaEnCorte
from prep.corte.package import corte_dirname
from prep.corte.paquete_tramos import tabular
from prep.corte.salud_catd import VENTANA_MINUTOS
from prep.corte.salud_catd import LecturaCatd
from prep.corte.salud_catd import filas_catd
from prep.corte.tramos import TRAMO_ACTAS
from prep.corte.tramos import Cambios
from prep.corte.tramos import Secciones
from prep.corte.tramos import rangos
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after

pytestmark = pytest.mark.rapido


def test_tramos_are_runs_of_one_seccion_of_at_most_three_actas() -> None:
    catalog = generate_catalog(5, 0.02)
    eleccion = catalog.elecciones[0]
    actas = catalog.actas(eleccion)
    r = rangos(actas)
    assert r.limites[0][0] == 0 and r.limites[-1][1] == len(actas)
    assert all(a[1] == b[0] for a, b in zip(r.limites, r.limites[1:], strict=False))
    for (inicio, fin), seccion in zip(r.limites, r.secciones, strict=True):
        assert 0 < fin - inicio <= TRAMO_ACTAS
        assert {(a.casilla.distrito_id, a.casilla.seccion) for a in actas[inicio:fin]} \
            == {seccion}
    assert [r.tramo_de[i] for i in range(len(actas))] == [
        t for t, (inicio, fin) in enumerate(r.limites) for _ in range(inicio, fin)]
    assert list(r.limites) == [r.limites[i] for i in range(len(r.limites))]
    # Each acta found by its clave (by bisection), and a clave of no acta not found.
    assert [r.posicion.get(a.clave) for a in actas] == list(range(len(actas)))
    assert r.posicion.get("99ZZZ") is None and r.posicion.get("") is None
    with pytest.raises(ValueError, match="no son contiguas"):
        rangos([*actas[:5], *actas[-3:], *actas[5:8]], 1000)


def test_avance_catd_per_tramo_is_the_same_across_cortes_and_windows() -> None:
    catalog = generate_catalog(11, 0.05)
    primero = day_after(catalog, time(6, 0))
    sim = simulate(catalog, 11, primero, pendientes=0.2)
    con_datos = sorted(c for c, e in sim.estado.items() if e.publicada)
    # Five captured actas are only acopiadas until the last corte.
    tarde = [c for c in con_datos if sim.estado[c].captura is not None][:5]
    estado = {**sim.estado, **{c: ActaEnCorte(c, acopio=sim.estado[c].acopio) for c in tarde}}
    lectura = LecturaCatd(digitalizadas=frozenset(con_datos[::2]),
                          con_captura=frozenset(con_datos[::3]))
    secciones = Secciones()
    # The first corte publishes everything (at a time with a fraction of a second); the
    # next, 5 minutes later, has those publications in its window; so has one a tenth
    # of a second before the window leaves them, and not one that starts just at
    # them (the window's test is exact, not in whole seconds); the last, two hours
    # later, has none of them.
    publicada_en: dict[str, tuple[str, datetime]] = {}
    primera = primero + timedelta(milliseconds=250)
    ventana = timedelta(minutes=VENTANA_MINUTOS)
    cortes = (primera, primera + timedelta(minutes=5),
              primera + ventana - timedelta(milliseconds=100), primera + ventana,
              primera + ventana + timedelta(minutes=125))
    ultima_hora: list[int] = []
    for n, corte in enumerate(cortes):
        if n == len(cortes) - 1:  # a few actas published only now, among the old ones
            estado.update({c: sim.estado[c] for c in tarde})
        historial = Historial({}, dict(publicada_en), frozenset())
        tramos = secciones.preparar(catalog, estado, historial, {},
                                    lectura.digitalizadas, lectura.con_captura)
        con = tabular(catalog, estado, sim.fuera, tramos=tramos)
        sin = tabular(catalog, estado, sim.fuera)
        esperadas = filas_catd(catalog, sin, lectura, publicada_en, corte)
        assert paquete_tramos.filas_catd(catalog, con, lectura, publicada_en, corte,
                                         tramos) == esperadas
        if n > 0 and n != len(cortes) - 1:
            assert all(t.reusados == len(t.rangos.limites) for t in tramos.values())
        ultima_hora.append(sum(int(f[8]) for f in esperadas[:-1]))
        secciones.cerrar(tramos, corte_dirname(corte), corte,
                         {t.eleccion.codigo: len(t.fuera) for t in con})
        for clave, e in estado.items():
            if e.publicada:
                publicada_en.setdefault(clave, (corte_dirname(corte), corte))
    # The premise: the first publications are in the first three windows, not in the
    # fourth; the last corte's window holds the five new ones, and only them.
    assert ultima_hora[0] == ultima_hora[1] == ultima_hora[2] > 0
    assert ultima_hora[3:] == [0, len(tarde)]


def test_a_corte_prepared_and_not_published_leaves_nothing_to_reuse() -> None:
    # A corte changes the kept inputs in place as it prepares its tramos; if it is not
    # published (it failed), the next corte must not take the previous pieces against
    # inputs that are no longer theirs: it makes every tramo again.
    catalog = generate_catalog(5, 0.05)
    primero = day_after(catalog, time(6, 0))
    sim = simulate(catalog, 5, primero, pendientes=0.2)
    historial = Historial({}, {}, frozenset())
    secciones = Secciones()
    ficha = object()
    tramos = secciones.preparar(catalog, sim.estado, historial, {}, cambios=Cambios(ficha))
    tablas = tabular(catalog, sim.estado, sim.fuera, tramos=tramos)
    secciones.cerrar(tramos, corte_dirname(primero), primero,
                     {t.eleccion.codigo: len(t.fuera) for t in tablas})
    total = sum(len(t.rangos.limites) for t in tramos.values())
    historial = Historial({}, {c: (corte_dirname(primero), primero)
                               for c, e in sim.estado.items() if e.publicada}, frozenset())
    # The next corte reads one acta again (its data withdrawn) and is not published.
    clave = next(c for c, e in sorted(sim.estado.items()) if e.captura is not None)
    estado = {**sim.estado, clave: ActaEnCorte(clave, acopio=sim.estado[clave].acopio)}
    tramos = secciones.preparar(catalog, estado, historial, {},
                                cambios=Cambios(object(), ficha, frozenset({clave})))
    assert sum(t.reusados for t in tramos.values()) == total - 1
    tabular(catalog, estado, sim.fuera, tramos=tramos)
    # The one after it sees the same state as read from the published corte's snapshot
    # with nothing read again: every tramo is made again, and the rows are the state's.
    tramos = secciones.preparar(catalog, estado, historial, {},
                                cambios=Cambios(object(), ficha, frozenset()))
    assert all(t.reusados == 0 for t in tramos.values())
    con = tabular(catalog, estado, sim.fuera, tramos=tramos)
    sin = tabular(catalog, estado, sim.fuera)
    assert [t.resumen for t in con] == [t.resumen for t in sin]
    assert [[f.estado for f in t.filas] for t in con] == [[f.estado for f in t.filas]
                                                           for t in sin]
