"""The election CSVs' columns and their LEEME descriptions are declared together, once
(issue 65: a new column touches prep/corte/anexo.py alone): every column a corte's CSVs
have is described, and LEEME.txt lists exactly those columns, in their order."""

from __future__ import annotations

import pytest

from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog.model import Ambito
from prep.corte import anexo
from prep.corte.package import LEEME
from prep.corte.package import build_corte_files
from prep.corte.package import csv_name
from prep.corte.summary import RESUMEN
from prep.sintetico.capturas import simulate
from tests.site.corte_sitio import corte_time

pytestmark = pytest.mark.rapido

SEED = 11


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.01)


def _seccion(leeme: str, titulo: str) -> list[tuple[str, str]]:
    """The ``  COLUMNA: descripción`` lines after ``titulo``, up to a blank line."""
    lineas = leeme.split("\n")
    inicio = next(i for i, linea in enumerate(lineas) if linea.startswith(titulo)) + 1
    fin = lineas.index("", inicio)
    out = []
    for linea in lineas[inicio:fin]:
        assert linea.startswith("  ") and ": " in linea, linea
        nombre, descripcion = linea[2:].split(": ", 1)
        out.append((nombre, descripcion))
    return out


def test_the_leeme_lists_exactly_the_columns_of_the_csvs(catalog: Catalog) -> None:
    corte = corte_time(catalog)
    sim = simulate(catalog, SEED, corte)
    files, _ = build_corte_files(catalog, sim.estado, sim.fuera, corte, manifiesto=False)
    leeme = files[LEEME].decode("utf-8")
    resumen = _seccion(leeme, "Columnas del resumen (líneas 4 y 5)")
    filas = _seccion(leeme, "Columnas de las filas de actas (línea 7")
    assert [c for c, _ in resumen] == list(RESUMEN)
    assert all(d.strip() for _, d in resumen + filas)
    assert {c: d for c, d in filas if c in anexo.DESCRIPCIONES} == anexo.DESCRIPCIONES
    demarcacion = False
    for eleccion in catalog.elecciones:
        lineas = files[csv_name(eleccion)].decode("utf-8-sig").split("\r\n")
        assert lineas[3].split(",") == list(RESUMEN)  # line 4: the summary's columns
        # Line 7: the acta rows' columns; the LEEME names the asociaciones' as one.
        asociaciones = {a.clave for a in eleccion.asociaciones}
        descritas: list[str] = []
        for columna in lineas[anexo.LINEAS_ENCABEZADO - 1].split(","):
            if columna not in asociaciones:
                descritas.append(columna)
            elif descritas[-1] != anexo.ASOCIACIONES[0]:
                descritas.append(anexo.ASOCIACIONES[0])
        esperadas = [c for c, _ in filas]
        if eleccion.ambito is Ambito.DEMARCACION:
            demarcacion = True
        else:  # the LEEME says they are only in the elections decided per demarcación
            esperadas = [c for c in esperadas if c not in anexo.COLUMNS_DEMARCACION]
        assert descritas == esperadas, eleccion.nombre
    assert demarcacion
