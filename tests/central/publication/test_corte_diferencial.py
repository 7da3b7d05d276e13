"""The corte's differential (issue 65), short: a few random nights published corte after
corte by a running central's engine (one CorteMemo for the night: the snapshot reading
again only what changed, the tramos and renders of the previous corte reused) and by the
plain path (no memo: every acta read and rendered again, by a new process per corte),
every file of every corte the same bytes. The long run is
``python3 -m bench.corte_diferencial --noches 1000``.

And the net has teeth: a published file whose declaration leaves out an input its
renderer reads is reused stale by the engine (which keys what it keeps by each file's
declared inputs), and the differential says where (seed, corte, file, line)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from prep.corte import archivos
from prep.corte.archivo import Archivo
from prep.corte.archivo import Tramo
from prep.corte.insumos import Insumo
from prep.corte.insumos import Lee
from prep.corte.insumos import Render
from prep.corte.trayectoria import desempacar
from tests.harness.diferencial import comparar
from tests.harness.noches import noche

#: The short run's nights: each holds every kind of acta and record the
#: generator makes (checked below), and cortes the engine made from the previous one.
SEMILLAS = (1, 4)
#: What the nights must hold for the comparison to mean something.
CASOS = ("validada", "acopiada", "sin_acta", "fuera_de_catalogo", "imagen_desconocida",
         "reescaneo", "cotejo", "correccion", "especial", "mesa_A", "mesa_P", "mesa_M")


def test_random_nights_publish_the_same_bytes_with_the_engine_and_without(
        pg_dsn: str, tmp_path: Path) -> None:
    cuentas: Counter[str] = Counter()
    incrementales = 0
    for semilla in SEMILLAS:
        cuentas.update(noche(semilla).cuentas)
        # The plain path by a new process per corte: nothing of this process shared.
        resultado = comparar(pg_dsn, semilla, tmp_path / f"noche-{semilla}", aparte=True)
        assert resultado.diferencia is None, str(resultado.diferencia)
        assert resultado.cortes == len(noche(semilla).ventanas) >= 2
        # Past the first corte the engine compares with its previous corte; some
        # cortes were read from the previous snapshot (only the changed actas).
        incrementales += sum(r is not None for r in resultado.releidas)
    assert incrementales > 0
    assert not [caso for caso in CASOS if cuentas[caso] == 0], cuentas


#: A file registered by the test alone, made per tramo by the registry: one line per
#: acta counting the images, captures and cotejos the central accepted for it. It
#: declares only the acta's state, so the engine keeps a tramo's lines while the states
#: are equal: a capture that validates nothing yet changes the trajectory and no state.
NO_DECLARADO = "TRAYECTORIA_PRUEBA.csv"


def _trayectorias(tramo: Tramo) -> bytes:
    trayectorias = tramo.valores[Insumo.TRAYECTORIA]  # read, and not declared
    lineas = []
    for acta, guardada in zip(tramo.actas, trayectorias, strict=True):
        t = desempacar(guardada)
        lineas.append(f"{acta.clave},{len(t.imagenes)},{len(t.capturas)},{len(t.cotejos)}"
                      "\r\n")
    return "".join(lineas).encode()


def test_the_differential_catches_a_file_that_reads_an_input_it_did_not_declare(
        pg_dsn: str, tmp_path: Path) -> None:
    # The engine is not changed: a registry of the test's own adds a file whose
    # renderer reads an input its declaration leaves out (issue 65: the net must catch
    # a stale reuse).
    mal_declarado = Archivo(NO_DECLARADO, Lee.de(Insumo.ESTADO), Render.POR_TRAMO,
                            tramo=_trayectorias)
    registro = (*archivos.registrados(), mal_declarado)
    for semilla in range(1, 9):
        diferencia = comparar(pg_dsn, semilla, tmp_path / f"noche-{semilla}",
                              archivos=registro).diferencia
        if diferencia is not None:
            break
    assert diferencia is not None, "ocho noches sin que el diferencial viera el valor viejo"
    assert diferencia.archivo == NO_DECLARADO, str(diferencia)  # the file, named
    assert diferencia.corte > 1  # the first corte has nothing to reuse
    assert diferencia.linea is not None and diferencia.motor != diferencia.plano
    texto = str(diferencia)
    assert f"seed {diferencia.semilla}, corte {diferencia.corte}" in texto
    assert f"{diferencia.archivo}, line {diferencia.linea}" in texto


def test_the_same_file_declaring_what_it_reads_publishes_the_same_bytes(
        pg_dsn: str, tmp_path: Path) -> None:
    # The control: declared, the same renderer's tramos are made again when an acta's
    # trajectory changes, and the engine and the plain path agree.
    bien_declarado = Archivo(NO_DECLARADO, Lee.de(Insumo.ESTADO, Insumo.TRAYECTORIA),
                             Render.POR_TRAMO, tramo=_trayectorias)
    for semilla in SEMILLAS:
        resultado = comparar(pg_dsn, semilla, tmp_path / f"noche-{semilla}",
                             archivos=(*archivos.registrados(), bien_declarado))
        assert resultado.diferencia is None, str(resultado.diferencia)


def test_the_differential_catches_the_site_reading_what_only_the_history_declares(
        pg_dsn: str, tmp_path: Path) -> None:
    # The engine keeps each output of a tramo by its own file's declaration: the site's
    # history of an acta read from its trajectory, with the site declaring only the
    # acta's state, is kept stale when a capture changes the trajectory alone, even
    # though HISTORIAL.csv, which declares the trajectory, is made again.
    sitio = archivos.SITIO
    assert sitio.lee_tramo is not None
    solo_estado = replace(sitio, lee_tramo=Lee(frozenset({Insumo.ESTADO}),
                                               sitio.lee_tramo.corte))
    registro = tuple(solo_estado if a is sitio else a for a in archivos.registrados())
    for semilla in range(1, 9):
        diferencia = comparar(pg_dsn, semilla, tmp_path / f"noche-{semilla}",
                              archivos=registro).diferencia
        if diferencia is not None:
            break
    assert diferencia is not None, "ocho noches sin que el diferencial viera el valor viejo"
    assert diferencia.archivo.startswith("sitio/"), str(diferencia)  # the file, named
    assert diferencia.corte > 1
    assert f"seed {diferencia.semilla}, corte {diferencia.corte}" in str(diferencia)
