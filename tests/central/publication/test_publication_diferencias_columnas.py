"""``diferencias.json`` against the Anexo 18.5 layout it reads (issue 65): every column
:mod:`prep.corte.anexo` declares, changed alone in one acta's row, is reported, and
only a captured field's change is called a correction of the captured data. A column
added to the Anexo is covered here without editing this test; a list of columns kept
apart by ``diferencias`` (as it once was) that missed one fails it.

Also: the columns other modules name one by one (the site's omitted ones, the mesas'
check, the drill's verdict, the LEEME's descriptions) are columns the Anexo declares.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from central.publication.diferencias import diferencias
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog.model import CAMPOS_SIN_MESA
from prep.corte import anexo
from prep.corte.package import build_corte_files
from prep.corte.package import csv_name
from prep.corte.site import DEMARCACION_COLUMN
from prep.corte.site import OMITTED_COLUMNS
from prep.corte.summary import TablaEleccion
from prep.corte.verify_mesas import SIN_MESA
from prep.sintetico.capturas import simulate
from simulacro.veredicto import CASILLA_COLUMNS
from tests.site.corte_sitio import corte_time

pytestmark = pytest.mark.rapido

SEED = 11
CAPTURADOS = "se corrigieron los datos capturados"
#: The columns whose change alone diferencias.json explains with its own reason (the
#: acta verified in this test); any other column not captured: «cambió: <columna>».
PROPIAS = {"CODIGO_INTEGRIDAD": "se publica otra imagen del acta",
           "FECHA_HORA_VERIFICACION": "el acta pasó por verificación",
           "COTEJADA": "el acta se cotejó contra el papel"}


@pytest.fixture(scope="module")
def corte() -> tuple[Catalog, dict[str, bytes], tuple[TablaEleccion, ...]]:
    catalog = generate_catalog(SEED, 0.01)
    cuando = corte_time(catalog)
    sim = simulate(catalog, SEED, cuando)
    files, tablas = build_corte_files(catalog, sim.estado, sim.fuera, cuando)
    return catalog, files, tablas


def _otro(valor: str) -> str:
    """A value other than ``valor`` that still says the acta had data (never ``-``)."""
    return "0" if valor == "1" else "1"


def _acta_capturada(tabla: TablaEleccion, lines: list[str]) -> int:
    """The position (among the acta lines) of a counted acta with captured data."""
    columnas = anexo.columns(tabla.eleccion)
    for i, fila in enumerate(tabla.filas):
        row = dict(zip(columnas, next(csv.reader([lines[i]])), strict=True))
        if fila.resultado is not None and row["CONTABILIZADA"] == "1" \
                and row["OBSERVACIONES"] == anexo.SIN_DATO:
            return i
    raise AssertionError(f"ninguna acta capturada en {tabla.eleccion.nombre}")


def _linea(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="", quoting=csv.QUOTE_MINIMAL).writerow(values)
    return buf.getvalue()


def _esperado(columna: str, campos: tuple[str, ...]) -> str:
    if columna in campos:
        return CAPTURADOS
    return PROPIAS.get(columna, f"cambió: {columna}")


@pytest.mark.parametrize("conocidos", [False, True], ids=["archivos", "tramos"])
def test_each_anexo_column_changed_alone_is_reported_with_its_reason(
        corte: tuple[Catalog, dict[str, bytes], tuple[TablaEleccion, ...]],
        tmp_path: Path, conocidos: bool) -> None:
    catalog, files, tablas = corte
    assert {t.eleccion.ambito for t in tablas} == {e.ambito for e in catalog.elecciones}
    probadas: set[str] = set()
    (tmp_path / "antes").mkdir()
    (tmp_path / "nuevo").mkdir()
    for tabla in tablas:
        eleccion = tabla.eleccion
        name = csv_name(eleccion)
        nuevo = files[name]
        lines = nuevo.decode("utf-8-sig").split("\r\n")
        cabeza, actas = lines[:anexo.LINEAS_ENCABEZADO], lines[anexo.LINEAS_ENCABEZADO:]
        columnas = anexo.columns(eleccion)
        assert next(csv.reader([cabeza[-1]])) == list(columnas)
        i = _acta_capturada(tabla, actas)
        clave = tabla.filas[i].acta.clave
        valores = next(csv.reader([actas[i]]))
        # CLAVE_CASILLA and CLAVE_ACTA say which acta a row is: changing them is
        # another acta, not a change of this one.
        for k, columna in enumerate(columnas[2:], start=2):
            antes = list(valores)
            antes[k] = _otro(valores[k])
            linea_antes = _linea(antes)
            if conocidos:  # a running central's tramos know the changed lines
                cambios = {eleccion.codigo: ([i], [actas[i]], [linea_antes],
                                             len(tabla.fuera))}
                out = diferencias([tabla], [name], tmp_path / "nuevo", tmp_path / "antes",
                                  verificadas={clave}, cambios=cambios)
            else:
                previo = [*cabeza, *actas[:i], linea_antes, *actas[i + 1:]]
                (tmp_path / "antes" / name).write_bytes(("\ufeff" + "\r\n".join(previo))
                                                        .encode("utf-8"))
                (tmp_path / "nuevo" / name).write_bytes(nuevo)
                out = diferencias([tabla], [name], tmp_path / "nuevo", tmp_path / "antes",
                                  verificadas={clave})
            e = out[eleccion.nombre]
            assert (e["agregadas"], e["retiradas"], e["acopiadas_sin_datos"]) \
                == ([], [], 0), columna
            assert e["modificadas"] == [{
                "clave_acta": clave, "motivo": _esperado(columna, eleccion.campos_captura),
                "cambios": {columna: [antes[k], valores[k]]}}], columna
            probadas.add(columna)
    declaradas = {c for e in catalog.elecciones for c in anexo.columns(e)}
    assert probadas == declaradas - {"CLAVE_CASILLA", "CLAVE_ACTA"}
    assert set(anexo.COLUMNS_AFTER) | set(anexo.COLUMNS_BEFORE_DEMARCACION) <= declaradas


def test_the_columns_other_modules_name_are_the_anexos() -> None:
    catalog = generate_catalog(SEED, 0.01)
    declaradas = {c for e in catalog.elecciones for c in anexo.columns(e)}
    fijas = set(anexo.COLUMNS_BEFORE_DEMARCACION) | set(anexo.COLUMNS_AFTER)
    assert fijas == anexo.COLUMNS_NO_CAPTURADAS
    assert OMITTED_COLUMNS <= fijas and DEMARCACION_COLUMN in fijas
    assert set(CASILLA_COLUMNS) <= fijas
    assert set(SIN_MESA) - set(CAMPOS_SIN_MESA) <= fijas
    assert set(CAMPOS_SIN_MESA) <= declaradas
    # The LEEME describes every column but the asociaciones' (one paragraph for them).
    asociaciones = {a for e in catalog.elecciones for a in e.campos_captura
                    if a not in anexo.DESCRIPCIONES}
    assert declaradas - asociaciones <= anexo.DESCRIPCIONES.keys()
    assert fijas <= anexo.DESCRIPCIONES.keys()
